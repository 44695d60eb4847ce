import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1DaemonSet,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { now as clockNow } from '../clock.js';
import { classifyKubeError } from '../errors.js';
import { type KubePodRow, podTablePage } from './pod-rows.js';

export type { KubePodRow } from './pod-rows.js';

/**
 * The Kubernetes port: the few calls the lifecycle stages make on a cluster, over
 * @kubernetes/client-node. It talks to whatever API server the kubeconfig names; the stages
 * never know whether that is a real cluster or the local test double.
 */

export interface KubeNode {
  name: string;
  providerId: string;
  /** `i-...` taken from the provider ID (`aws:///<zone>/<instance-id>`). */
  instanceId: string;
  instanceGroup?: string;
  role: 'control-plane' | 'node';
  ready: boolean;
  unschedulable: boolean;
  /**
   * True when the rolling update cordoned the node (it carries ROLL_CORDON_ANNOTATION): only such
   * a node is uncordoned when a roll gives up, never one an admin had cordoned.
   */
  cordonedByRoll?: boolean;
  allocatablePods: number;
  /** `status.nodeInfo.kubeletVersion`, e.g. `v1.33.1`. */
  kubeletVersion?: string;
}

export interface KubePod {
  namespace: string;
  name: string;
  uid?: string;
  nodeName?: string;
  phase: string;
  ready: boolean;
  labels: Record<string, string>;
  ownerKind?: string;
  /** True for DaemonSet pods and mirror (static) pods, which a drain leaves alone. */
  drainSkips: boolean;
  /** The scheduler's message while Pending (e.g. `0/3 nodes are available: ... Too many pods`). */
  unschedulableMessage?: string;
  priorityClassName?: string;
  /** Containers not ready, for validation messages. */
  notReadyContainers: string[];
  /** A terminating pod's `metadata.deletionTimestamp`: it is gone by then (its grace period's end). */
  deletionTimestamp?: string;
}

export type EvictionResult = 'evicted' | 'blocked' | 'gone';

/**
 * The annotation `cordon` sets beside `spec.unschedulable` and `uncordon` removes: it marks a
 * node the rolling update cordoned, as opposed to one an admin cordoned before the roll.
 */
export const ROLL_CORDON_ANNOTATION = 'kopsless.io/cordoned-by';
/** Its value: the rolling update is the only caller of `cordon`. */
const ROLL_CORDON_VALUE = 'rolling-update';

/** An Event the lifecycle writes on an object, shown by `kubectl describe` and `kubectl get events`. */
export interface KubeEvent {
  /** The object; without uid the port reads it (a node's uid in events is its name, as the kubelet writes it). */
  regarding: { kind: 'Node' | 'Pod' | 'DaemonSet'; namespace?: string; name: string; uid?: string };
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** What was done (`Cordon`, `Evict`, ...), events.k8s.io's `action`. */
  action?: string;
}

/** The component that reports the lifecycle's events (`From` in `kubectl describe`). */
export const EVENT_SOURCE = 'kopsless';

/** Label and field selectors of a pod list, as `kubectl get pods -l ... --field-selector ...`. */
export interface PodSelectors {
  fieldSelector?: string;
  labelSelector?: string;
}

/**
 * Folds one page of a list into what the caller keeps. The page is the caller's only while the
 * call runs: keep counts or the few fields needed, never the page, so a list of any length is
 * held one page at a time.
 */
export type PageStep<T, A> = (acc: A, page: T[]) => A;

