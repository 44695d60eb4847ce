import { createHash, randomBytes } from 'node:crypto';
import { selectorMatches } from './selectors.js';

/**
 * The state of one simulated cluster: nodes (from the EC2 instances that run), pods with a
 * slot-counting scheduler (taints, node affinity, priority and preemption), DaemonSets,
 * Deployments and their ReplicaSets, PodDisruptionBudgets, Events. A test double for the local
 * backend, nothing more: no containers run, no network exists, pods are Running the moment they
 * are scheduled, a Deployment's new template replaces its pods at once (no surge). Objects are
 * kept as the Kubernetes API shows them, so they are served as-is.
 *
 * Cost: pods are indexed by node, by controller and by whether they are bound, so a node's slot
 * count, a controller's pods and the scheduler's queue are found without scanning every pod; the
 * controllers and the scheduler run on writes (and when a timer of SimTiming falls due), never
 * because something was read.
 */

export type Obj = Record<string, any>;

export interface InstanceView {
  instanceId: string;
  zone: string;
  privateIp: string;
  privateDnsName: string;
  instanceType: string;
  instanceGroup: string;
  controlPlane: boolean;
  maxPods: number;
  /** The kubelet's version (`v1.33.1`) from the instance's user-data; the cluster's when unknown. */
  kubeletVersion?: string;
}

const CONTROL_PLANE_TAINT = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };
const STATIC_COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];
const UNSCHEDULABLE_TAINT = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };
/** The built-in PriorityClasses (scheduling.k8s.io), by name. */
const PRIORITY_CLASSES: Record<string, number> = { 'system-node-critical': 2000001000, 'system-cluster-critical': 2000000000 };
/** What the DaemonSet controller adds to every pod it creates (network-unavailable: hostNetwork pods only). */
const DAEMONSET_TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' },
];
const MAX_EVENTS = 5000;
const NOT_READY_TAINT = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' };

/** The most replicas one Deployment may ask for in the simulated API (a real one has no such cap). */
export const MAX_REPLICAS_PER_DEPLOYMENT = 5000;
/** The most pods one simulated cluster holds (Deployment replicas, DaemonSet, static and bare pods). */
export const MAX_PODS_PER_CLUSTER = 10000;

/**
 * Optional timing of the simulated cluster, off by default (nodes are Ready and evicted pods gone
 * the moment they are seen / evicted), for runs that measure time (the bench, in simulated time).
 */
export interface SimTiming {
  /** The current time in milliseconds (default `Date.now`). */
  now?: () => number;
  /** A newly seen instance's node is NotReady until this long after the sim first saw it. */
  bootSeconds?: number;
  /** An evicted pod stays Terminating (listed, holding its slot) this long, then is gone and replaced. */
  drainSeconds?: number;
}

/** Something due at a time: a booting node turns Ready, a Terminating pod is gone. */
interface Timer {
  at: number;
  kind: 'boot' | 'drain';
  key: string;
  uid: string;
}

function suffix(n = 5): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
}

function key(namespace: string, name: string): string {
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
function templateHash(template: Obj): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  // The hash label itself is not part of the template (kubectl rollout undo strips it, as the controller does).
  const labels = { ...template?.metadata?.labels };
  delete labels['pod-template-hash'];
  const digest = createHash('sha256').update(JSON.stringify(canonicalTemplate({ ...template, metadata: { ...template?.metadata, labels } }) ?? {})).digest();
  return Array.from(digest.subarray(0, 10), (b) => alphabet[b % alphabet.length]).join('');
}

/** An Event's `involvedObject` for an object. */
function involvedReference(o: Obj): Obj {
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
function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

export { parseFieldSelector, parseLabelSelector } from './selectors.js';

/** A workload's selector, as the controllers and PodDisruptionBudgets read it. */
export const matchesSelector = selectorMatches;

function intOrPercent(value: number | string, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const pct = Number(value.replace('%', ''));
  return roundUp ? Math.ceil((pct * total) / 100) : Math.floor((pct * total) / 100);
}

function addTo(index: Map<string, Set<string>>, k: string, value: string): void {
  let set = index.get(k);
  if (!set) index.set(k, (set = new Set()));
  set.add(value);
}

function removeFrom(index: Map<string, Set<string>>, k: string, value: string): void {
  const set = index.get(k);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) index.delete(k);
}

export class SimCluster {
  readonly nodes = new Map<string, Obj>();
  /** Every pod by `namespace/name`; changed only through createPod/deletePod/replacePod, which keep the indices. */
  readonly pods: ReadonlyMap<string, Obj>;
  private readonly podStore = new Map<string, Obj>();
  /** Pod keys by the node they are bound to: a node's slot count without scanning every pod. */
  private readonly podsByNode = new Map<string, Set<string>>();
  /** Pod keys by their controller's uid (ReplicaSet, DaemonSet, Node). */
  private readonly podsByOwner = new Map<string, Set<string>>();
  /** Keys of pods not bound to a node: what the scheduler works through. */
  private readonly unbound = new Set<string>();
  /** Event names by what makes an event "the same" (object, reason, message, component), for counting up. */
  private readonly eventIndex = new Map<string, string>();
  private readonly timers: Timer[] = [];
  private readonly clock: () => number;
  readonly daemonSets = new Map<string, Obj>();
  readonly deployments = new Map<string, Obj>();
  readonly replicaSets = new Map<string, Obj>();
  readonly pdbs = new Map<string, Obj>();
  readonly events = new Map<string, Obj>();
  private version = 1;

