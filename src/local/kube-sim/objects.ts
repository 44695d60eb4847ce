import { createHash, randomBytes } from 'node:crypto';

/** What every part of the simulated cluster shares: the object type, keys, names, timestamps, well-known taints. */

export type Obj = Record<string, any>;

/** The taint kOps puts on control-plane nodes. */
export const CONTROL_PLANE_TAINT = {
  key: 'node-role.kubernetes.io/control-plane',
  effect: 'NoSchedule',
};
/** The static pods the kubelet runs on a control-plane node. */
export const STATIC_COMPONENTS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
];
/** The taint a cordoned node carries (what the scheduler checks for `spec.unschedulable`). */
export const UNSCHEDULABLE_TAINT = {
  key: 'node.kubernetes.io/unschedulable',
  effect: 'NoSchedule',
};
/** The built-in PriorityClasses (scheduling.k8s.io), by name. */
export const PRIORITY_CLASSES: Record<string, number> = {
  'system-node-critical': 2000001000,
  'system-cluster-critical': 2000000000,
};
/** What the DaemonSet controller adds to every pod it creates (network-unavailable: hostNetwork pods only). */
export const DAEMONSET_TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' },
];
/** The most Events one simulated cluster keeps (the oldest go first). */
export const MAX_EVENTS = 5000;
/** The taint of a node that is not Ready yet. */
export const NOT_READY_TAINT = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' };

/**
 * Optional timing of the simulated cluster, off by default (nodes are Ready and evicted pods gone
 * the moment they are seen / evicted), for runs that measure time (the bench, in simulated time).
 */
export interface SimTiming {
  /** The current time in milliseconds (default `Date.now`). */
  now?: () => number;
  /** A newly seen instance's node is NotReady until this long after it launched (or the sim first saw it). */
  bootSeconds?: number;
  /**
   * When the last call that can launch instances was made (same clock as `now`): a node's boot
   * counts from there, as an EC2 instance boots from its launch, not from when someone looks.
   */
  launchedAt?: () => number | undefined;
  /** An evicted pod stays Terminating (listed, holding its slot) this long, then is gone and replaced. */
  drainSeconds?: number;
  /** The most pods the cluster may hold (default MAX_PODS_PER_CLUSTER): the bench's 110-pod nodes need more. */
  maxPodsPerCluster?: number;
}

/** Something due at a time: a booting node turns Ready, a Terminating pod is gone. */
export interface Timer {
  at: number;
  kind: 'boot' | 'drain';
  key: string;
  uid: string;
}

/** A random name suffix from the API server's alphabet (no vowels, no confusable digits). */
export function suffix(n = 5): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
}

/** Where a namespaced object is kept: `namespace/name`. */
export function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/**
 * A template as the API server's Go types hold it, for hashing: keys sorted, and null, empty
 * mappings and empty lists dropped (`creationTimestamp: null`, `resources: {}`, `env: []` decode to
 * the same struct as their absence), so the same template written another way (by `kubectl rollout
 * undo`, a patch that reorders keys, an env var set then removed) is the same ReplicaSet.
 */
function canonicalTemplate(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(canonicalTemplate).filter((v) => v !== undefined);
    return items.length > 0 ? items : undefined;
  }
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'object') return value;
  const entries = Object.entries(value as Obj)
    .map(([k, v]) => [k, canonicalTemplate(v)] as const)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** The pod-template-hash label of a template (stable: the same template, the same ReplicaSet). */
export function templateHash(template: Obj): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  // The hash label itself is not part of the template (kubectl rollout undo strips it, as the controller does).
  const labels = { ...template?.metadata?.labels };
  delete labels['pod-template-hash'];
  const digest = createHash('sha256')
    .update(
      JSON.stringify(
        canonicalTemplate({ ...template, metadata: { ...template?.metadata, labels } }) ?? {},
      ),
    )
    .digest();
  return Array.from(digest.subarray(0, 10), (b) => alphabet[b % alphabet.length]).join('');
}

/** An Event's `involvedObject` for an object. */
export function involvedReference(o: Obj): Obj {
  return {
    kind: o.kind,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
    name: o.metadata.name,
    // Node events name the node as their uid, as the kubelet does (and `kubectl describe node` looks up).
    uid: o.kind === 'Node' ? o.metadata.name : o.metadata.uid,
    apiVersion: o.apiVersion,
    resourceVersion: o.metadata.resourceVersion,
  };
}

/** An API timestamp (RFC 3339, whole seconds) of a time in milliseconds. */
export function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** An IntOrString of a budget or strategy (`1`, `25%`) against a total, rounded as asked. */
export function intOrPercent(value: number | string, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const pct = Number(value.replace('%', ''));
  return roundUp ? Math.ceil((pct * total) / 100) : Math.floor((pct * total) / 100);
}

/** Adds a value to an index entry, creating the entry. */
export function addTo(index: Map<string, Set<string>>, k: string, value: string): void {
  let set = index.get(k);
  if (!set) index.set(k, (set = new Set()));
  set.add(value);
}

/** Removes a value from an index entry, dropping the entry once empty. */
export function removeFrom(index: Map<string, Set<string>>, k: string, value: string): void {
  const set = index.get(k);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) index.delete(k);
}