export interface KubePort {
  listNodes(): Promise<KubeNode[]>;
  listPods(options?: PodSelectors): Promise<KubePod[]>;
  /**
   * Nodes page by page (`limit` + `continue`), each folded into `initial()`'s accumulator. When
   * the API server has compacted the continue token away (410 Gone) the list starts over from a
   * fresh accumulator, so the result always describes one consistent pass.
   */
  foldNodes<A>(initial: () => A, step: PageStep<KubeNode, A>): Promise<A>;
  /** Pods page by page, as foldNodes. */
  foldPods<A>(selectors: PodSelectors, initial: () => A, step: PageStep<KubePod, A>): Promise<A>;
  /**
   * Every namespace's pods as Table rows (server-side printing without the objects), page by
   * page as foldNodes: a few cells a pod where the pod itself is kilobytes.
   */
  foldPodRows<A>(
    selectors: PodSelectors,
    initial: () => A,
    step: PageStep<KubePodRow, A>,
  ): Promise<A>;
  /**
   * The pods holding a slot on each node, counted where the API is near (the cluster's API
   * function counts inside the VPC and answers with per-node numbers, not pods). A port without
   * it is counted by countPodSlots from its lists.
   */
  podSlotCounts?(): Promise<PodSlotCounts>;
  /** Marks the node unschedulable and as cordoned by the rolling update (ROLL_CORDON_ANNOTATION). */
  cordon(node: string): Promise<void>;
  /** Makes the node schedulable again and removes ROLL_CORDON_ANNOTATION. */
  uncordon(node: string): Promise<void>;
  /** Eviction API: `blocked` when a PodDisruptionBudget refuses it (HTTP 429). */
  evict(namespace: string, name: string): Promise<EvictionResult>;
  getDaemonSetEnv(
    namespace: string,
    name: string,
    container: string,
  ): Promise<Record<string, string> | undefined>;
  /** Sets env vars on one container of a DaemonSet (strategic merge: other vars stay). */
  setDaemonSetEnv(
    namespace: string,
    name: string,
    container: string,
    env: Record<string, string>,
  ): Promise<void>;
  /**
   * Writes a core/v1 Event. Best effort, as client-go's event recorder: an event that cannot be
   * written is dropped, never the reason a stage fails.
   */
  recordEvent(event: KubeEvent): Promise<void>;
}

export function instanceIdFromProviderId(providerId: string): string {
  return providerId.split('/').pop() ?? '';
}

export function toNode(n: V1Node): KubeNode {
  const labels = n.metadata?.labels ?? {};
  const providerId = n.spec?.providerID ?? '';
  return {
    name: n.metadata?.name ?? '',
    providerId,
    instanceId: instanceIdFromProviderId(providerId),
    ...(labels['kops.k8s.io/instancegroup']
      ? { instanceGroup: labels['kops.k8s.io/instancegroup'] }
      : {}),
    role: 'node-role.kubernetes.io/control-plane' in labels ? 'control-plane' : 'node',
    ready: (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    unschedulable: n.spec?.unschedulable === true,
    ...(n.metadata?.annotations?.[ROLL_CORDON_ANNOTATION] === ROLL_CORDON_VALUE
      ? { cordonedByRoll: true }
      : {}),
    allocatablePods: Number(n.status?.allocatable?.pods ?? 0),
    ...(n.status?.nodeInfo?.kubeletVersion
      ? { kubeletVersion: n.status.nodeInfo.kubeletVersion }
      : {}),
  };
}

export function toPod(p: V1Pod): KubePod {
  const owner = p.metadata?.ownerReferences?.[0]?.kind;
  const mirror = p.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined;
  const scheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
  return {
    namespace: p.metadata?.namespace ?? 'default',
    name: p.metadata?.name ?? '',
    ...(p.metadata?.uid ? { uid: p.metadata.uid } : {}),
    ...(p.spec?.nodeName ? { nodeName: p.spec.nodeName } : {}),
    phase: p.status?.phase ?? 'Unknown',
    ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    labels: p.metadata?.labels ?? {},
    ...(owner ? { ownerKind: owner } : {}),
    drainSkips: owner === 'DaemonSet' || mirror,
    ...(scheduled?.status === 'False' && scheduled.message
      ? { unschedulableMessage: scheduled.message }
      : {}),
    ...(p.spec?.priorityClassName ? { priorityClassName: p.spec.priorityClassName } : {}),
    notReadyContainers: (p.status?.containerStatuses ?? [])
      .filter((c) => !c.ready)
      .map((c) => c.name),
    ...(p.metadata?.deletionTimestamp
      ? { deletionTimestamp: new Date(p.metadata.deletionTimestamp).toISOString() }
      : {}),
  };
}

/** API errors a retry can fix (server busy or down, 5xx, throttled) become TransientKubeError; any other HTTP refusal KubernetesApiError. */
/** Whether a 429 from the eviction API is a PodDisruptionBudget's refusal (not throttling). */
function refusedByBudget(error: ApiException<unknown>): boolean {
  const body = typeof error.body === 'string' ? error.body : JSON.stringify(error.body ?? '');
  return /disruption ?budget/i.test(body);
}

function rethrow(error: unknown, what: string): never {
  throw classifyKubeError(error, what);
}

/** Items per list request, as kubectl asks (`--chunk-size`): a big cluster's pods are many pages. */
export const DEFAULT_PAGE_SIZE = 500;

export interface ListPage<T> {
  items: T[];
  metadata?: { _continue?: string };
}

/** Passes over a list that a 410 Gone may restart before the fold gives up with the error. */
const MAX_LIST_PASSES = 3;

/**
 * Folds a list page by page (`limit` + `continue`), converting each item as its page arrives.
 * A continue token the API server has compacted away answers 410 Gone; client-go's pager then
 * lists everything in one unpaged request, which would hold the whole list at once: here the
 * paged pass starts over from a fresh accumulator instead.
 */
export async function foldPages<R, T, A>(
  page: (request: { limit?: number; _continue?: string }) => Promise<ListPage<R>>,
  pageSize: number,
  convert: (item: R) => T,
  initial: () => A,
  step: PageStep<T, A>,
): Promise<A> {
  for (let pass = 1; ; pass++) {
    let acc = initial();
    let token: string | undefined;
    try {
      do {
        const out = await page({ limit: pageSize, ...(token ? { _continue: token } : {}) });
        acc = step(acc, out.items.map(convert));
        token = out.metadata?._continue || undefined;
      } while (token);
      return acc;
    } catch (error) {
      if (token && error instanceof ApiException && error.code === 410 && pass < MAX_LIST_PASSES)
        continue;
      throw error;
    }
  }
}

/**
 * Every item of a list, page by page, for the callers that need the items themselves. A 410
 * Gone starts the list over whole in one request, as client-go's pager does: these callers
 * hold every item anyway.
 */
export async function listAll<R, T>(
  page: (request: { limit?: number; _continue?: string }) => Promise<ListPage<R>>,
  pageSize: number,
  convert: (item: R) => T,
): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    let out: ListPage<R>;
    try {
      out = await page({ limit: pageSize, ...(token ? { _continue: token } : {}) });
    } catch (error) {
      if (token && error instanceof ApiException && error.code === 410)
        return (await page({})).items.map(convert);
      throw error;
    }
    for (const item of out.items) items.push(convert(item));
    token = out.metadata?._continue || undefined;
  } while (token);
  return items;
}