  constructor(
    readonly name: string,
    readonly kubernetesVersion: string,
    readonly timing: SimTiming = {},
  ) {
    this.pods = this.podStore;
    this.clock = timing.now ?? Date.now;
    this.addDeployment({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        template: {
          metadata: { labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true' } },
          spec: { containers: [{ name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.3' }], priorityClassName: 'system-cluster-critical', tolerations: [CONTROL_PLANE_TAINT] },
        },
      },
    });
    this.ensureDaemonSet('kube-proxy', 'registry.k8s.io/kube-proxy:' + kubernetesVersion, { 'k8s-app': 'kube-proxy' }, []);
    // kOps installs the AWS EBS CSI driver by default: its node plugin takes a pod slot on every node too.
    this.ensureDaemonSet('ebs-csi-node', 'public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver:v1.38.1', { app: 'ebs-csi-node' }, []);
  }

  /** The current time as an API timestamp, by the cluster's clock. */
  stamp(): string {
    return timestamp(this.clock());
  }

  nextVersion(): string {
    return String(++this.version);
  }

  /** kube-system/aws-node: the Amazon VPC CNI, with the env the manifest gave it at create. */
  ensureAwsNode(env: Array<{ name: string; value?: string }>, image: string): void {
    if (this.daemonSets.has(key('kube-system', 'aws-node'))) return;
    const defaults = [
      { name: 'ADDITIONAL_ENI_TAGS', value: '{}' },
      { name: 'AWS_VPC_K8S_CNI_LOGLEVEL', value: 'DEBUG' },
      { name: 'ENABLE_PREFIX_DELEGATION', value: 'false' },
      { name: 'WARM_ENI_TARGET', value: '1' },
    ];
    const merged = [...defaults.filter((d) => !env.some((e) => e.name === d.name)), ...env.map((e) => ({ name: e.name, value: e.value ?? '' }))];
    this.ensureDaemonSet('aws-node', image, { 'k8s-app': 'aws-node' }, merged);
  }

  private ensureDaemonSet(name: string, image: string, labels: Record<string, string>, env: Array<{ name: string; value: string }>): void {
    this.daemonSets.set(key('kube-system', name), {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name, namespace: 'kube-system', labels, uid: suffix(12), generation: 1, resourceVersion: this.nextVersion(), creationTimestamp: this.stamp() },
      spec: {
        selector: { matchLabels: labels },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } },
        template: {
          metadata: { labels },
          spec: { hostNetwork: true, priorityClassName: 'system-node-critical', tolerations: [{ operator: 'Exists' }], containers: [{ name, image, env }] },
        },
      },
      status: {},
    });
  }

  addDeployment(deployment: Obj): Obj {
    const namespace = deployment.metadata.namespace ?? 'default';
    const stored: Obj = {
      ...deployment,
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { ...deployment.metadata, namespace, uid: suffix(12), generation: 1, resourceVersion: this.nextVersion(), creationTimestamp: this.stamp() },
      status: {},
    };
    stored.spec.replicas ??= 1;
    stored.spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
    stored.spec.revisionHistoryLimit ??= 10;
    this.deployments.set(key(namespace, stored.metadata.name), stored);
    return stored;
  }

  /** Deletes a Deployment with its ReplicaSets and their pods (foreground cascade, at once). */
  deleteDeployment(namespace: string, name: string): Obj | undefined {
    const d = this.deployments.get(key(namespace, name));
    if (!d) return undefined;
    this.deployments.delete(key(namespace, name));
    for (const rs of this.ownedBy(this.replicaSets.values(), d)) {
      this.replicaSets.delete(key(namespace, rs.metadata.name));
      for (const pod of this.podsOwnedBy(rs)) this.deletePod(namespace, pod.metadata.name);
    }
    return d;
  }

