import { randomBytes } from 'node:crypto';
import {
  addTo,
  involvedReference,
  key,
  MAX_EVENTS,
  type Obj,
  PRIORITY_CLASSES,
  removeFrom,
  type SimTiming,
  suffix,
  type Timer,
  timestamp,
} from './objects.js';

/** The conditions the kubelet reports True for a running, ready pod, in the order it lists them. */
export const RUNNING_POD_CONDITIONS = [
  'PodReadyToStartContainers',
  'Initialized',
  'Ready',
  'ContainersReady',
  'PodScheduled',
] as const;

/**
 * The QoS class the kubelet reports: Guaranteed when every container's requests equal its limits
 * for cpu and memory, BestEffort when none asks for either, Burstable otherwise.
 */
export function qosClass(containers: Obj[]): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const resources = containers.map((c) => c.resources ?? {});
  const any = resources.some(
    (r) => Object.keys(r.requests ?? {}).length > 0 || Object.keys(r.limits ?? {}).length > 0,
  );
  if (!any) return 'BestEffort';
  const guaranteed = resources.every((r) =>
    ['cpu', 'memory'].every(
      (k) => r.limits?.[k] !== undefined && (r.requests?.[k] ?? r.limits[k]) === r.limits[k],
    ),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/**
 * The simulated cluster's object store: every kind's map, the pod indexes (by node, by
 * controller, unbound) that pods change only through createPod/deletePod/replacePod, Events
 * (counted up as client-go's recorder does), the resource version and the clock's timers.
 * Binding a pod to a node lives here because it moves the pod between indexes.
 */
export abstract class PodStore {
  readonly nodes = new Map<string, Obj>();
  /** Every pod by `namespace/name`; changed only through createPod/deletePod/replacePod, which keep the indices. */
  readonly pods: ReadonlyMap<string, Obj>;
  protected readonly podStore = new Map<string, Obj>();
  /** Pod keys by the node they are bound to: a node's slot count without scanning every pod. */
  private readonly podsByNode = new Map<string, Set<string>>();
  /** Pod keys by their controller's uid (ReplicaSet, DaemonSet, Node). */
  private readonly podsByOwner = new Map<string, Set<string>>();
  /** Keys of pods not bound to a node: what the scheduler works through. */
  protected readonly unbound = new Set<string>();
  /** Event names by what makes an event "the same" (object, reason, message, component), for counting up. */
  private readonly eventIndex = new Map<string, string>();
  protected readonly timers: Timer[] = [];
  protected readonly clock: () => number;
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
  }

  /** The current time as an API timestamp, by the cluster's clock. */
  stamp(): string {
    return timestamp(this.clock());
  }

  nextVersion(): string {
    return String(++this.version);
  }

  createPod(pod: Obj): Obj {
    const namespace = pod.metadata?.namespace ?? 'default';
    let name = pod.metadata?.name;
    // A generated name that is taken is generated again, as the API server's generateName retry does.
    while (name === undefined || (!pod.metadata?.name && this.podStore.has(key(namespace, name))))
      name = `${pod.metadata?.generateName ?? 'pod-'}${suffix()}`;
    const stored: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      ...pod,
      metadata: {
        ...pod.metadata,
        name,
        namespace,
        uid: suffix(12),
        resourceVersion: this.nextVersion(),
        creationTimestamp: this.stamp(),
      },
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
    return [...(this.podsByNode.get(nodeName) ?? [])]
      .map((k) => this.podStore.get(k)!)
      .filter((p) => !['Succeeded', 'Failed'].includes(p.status.phase));
  }

  /** Every pod whose `spec.nodeName` is the node, finished ones included (what a list by that field selects from). */
  podsBoundTo(nodeName: string): Obj[] {
    return [...(this.podsByNode.get(nodeName) ?? [])].map((k) => this.podStore.get(k)!);
  }

  /** How many slots of a node are taken (the simulated pods never finish, so every bound pod counts). */
  protected slotsUsed(nodeName: string): number {
    return this.podsByNode.get(nodeName)?.size ?? 0;
  }

  /** The pods an object controls, from the owner index. */
  podsOwnedBy(owner: Obj): Obj[] {
    return [...(this.podsByOwner.get(owner.metadata.uid) ?? [])].map((k) => this.podStore.get(k)!);
  }

  /** ReplicaSets by their Deployment's uid, built once per pass (one pass over the sets, not one per Deployment). */
  protected replicaSetsByOwner(): Map<string, Obj[]> {
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

  protected ownedBy<T extends Obj>(items: Iterable<T>, owner: Obj): T[] {
    return [...items].filter((o) =>
      o.metadata.ownerReferences?.some((r: Obj) => r.uid === owner.metadata.uid && r.controller),
    );
  }

  /**
   * Records a core/v1 Event about an object, as the component named would; the same event again
   * (same object, reason and message) counts up instead of adding one, as client-go's recorder does.
   */
  recordEvent(e: {
    involved: Obj;
    type: 'Normal' | 'Warning';
    reason: string;
    message: string;
    component: string;
    host?: string;
    action?: string;
  }): Obj {
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
      metadata: {
        name: `${involved.name}.${randomBytes(8).toString('hex')}`,
        namespace: involved.namespace || 'default',
      },
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
    const name =
      event.metadata?.name ??
      `${event.metadata?.generateName ?? `${event.involvedObject?.name ?? 'event'}.`}${randomBytes(8).toString('hex')}`;
    const stored: Obj = {
      ...event,
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        ...event.metadata,
        name,
        namespace,
        uid: suffix(12),
        resourceVersion: this.nextVersion(),
        creationTimestamp: this.stamp(),
      },
    };
    delete stored.metadata.generateName;
    this.events.set(key(namespace, name), stored);
    // The API server keeps events an hour; a bounded store stands in for that.
    for (const [old, e] of this.events) {
      if (this.events.size <= MAX_EVENTS) break;
      this.events.delete(old);
      this.eventIndex.delete(
        JSON.stringify([e.involvedObject?.uid, e.reason, e.message, e.source?.component]),
      );
    }
    return stored;
  }

  protected bind(pod: Obj, nodeName: string, scheduled = true): void {
    const node = this.nodes.get(nodeName);
    const k = key(pod.metadata.namespace, pod.metadata.name);
    if (this.podStore.get(k) === pod) {
      this.unbound.delete(k);
      addTo(this.podsByNode, nodeName, k);
    }
    pod.spec.nodeName = nodeName;
    const hostIP = node?.status.addresses?.[0]?.address;
    const podIP = pod.spec.hostNetwork
      ? hostIP
      : `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
    // What the kubelet reports once the pod runs: five conditions, both IP lists, container IDs,
    // image digests and the QoS class, as `kubectl get pod -o yaml` shows them on a real node.
    pod.status = {
      phase: 'Running',
      hostIP,
      ...(hostIP ? { hostIPs: [{ ip: hostIP }] } : {}),
      podIP,
      ...(podIP ? { podIPs: [{ ip: podIP }] } : {}),
      startTime: this.stamp(),
      conditions: RUNNING_POD_CONDITIONS.map((type) => ({
        type,
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: this.stamp(),
      })),
      containerStatuses: (pod.spec.containers ?? []).map((c: Obj) => ({
        name: c.name,
        state: { running: { startedAt: this.stamp() } },
        lastState: {},
        ready: true,
        restartCount: 0,
        image: c.image,
        imageID: `${String(c.image).split(':')[0]}@sha256:${randomBytes(32).toString('hex')}`,
        containerID: `containerd://${randomBytes(32).toString('hex')}`,
        started: true,
      })),
      qosClass: qosClass(pod.spec.containers ?? []),
    };
    pod.metadata.resourceVersion = this.nextVersion();
    if (scheduled)
      this.recordEvent({
        involved: pod,
        type: 'Normal',
        reason: 'Scheduled',
        message: `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`,
        component: 'default-scheduler',
      });
  }

  protected addTimer(timer: Timer): void {
    this.timers.push(timer);
    // Deadlines are nearly always added in order; a clock that goes back is sorted in.
    if (this.timers.length > 1 && this.timers.at(-2)!.at > timer.at)
      this.timers.sort((a, b) => a.at - b.at);
  }
}