/** Per node, the pods that hold one of its slots; and the pods Pending because no node had a slot left. */
export interface PodSlotCounts {
  byNode: Map<string, number>;
  pendingTooManyPods: number;
}

/** Pods bound to a node and not finished: each holds one of the node's slots. */
export const SLOT_HOLDING_PODS = 'spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed';
/** Pods no node has taken yet: the scheduler's reason is in their PodScheduled condition. */
export const UNSCHEDULED_PODS = 'spec.nodeName=,status.phase=Pending';

/**
 * Counts the pods that hold a pod slot, node by node, from Table rows of the bound,
 * non-terminated pods (the Node column is all a count needs), and the pods Pending with the
 * scheduler's "Too many pods" from the unscheduled pods, which are few and read whole because
 * the message is only in the object. Both lists go page by page: the counts grow with the
 * nodes, never with the pods.
 */
export async function countPodSlots(
  kube: Pick<KubePort, 'foldPods' | 'foldPodRows' | 'podSlotCounts'>,
): Promise<PodSlotCounts> {
  if (kube.podSlotCounts) return kube.podSlotCounts();
  const [byNode, pendingTooManyPods] = await Promise.all([
    kube.foldPodRows(
      { fieldSelector: SLOT_HOLDING_PODS },
      () => new Map<string, number>(),
      (acc, rows) => {
        for (const row of rows)
          if (row.nodeName) acc.set(row.nodeName, (acc.get(row.nodeName) ?? 0) + 1);
        return acc;
      },
    ),
    kube.foldPods(
      { fieldSelector: UNSCHEDULED_PODS },
      () => 0,
      (n, pods) =>
        n +
        pods.filter(
          (pod) =>
            !pod.nodeName &&
            pod.phase === 'Pending' &&
            pod.unschedulableMessage?.includes('Too many pods'),
        ).length,
    ),
  ]);
  return { byNode, pendingTooManyPods };
}

/**
 * A KubePort over a KubeConfig. A kubeconfig from the state store is built by storedKubeConfig
 * (stored-kubeconfig.ts), which refuses commands, files and foreign servers.
 */