  createPod(pod: Obj): Obj {
    const namespace = pod.metadata?.namespace ?? 'default';
    let name = pod.metadata?.name;
    // A generated name that is taken is generated again, as the API server's generateName retry does.
    while (name === undefined || (!pod.metadata?.name && this.podStore.has(key(namespace, name)))) name = `${pod.metadata?.generateName ?? 'pod-'}${suffix()}`;
    const stored: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      ...pod,
      metadata: { ...pod.metadata, name, namespace, uid: suffix(12), resourceVersion: this.nextVersion(), creationTimestamp: this.stamp() },
      spec: { restartPolicy: 'Always', ...(pod.spec ?? {}) },
      status: { phase: 'Pending', conditions: [] },
    };
    // The Priority admission plugin resolves the class to its value.
    stored.spec.priority ??= PRIORITY_CLASSES[stored.spec.priorityClassName] ?? 0;
    delete stored.metadata.generateName;
    this.storePod(stored);
    if (stored.spec.nodeName) this.bind(stored, stored.spec.nodeName, false);
    return stored;
  }

  private storePod(pod: Obj): void {
    const k = key(pod.metadata.namespace, pod.metadata.name);
    if (this.podStore.has(k)) this.deletePod(pod.metadata.namespace, pod.metadata.name);
    this.podStore.set(k, pod);
    const owner = pod.metadata.ownerReferences?.find((r: Obj) => r.controller)?.uid;
    if (owner) addTo(this.podsByOwner, owner, k);
    if (pod.spec.nodeName) addTo(this.podsByNode, pod.spec.nodeName, k);
    else this.unbound.add(k);
  }

  deletePod(namespace: string, name: string): Obj | undefined {
    const k = key(namespace, name);
    const pod = this.podStore.get(k);
    if (!pod) return undefined;
    this.podStore.delete(k);
    const owner = pod.metadata.ownerReferences?.find((r: Obj) => r.controller)?.uid;
    if (owner) removeFrom(this.podsByOwner, owner, k);
    if (pod.spec.nodeName) removeFrom(this.podsByNode, pod.spec.nodeName, k);
    this.unbound.delete(k);
    return pod;
  }

  /** Puts a changed copy of a stored pod in its place (a client's PATCH), keeping the indices. */
  replacePod(updated: Obj): void {
    this.deletePod(updated.metadata.namespace, updated.metadata.name);
    this.storePod(updated);
  }

  /**
   * Pods that take a slot on a node: every pod bound to it that has not finished (Terminating ones
   * included, as on a real node until their containers stop).
   */
  podsOn(nodeName: string): Obj[] {
    return [...(this.podsByNode.get(nodeName) ?? [])].map((k) => this.podStore.get(k)!).filter((p) => !['Succeeded', 'Failed'].includes(p.status.phase));
  }

  /** Every pod whose `spec.nodeName` is the node, finished ones included (what a list by that field selects from). */
  podsBoundTo(nodeName: string): Obj[] {
    return [...(this.podsByNode.get(nodeName) ?? [])].map((k) => this.podStore.get(k)!);
  }

  /** How many slots of a node are taken (the simulated pods never finish, so every bound pod counts). */
  private slotsUsed(nodeName: string): number {
    return this.podsByNode.get(nodeName)?.size ?? 0;
  }

  /** The pods an object controls, from the owner index. */
  podsOwnedBy(owner: Obj): Obj[] {
    return [...(this.podsByOwner.get(owner.metadata.uid) ?? [])].map((k) => this.podStore.get(k)!);
  }

  /** ReplicaSets by their Deployment's uid, built once per pass (one pass over the sets, not one per Deployment). */
  private replicaSetsByOwner(): Map<string, Obj[]> {
    const out = new Map<string, Obj[]>();
    for (const rs of this.replicaSets.values()) {
      const owner = rs.metadata.ownerReferences?.find((r: Obj) => r.controller)?.uid;
      if (!owner) continue;
      const sets = out.get(owner);
      if (sets) sets.push(rs);
      else out.set(owner, [rs]);
    }
    return out;
  }

  private ownedBy<T extends Obj>(items: Iterable<T>, owner: Obj): T[] {
    return [...items].filter((o) => o.metadata.ownerReferences?.some((r: Obj) => r.uid === owner.metadata.uid && r.controller));
  }

  /**
   * Records a core/v1 Event about an object, as the component named would; the same event again
   * (same object, reason and message) counts up instead of adding one, as client-go's recorder does.
   */
  recordEvent(e: { involved: Obj; type: 'Normal' | 'Warning'; reason: string; message: string; component: string; host?: string; action?: string }): Obj {
    const involved = involvedReference(e.involved);
    const sameKey = JSON.stringify([involved.uid, e.reason, e.message, e.component]);
    const existingName = this.eventIndex.get(sameKey);
    const existing = existingName === undefined ? undefined : this.events.get(existingName);
    if (existing) {
      existing.count = (existing.count ?? 1) + 1;
      existing.lastTimestamp = this.stamp();
      existing.metadata.resourceVersion = this.nextVersion();
      return existing;
    }
    const stored = this.storeEvent({
      metadata: { name: `${involved.name}.${randomBytes(8).toString('hex')}`, namespace: involved.namespace || 'default' },
      involvedObject: involved,
      reason: e.reason,
      message: e.message,
      type: e.type,
      source: { component: e.component, ...(e.host ? { host: e.host } : {}) },
      reportingComponent: e.component,
      reportingInstance: e.host ?? '',
      ...(e.action ? { action: e.action } : {}),
      firstTimestamp: this.stamp(),
      lastTimestamp: this.stamp(),
      count: 1,
    });
    this.eventIndex.set(sameKey, key(stored.metadata.namespace, stored.metadata.name));
    return stored;
  }

  /** Stores an Event as given (a client's POST), filling what the API server fills. */
  storeEvent(event: Obj): Obj {
    const namespace = event.metadata?.namespace ?? 'default';
    const name = event.metadata?.name ?? `${event.metadata?.generateName ?? `${event.involvedObject?.name ?? 'event'}.`}${randomBytes(8).toString('hex')}`;
    const stored: Obj = { ...event, apiVersion: 'v1', kind: 'Event', metadata: { ...event.metadata, name, namespace, uid: suffix(12), resourceVersion: this.nextVersion(), creationTimestamp: this.stamp() } };
    delete stored.metadata.generateName;
    this.events.set(key(namespace, name), stored);
    // The API server keeps events an hour; a bounded store stands in for that.
    for (const [old, e] of this.events) {
      if (this.events.size <= MAX_EVENTS) break;
      this.events.delete(old);
      this.eventIndex.delete(JSON.stringify([e.involvedObject?.uid, e.reason, e.message, e.source?.component]));
    }
    return stored;
  }

  private bind(pod: Obj, nodeName: string, scheduled = true): void {
    const node = this.nodes.get(nodeName);
    const k = key(pod.metadata.namespace, pod.metadata.name);
    if (this.podStore.get(k) === pod) {
      this.unbound.delete(k);
      addTo(this.podsByNode, nodeName, k);
    }
    pod.spec.nodeName = nodeName;
    pod.status = {
      phase: 'Running',
      hostIP: node?.status.addresses?.[0]?.address,
      podIP: pod.spec.hostNetwork ? node?.status.addresses?.[0]?.address : `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`,
      startTime: this.stamp(),
      conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: this.stamp() })),
      containerStatuses: (pod.spec.containers ?? []).map((c: Obj) => ({ name: c.name, image: c.image, ready: true, restartCount: 0, started: true, state: { running: { startedAt: this.stamp() } } })),
    };
    pod.metadata.resourceVersion = this.nextVersion();
    if (scheduled) this.recordEvent({ involved: pod, type: 'Normal', reason: 'Scheduled', message: `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`, component: 'default-scheduler' });
  }

  private tolerated(pod: Obj, taint: Obj): boolean {
    return (pod.spec.tolerations ?? []).some((tol: Obj) => (tol.operator === 'Exists' && !tol.key) || (tol.key === taint.key && (!tol.effect || tol.effect === taint.effect) && (tol.operator === 'Exists' || (tol.value ?? '') === (taint.value ?? ''))));
  }

  private ready(node: Obj): boolean {
    return (node.status.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True');
  }

  /** Node affinity and nodeSelector: what a DaemonSet pod uses to name its node. */
  private affinityMatches(pod: Obj, node: Obj): boolean {
    const bySelector = Object.entries(pod.spec.nodeSelector ?? {}).every(([k, v]) => node.metadata.labels?.[k] === v);
    const terms: Obj[] = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    const fields = { 'metadata.name': node.metadata.name };
    const byAffinity =
      terms.length === 0 ||
      terms.some((t) =>
        [...(t.matchFields ?? []).map((e: Obj) => ({ ...e, value: fields[e.key as 'metadata.name'] })), ...(t.matchExpressions ?? []).map((e: Obj) => ({ ...e, value: node.metadata.labels?.[e.key] }))].every((e: Obj) =>
          e.operator === 'In' ? (e.values ?? []).includes(e.value) : e.operator === 'NotIn' ? !(e.values ?? []).includes(e.value) : e.operator === 'Exists' ? e.value !== undefined : e.operator === 'DoesNotExist' ? e.value === undefined : false,
        ),
      );
    return bySelector && byAffinity;
  }

  /** Why a node cannot take a pod (the scheduler's filter plugins, in their order), or undefined. */
  private filter(pod: Obj, node: Obj): string | undefined {
    // A NotReady node carries the not-ready taint (the node lifecycle controller's); a node without it that is not Ready still takes nothing.
    if (!this.ready(node) && !(node.spec.taints ?? []).some((t: Obj) => t.key === NOT_READY_TAINT.key)) return 'node(s) were not ready';
    if (node.spec.unschedulable && !this.tolerated(pod, UNSCHEDULABLE_TAINT)) return 'node(s) were unschedulable';
    const untolerated = (node.spec.taints ?? []).find((t: Obj) => ['NoSchedule', 'NoExecute'].includes(t.effect) && !this.tolerated(pod, t));
    if (untolerated) return `node(s) had untolerated taint {${untolerated.key}: ${untolerated.value ?? ''}}`;
    if (!this.affinityMatches(pod, node)) return "node(s) didn't match Pod's node affinity/selector";
    if (this.slotsUsed(node.metadata.name) >= Number(node.status.allocatable.pods)) return 'Too many pods';
    return undefined;
  }

  /**
   * Preemption: on a node that is only full, the pods of lower priority that must go for this one
   * to fit (lowest priority first), or undefined when there are not enough of them.
   */
  private victims(pod: Obj, node: Obj): Obj[] | undefined {
    const on = this.podsOn(node.metadata.name);
    const needed = on.length - Number(node.status.allocatable.pods) + 1;
    const lower = on.filter((p) => (p.spec.priority ?? 0) < (pod.spec.priority ?? 0) && !p.metadata.annotations?.['kubernetes.io/config.mirror'] && !p.metadata.deletionTimestamp).sort((a, b) => (a.spec.priority ?? 0) - (b.spec.priority ?? 0));
    return lower.length >= needed ? lower.slice(0, needed) : undefined;
  }

  /**
   * Binds every Pending pod it can, highest priority first, least-loaded node first; a pod that
   * fits nowhere preempts lower-priority pods where that makes room (as system-node-critical
   * DaemonSet pods do on a full node), and otherwise stays Pending with the scheduler's message
   * and a FailedScheduling event. Returns whether it preempted any pod.
   */
  schedule(): boolean {
    let preempted = false;
    const pending = [...this.unbound].map((k) => this.podStore.get(k)!).filter((p) => !p.spec.nodeName && p.status.phase === 'Pending').sort((a, b) => (b.spec.priority ?? 0) - (a.spec.priority ?? 0));
    const nodes = [...this.nodes.values()];
    for (const pod of pending) {
      const reasons = new Map<string, number>();
      const why = new Map<string, string>();
      const fits = nodes.filter((node) => {
        const reason = this.filter(pod, node);
        if (reason) {
          reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
          why.set(node.metadata.name, reason);
        }
        return !reason;
      });
      if (fits.length > 0) {
        const least = fits.reduce((best, n) => (this.slotsUsed(n.metadata.name) < this.slotsUsed(best.metadata.name) ? n : best));
        this.bind(pod, least.metadata.name);
        continue;
      }
      const full = nodes.filter((n) => why.get(n.metadata.name) === 'Too many pods').map((node) => ({ node, victims: this.victims(pod, node) }));
      const candidate = full.filter((c) => c.victims).sort((a, b) => a.victims!.length - b.victims!.length)[0];
      if (candidate) {
        for (const victim of candidate.victims!) {
          this.recordEvent({ involved: victim, type: 'Normal', reason: 'Preempted', message: `Preempted by pod ${pod.metadata.uid} on node ${candidate.node.metadata.name}`, component: 'default-scheduler' });
          this.deletePod(victim.metadata.namespace, victim.metadata.name);
        }
        this.bind(pod, candidate.node.metadata.name);
        preempted = true;
        continue;
      }
      const histogram = (m: Map<string, number>) => [...m.entries()].map(([reason, n]) => `${n} ${reason}`).sort().join(', ');
      const postFilter = new Map<string, number>();
      for (const node of nodes) {
        const reason = why.get(node.metadata.name) === 'Too many pods' ? 'No preemption victims found for incoming pod' : 'Preemption is not helpful for scheduling';
        postFilter.set(reason, (postFilter.get(reason) ?? 0) + 1);
      }
      const message =
        nodes.length === 0
          ? 'no nodes available to schedule pods'
          : `0/${nodes.length} nodes are available: ${histogram(reasons)}. preemption: 0/${nodes.length} nodes are available: ${histogram(postFilter)}.`;
      const existing = pod.status.conditions?.[0];
      if (existing?.message !== message) {
        pod.status = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: this.stamp() }] };
        pod.metadata.resourceVersion = this.nextVersion();
        this.recordEvent({ involved: pod, type: 'Warning', reason: 'FailedScheduling', message, component: 'default-scheduler' });
      }
    }
    return preempted;
  }

  /** The node a DaemonSet pod is for: bound, or named by the node affinity its controller set. */
  private daemonPodNode(pod: Obj): string | undefined {
    return pod.spec.nodeName ?? pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms?.[0]?.matchFields?.[0]?.values?.[0];
  }

  /** The DaemonSet controller: one pod per node, pinned by node affinity, placed by the scheduler. */
  private reconcileDaemonSets(): void {
    for (const ds of this.daemonSets.values()) {
      const covered = new Set<string>();
      for (const pod of this.podsOwnedBy(ds)) {
        const on = this.daemonPodNode(pod) ?? '';
        if (!this.nodes.has(on)) this.deletePod(pod.metadata.namespace, pod.metadata.name);
        else covered.add(on);
      }
      for (const node of this.nodes.values()) {
        const nodeName = node.metadata.name;
        if (covered.has(nodeName)) continue;
        const spec = structuredClone(ds.spec.template.spec);
        this.createPod({
          metadata: { generateName: `${ds.metadata.name}-`, namespace: ds.metadata.namespace, labels: { ...ds.spec.template.metadata?.labels }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: ds.metadata.name, uid: ds.metadata.uid, controller: true, blockOwnerDeletion: true }] },
          spec: {
            ...spec,
            affinity: { ...spec.affinity, nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }] } } },
            tolerations: [...(spec.tolerations ?? []), ...DAEMONSET_TOLERATIONS.filter((t) => spec.hostNetwork || t.key !== 'node.kubernetes.io/network-unavailable')],
          },
        });
      }
    }
  }

  /** The Deployment controller: the ReplicaSet of the current pod template holds the replicas, older ones none. */
  private reconcileDeployments(): void {
    const setsOf = this.replicaSetsByOwner();
    for (const d of this.deployments.values()) {
      const hash = templateHash(d.spec.template);
      const owned = setsOf.get(d.metadata.uid) ?? [];
      let current = owned.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
      const revision = Math.max(0, ...owned.map((rs) => Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0)));
      if (!current) {
        const name = `${d.metadata.name}-${hash}`;
        const template = structuredClone(d.spec.template);
        template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, 'pod-template-hash': hash } };
        current = {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            name,
            namespace: d.metadata.namespace,
            uid: suffix(12),
            generation: 1,
            resourceVersion: this.nextVersion(),
            creationTimestamp: this.stamp(),
            labels: { ...template.metadata.labels },
            annotations: { 'deployment.kubernetes.io/desired-replicas': String(d.spec.replicas), 'deployment.kubernetes.io/max-replicas': String(d.spec.replicas), 'deployment.kubernetes.io/revision': String(revision + 1) },
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name, uid: d.metadata.uid, controller: true, blockOwnerDeletion: true }],
          },
          spec: { replicas: d.spec.replicas, selector: { matchLabels: { ...d.spec.selector?.matchLabels, 'pod-template-hash': hash }, ...(d.spec.selector?.matchExpressions ? { matchExpressions: d.spec.selector.matchExpressions } : {}) }, template },
          status: { replicas: 0 },
        };
        this.replicaSets.set(key(d.metadata.namespace, name), current);
        this.recordEvent({ involved: d, type: 'Normal', reason: 'ScalingReplicaSet', message: `Scaled up replica set ${name} from 0 to ${d.spec.replicas}`, component: 'deployment-controller' });
      }
      // The simulated roll of a changed template is immediate (no surge): old sets go to 0 at once.
      for (const rs of owned) {
        const want = rs === current ? d.spec.replicas : 0;
        if (rs.spec.replicas === want) continue;
        this.recordEvent({ involved: d, type: 'Normal', reason: 'ScalingReplicaSet', message: `Scaled ${want > rs.spec.replicas ? 'up' : 'down'} replica set ${rs.metadata.name} from ${rs.spec.replicas} to ${want}`, component: 'deployment-controller' });
        rs.spec.replicas = want;
        rs.metadata.annotations['deployment.kubernetes.io/desired-replicas'] = String(d.spec.replicas);
        rs.metadata.generation += 1;
        rs.metadata.resourceVersion = this.nextVersion();
      }
      // Sets beyond revisionHistoryLimit (of those scaled to 0) are garbage collected.
      const old = owned.filter((rs) => rs !== current && rs.spec.replicas === 0).sort((a, b) => Number(a.metadata.annotations['deployment.kubernetes.io/revision']) - Number(b.metadata.annotations['deployment.kubernetes.io/revision']));
      for (const rs of old.slice(0, Math.max(0, old.length - d.spec.revisionHistoryLimit))) this.replicaSets.delete(key(rs.metadata.namespace, rs.metadata.name));
    }
  }

  /** The ReplicaSet controller: creates or deletes pods to the count, deleting unscheduled ones first. */
  private reconcileReplicaSets(): void {
    for (const rs of this.replicaSets.values()) {
      const pods = this.podsOwnedBy(rs);
      for (let i = pods.length; i < rs.spec.replicas; i++) {
        this.createPod({
          metadata: { generateName: `${rs.metadata.name}-`, namespace: rs.metadata.namespace, labels: { ...rs.spec.template.metadata?.labels }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }] },
          spec: structuredClone(rs.spec.template.spec),
        });
      }
      const surplus = pods.length - rs.spec.replicas;
      if (surplus > 0) {
        // A Terminating pod is already on its way out; the others go, unscheduled and newest first.
        const order = pods.filter((p) => !p.metadata.deletionTimestamp).sort((a, b) => Number(!!a.spec.nodeName) - Number(!!b.spec.nodeName) || (a.metadata.creationTimestamp < b.metadata.creationTimestamp ? 1 : -1));
        for (const extra of order.slice(0, surplus)) this.deletePod(extra.metadata.namespace, extra.metadata.name);
      }
    }
  }

  /** Static control-plane pods (mirror pods) on control-plane nodes: the kubelet runs them from files. */
  private reconcileStaticPods(): void {
    for (const node of this.nodes.values()) {
      const nodeName = node.metadata.name;
      if (!('node-role.kubernetes.io/control-plane' in (node.metadata.labels ?? {}))) continue;
      for (const component of STATIC_COMPONENTS) {
        const podName = `${component}-${nodeName}`;
        if (this.pods.has(key('kube-system', podName))) continue;
        this.createPod({
          metadata: { name: podName, namespace: 'kube-system', labels: { component, tier: 'control-plane' }, annotations: { 'kubernetes.io/config.mirror': suffix(16) }, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.metadata.uid, controller: true }] },
          spec: { hostNetwork: true, priorityClassName: 'system-node-critical', containers: [{ name: component, image: `registry.k8s.io/${component}:${this.kubernetesVersion}` }], nodeName, tolerations: [{ operator: 'Exists' }] },
        });
      }
    }
  }

  /**
   * Runs the controllers and the scheduler until they settle: a preemption deletes pods that
   * their ReplicaSet then replaces (Pending, when there is no room left).
   */
  reconcile(): void {
    this.expire();
    for (let round = 0; round < 5; round++) {
      this.reconcileStaticPods();
      this.reconcileDaemonSets();
      this.reconcileDeployments();
      this.reconcileReplicaSets();
      if (!this.schedule()) break;
    }
    this.updateStatuses();
  }

  private addTimer(timer: Timer): void {
    this.timers.push(timer);
    // Deadlines are nearly always added in order; a clock that goes back is sorted in.
    if (this.timers.length > 1 && this.timers.at(-2)!.at > timer.at) this.timers.sort((a, b) => a.at - b.at);
  }

  /** Applies what is due by the clock (booted nodes turn Ready, drained pods go); whether anything changed. */
  private expire(): boolean {
    const nowMs = this.clock();
    let changed = false;
    while (this.timers.length > 0 && this.timers[0]!.at <= nowMs) {
      const timer = this.timers.shift()!;
      if (timer.kind === 'boot') {
        const node = this.nodes.get(timer.key);
        if (!node || node.metadata.uid !== timer.uid) continue;
        node.spec.taints = (node.spec.taints ?? []).filter((t: Obj) => t.key !== NOT_READY_TAINT.key);
        if (node.spec.taints.length === 0) delete node.spec.taints;
        node.status.conditions = [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: this.stamp(), lastTransitionTime: this.stamp() }];
        node.metadata.resourceVersion = this.nextVersion();
        this.recordEvent({ involved: node, type: 'Normal', reason: 'NodeReady', message: `Node ${node.metadata.name} status is now: NodeReady`, component: 'kubelet', host: node.metadata.name });
      } else {
        const pod = this.podStore.get(timer.key);
        if (!pod || pod.metadata.uid !== timer.uid) continue;
        this.deletePod(pod.metadata.namespace, pod.metadata.name);
      }
      changed = true;
    }
    return changed;
  }

  /** Brings the cluster up to its clock (a request's first step): reconciles when a timer was due. */
  tick(): void {
    if (this.expire()) this.reconcile();
  }

  /**
   * Why a Deployment may not hold `replicas` in this cluster (the simulated server's caps), or
   * undefined. `current` is what the Deployment holds now (0 for a new one).
   */
  replicasRefusal(replicas: number, current: number): string | undefined {
    if (replicas > MAX_REPLICAS_PER_DEPLOYMENT) return `must be less than or equal to ${MAX_REPLICAS_PER_DEPLOYMENT} (the simulated API server's limit per Deployment)`;
    let total = 0;
    for (const d of this.deployments.values()) total += d.spec.replicas ?? 0;
    for (const p of this.podStore.values()) if (p.metadata.ownerReferences?.[0]?.kind !== 'ReplicaSet') total++;
    const after = total - current + replicas;
    if (replicas > current && after > MAX_PODS_PER_CLUSTER) return `the cluster would hold ${after} pods, more than the ${MAX_PODS_PER_CLUSTER} the simulated API server allows`;
    return undefined;
  }

  private updateStatuses(): void {
    const nodeCount = this.nodes.size;
    for (const ds of this.daemonSets.values()) {
      const pods = this.podsOwnedBy(ds);
      const scheduled = pods.filter((p) => p.spec.nodeName);
      const ready = pods.filter((p) => p.status.phase === 'Running').length;
      ds.status = { currentNumberScheduled: scheduled.length, desiredNumberScheduled: nodeCount, numberAvailable: ready, numberMisscheduled: 0, numberReady: ready, updatedNumberScheduled: pods.length, observedGeneration: ds.metadata.generation, ...(ready < nodeCount ? { numberUnavailable: nodeCount - ready } : {}) };
    }
    for (const rs of this.replicaSets.values()) {
      const pods = this.podsOwnedBy(rs);
      const ready = pods.filter((p) => p.status.phase === 'Running' && !p.metadata.deletionTimestamp).length;
      rs.status = { replicas: pods.length, fullyLabeledReplicas: pods.length, readyReplicas: ready, availableReplicas: ready, observedGeneration: rs.metadata.generation };
    }
    const setsOf = this.replicaSetsByOwner();
    for (const d of this.deployments.values()) {
      const sets = setsOf.get(d.metadata.uid) ?? [];
      const current = sets.find((rs) => rs.metadata.labels?.['pod-template-hash'] === templateHash(d.spec.template));
      const sum = (f: (rs: Obj) => number) => sets.reduce((n, rs) => n + f(rs), 0);
      const replicas = sum((rs) => rs.status.replicas ?? 0);
      const ready = sum((rs) => rs.status.readyReplicas ?? 0);
      const available = ready >= d.spec.replicas - intOrPercent(d.spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%', d.spec.replicas, false);
      d.status = {
        replicas,
        readyReplicas: ready,
        availableReplicas: ready,
        updatedReplicas: current?.status.replicas ?? 0,
        ...(replicas - ready > 0 ? { unavailableReplicas: replicas - ready } : {}),
        observedGeneration: d.metadata.generation,
        conditions: [
          { type: 'Available', status: available ? 'True' : 'False', reason: available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', message: available ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.', lastUpdateTime: this.stamp(), lastTransitionTime: this.stamp() },
          { type: 'Progressing', status: 'True', reason: ready === d.spec.replicas ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated', message: `ReplicaSet "${current?.metadata.name ?? ''}" ${ready === d.spec.replicas ? 'has successfully progressed.' : 'is progressing.'}`, lastUpdateTime: this.stamp(), lastTransitionTime: this.stamp() },
        ],
      };
    }
  }

  /**
   * Registers a Ready node for every running instance and removes the nodes whose instance is
   * gone (their pods go with them; controllers recreate theirs elsewhere).
   */
  syncInstances(instances: InstanceView[]): void {
    const wanted = new Map(instances.map((i) => [i.privateDnsName, i]));
    let changed = false;
    for (const [name, node] of this.nodes) {
      if (wanted.has(name)) continue;
      this.nodes.delete(name);
      changed = true;
      for (const pod of this.podsOn(node.metadata.name)) this.deletePod(pod.metadata.namespace, pod.metadata.name);
    }
    for (const instance of instances) {
      if (this.nodes.has(instance.privateDnsName)) continue;
      changed = true;
      const booting = (this.timing.bootSeconds ?? 0) > 0;
      const role = instance.controlPlane ? 'control-plane' : 'node';
      this.nodes.set(instance.privateDnsName, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: instance.privateDnsName,
          uid: suffix(12),
          resourceVersion: this.nextVersion(),
          creationTimestamp: this.stamp(),
          labels: {
            'kubernetes.io/hostname': instance.privateDnsName,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'node.kubernetes.io/instance-type': instance.instanceType,
            'topology.kubernetes.io/zone': instance.zone,
            'kops.k8s.io/instancegroup': instance.instanceGroup,
            [`node-role.kubernetes.io/${role}`]: '',
          },
        },
        spec: { providerID: `aws:///${instance.zone}/${instance.instanceId}`, ...(instance.controlPlane || booting ? { taints: [...(instance.controlPlane ? [CONTROL_PLANE_TAINT] : []), ...(booting ? [NOT_READY_TAINT] : [])] } : {}) },
        status: {
          capacity: { pods: String(instance.maxPods), cpu: '2', memory: '3986524Ki' },
          allocatable: { pods: String(instance.maxPods), cpu: '2', memory: '3884124Ki' },
          conditions: [
            booting
              ? { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized', lastHeartbeatTime: this.stamp(), lastTransitionTime: this.stamp() }
              : { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: this.stamp(), lastTransitionTime: this.stamp() },
          ],
          addresses: [
            { type: 'InternalIP', address: instance.privateIp },
            { type: 'Hostname', address: instance.privateDnsName },
          ],
          nodeInfo: { kubeletVersion: instance.kubeletVersion ?? this.kubernetesVersion, containerRuntimeVersion: 'containerd://1.7.24', osImage: 'Ubuntu 24.04 LTS', operatingSystem: 'linux', architecture: 'amd64' },
        },
      });
      if (booting) this.addTimer({ at: this.clock() + this.timing.bootSeconds! * 1000, kind: 'boot', key: instance.privateDnsName, uid: this.nodes.get(instance.privateDnsName)!.metadata.uid });
    }
    // Reads sync often; with nothing new the controllers and the scheduler have nothing to do.
    if (changed || this.expire()) this.reconcile();
  }

  /**
   * The eviction API: refuses (429) when a PodDisruptionBudget covering the pod has no
   * disruption left, otherwise deletes the pod.
   */
  evict(namespace: string, name: string): { status: 'evicted' | 'blocked' | 'gone'; message?: string } {
    this.tick();
    const pod = this.pods.get(key(namespace, name));
    if (!pod) return { status: 'gone' };
    // A pod already Terminating is evicted already, as the API server answers.
    if (pod.metadata.deletionTimestamp) return { status: 'evicted' };
    for (const pdb of this.pdbs.values()) {
      if (pdb.metadata.namespace !== namespace || !selectorMatches(pod.metadata.labels, pdb.spec.selector)) continue;
      const covered = [...this.pods.values()].filter((p) => p.metadata.namespace === namespace && selectorMatches(p.metadata.labels, pdb.spec.selector));
      const healthy = covered.filter((p) => p.status.phase === 'Running' && !p.metadata.deletionTimestamp).length;
      const desiredHealthy =
        pdb.spec.minAvailable !== undefined
          ? intOrPercent(pdb.spec.minAvailable, covered.length, true)
          : covered.length - intOrPercent(pdb.spec.maxUnavailable ?? 0, covered.length, true);
      if (healthy - desiredHealthy < 1 || pod.status.phase !== 'Running') {
        return { status: 'blocked', message: "Cannot evict pod as it would violate the pod's disruption budget." };
      }
    }
    const drain = this.timing.drainSeconds ?? 0;
    if (drain > 0) {
      // Terminating: listed and holding its slot until its grace period ends; its ReplicaSet replaces it then.
      pod.metadata.deletionTimestamp = timestamp(this.clock() + drain * 1000);
      pod.metadata.deletionGracePeriodSeconds = drain;
      pod.metadata.resourceVersion = this.nextVersion();
      this.addTimer({ at: this.clock() + drain * 1000, kind: 'drain', key: key(namespace, name), uid: pod.metadata.uid });
    } else this.deletePod(namespace, name);
    this.reconcile();
    return { status: 'evicted' };
  }

  /** PodDisruptionBudget status as `kubectl get pdb` shows it. */
  pdbStatus(pdb: Obj): Obj {
    const covered = [...this.pods.values()].filter((p) => p.metadata.namespace === pdb.metadata.namespace && selectorMatches(p.metadata.labels, pdb.spec.selector));
    const healthy = covered.filter((p) => p.status.phase === 'Running' && !p.metadata.deletionTimestamp).length;
    const desired = pdb.spec.minAvailable !== undefined ? intOrPercent(pdb.spec.minAvailable, covered.length, true) : covered.length - intOrPercent(pdb.spec.maxUnavailable ?? 0, covered.length, true);
    return { currentHealthy: healthy, desiredHealthy: desired, disruptionsAllowed: Math.max(0, healthy - desired), expectedPods: covered.length, observedGeneration: 1 };
  }
}