export function kubePort(config: KubeConfig, options: { pageSize?: number } = {}): KubePort {
  const core = config.makeApiClient(CoreV1Api);
  const apps = config.makeApiClient(AppsV1Api);
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  return {
    async listNodes() {
      try {
        return await listAll((page) => core.listNode(page), pageSize, toNode);
      } catch (error) {
        return rethrow(error, 'list nodes');
      }
    },
    async listPods(selectors = {}) {
      try {
        return await listAll(
          (page) => core.listPodForAllNamespaces({ ...selectors, ...page }),
          pageSize,
          toPod,
        );
      } catch (error) {
        return rethrow(error, 'list pods');
      }
    },
    async foldNodes(initial, step) {
      try {
        return await foldPages((page) => core.listNode(page), pageSize, toNode, initial, step);
      } catch (error) {
        return rethrow(error, 'list nodes');
      }
    },
    async foldPods(selectors, initial, step) {
      try {
        return await foldPages(
          (page) => core.listPodForAllNamespaces({ ...selectors, ...page }),
          pageSize,
          toPod,
          initial,
          step,
        );
      } catch (error) {
        return rethrow(error, 'list pods');
      }
    },
    async foldPodRows(selectors, initial, step) {
      try {
        return await foldPages(
          (page) => podTablePage(config, selectors, page),
          pageSize,
          (row) => row,
          initial,
          step,
        );
      } catch (error) {
        return rethrow(error, 'list pod rows');
      }
    },
    async cordon(node) {
      try {
        await core.patchNode(
          {
            name: node,
            body: {
              metadata: { annotations: { [ROLL_CORDON_ANNOTATION]: ROLL_CORDON_VALUE } },
              spec: { unschedulable: true },
            },
          },
          setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
        );
      } catch (error) {
        rethrow(error, `cordon ${node}`);
      }
    },
    async uncordon(node) {
      try {
        await core.patchNode(
          {
            name: node,
            body: {
              metadata: { annotations: { [ROLL_CORDON_ANNOTATION]: null } },
              spec: { unschedulable: null },
            },
          },
          setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
        );
      } catch (error) {
        rethrow(error, `uncordon ${node}`);
      }
    },
    async evict(namespace, name) {
      try {
        await core.createNamespacedPodEviction({
          name,
          namespace,
          body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
        });
        return 'evicted';
      } catch (error) {
        // 429 is also the API server's own throttling: only a disruption budget's refusal is a block.
        if (error instanceof ApiException && error.code === 429 && refusedByBudget(error))
          return 'blocked';
        if (error instanceof ApiException && error.code === 404) return 'gone';
        return rethrow(error, `evict ${namespace}/${name}`);
      }
    },
    async getDaemonSetEnv(namespace, name, container) {
      let ds: V1DaemonSet;
      try {
        ds = await apps.readNamespacedDaemonSet({ name, namespace });
      } catch (error) {
        if (error instanceof ApiException && error.code === 404) return undefined;
        return rethrow(error, `read daemonset ${namespace}/${name}`);
      }
      const c = ds.spec?.template.spec?.containers.find((x) => x.name === container);
      return Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value ?? '']));
    },
    async setDaemonSetEnv(namespace, name, container, env) {
      const body = {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: container,
                  env: Object.entries(env).map(([n, value]) => ({ name: n, value })),
                },
              ],
            },
          },
        },
      };
      try {
        await apps.patchNamespacedDaemonSet(
          { name, namespace, body },
          setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
        );
      } catch (error) {
        rethrow(error, `patch daemonset ${namespace}/${name}`);
      }
    },
    async recordEvent(event) {
      const { kind, name } = event.regarding;
      const namespace = event.regarding.namespace ?? '';
      try {
        const uid =
          event.regarding.uid ??
          (kind === 'Node'
            ? name
            : kind === 'Pod'
              ? (await core.readNamespacedPod({ name, namespace })).metadata?.uid
              : (await apps.readNamespacedDaemonSet({ name, namespace })).metadata?.uid);
        const at = clockNow();
        await core.createNamespacedEvent({
          // Events about cluster-scoped objects (nodes) live in `default`, as the kubelet's do.
          namespace: namespace || 'default',
          body: {
            metadata: { generateName: `${name}.` },
            involvedObject: {
              kind,
              name,
              ...(namespace ? { namespace } : {}),
              ...(uid ? { uid } : {}),
              apiVersion: kind === 'DaemonSet' ? 'apps/v1' : 'v1',
            },
            reason: event.reason,
            message: event.message,
            type: event.type,
            ...(event.action ? { action: event.action } : {}),
            source: { component: EVENT_SOURCE },
            reportingComponent: EVENT_SOURCE,
            reportingInstance: EVENT_SOURCE,
            firstTimestamp: at,
            lastTimestamp: at,
            count: 1,
          },
        });
      } catch {
        // Dropped, as the recorder drops events the API server refuses (see the interface).
      }
    },
  };
}
