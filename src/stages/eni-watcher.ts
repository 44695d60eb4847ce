import type { StackApi } from '../aws/cloudformation.js';
import { type Ec2Api, lookupInstanceTypes } from '../aws/ec2.js';
import { now as clockNow } from '../clock.js';
import { StateConflictError } from '../errors.js';
import { countPodSlots, type KubePort } from '../kube/port.js';
import { checkManifest } from '../manifest/check.js';
import type { CompletedManifest } from '../manifest/completed.js';
import type { EnvVar } from '../manifest/types.js';
import {
  type Decision,
  type WatcherState as DecisionState,
  decide,
  type GroupObservation,
  type WatcherSettings,
} from '../planning/eni-decision.js';
import { prefixDelegationEnabled } from '../planning/max-pods.js';
import { groupInstanceTypes } from '../planning/mixed-instances.js';
import { stackName } from '../planning/names.js';
import { isOwnedBy } from '../planning/ownership.js';
import { subnetOutputKey } from '../planning/stack-template.js';
import type { ClusterStore } from '../state/cluster-store.js';
import { storeKey } from '../state/layout.js';
import type { ObjectStore } from '../state/object-store.js';

// The Lambda entry reads the event handling from here, beside the run it drives.
export {
  handleWatcherEvent,
  type WatcherEventDeps,
  type WatcherEventOutcome,
} from './eni-watcher-events.js';

/**
 * The ENI capacity watcher: observes a cluster's pod slots, decides (planning/eni-decision.ts),
 * and when it decides to act, switches the VPC CNI to prefix delegation (aws-node env), writes
 * that and the higher kubelet maxPods into the spec (so a later update keeps them) and asks for
 * an update + rolling update of the groups concerned. Every run that observes leaves its
 * decision as JSON in the state store.
 *
 * Every EC2 state change in the account can wake it (a roll of N instances makes about 2N), so
 * a run is cheap when it has nothing to do: events reach it in SQS batches reduced to their
 * clusters (handleWatcherEvent), a locked cluster costs one S3 GET, an EC2-event run right after
 * an observation is skipped, pods and nodes are folded page by page into per-node counts, and
 * only observations the schedule's interval apart count towards acting.
 */

export const PREFIX_DELEGATION_ENV: Record<string, string> = {
  ENABLE_PREFIX_DELEGATION: 'true',
  WARM_PREFIX_TARGET: '1',
};
/** Marks a maxPods the watcher wrote, so it is not mistaken for one the user set. */
export const MAX_PODS_SET_BY = 'kopsless.io/max-pods-set-by';

export interface WatcherDeps {
  store: ClusterStore;
  objects: ObjectStore;
  stacks: Pick<StackApi, 'describe'>;
  ec2: Pick<Ec2Api, 'describeInstanceTypes' | 'subnetUsage'>;
  kube: (cluster: string) => Promise<KubePort | undefined>;
  settings: WatcherSettings;
}

export interface ExecutionRequest {
  stateMachine: 'rolling-update';
  /** Deterministic, so a retried watcher run does not start two executions. */
  name: string;
  input: {
    cluster: string;
    instanceGroups: string[];
    force: boolean;
    cloudOnly: boolean;
    update: boolean;
  };
}

export interface WatcherResult {
  decision: Decision;
  dryRun: boolean;
  /** False when the run stopped before looking at the cluster (locked, debounced, not amazonvpc, no kubeconfig). */
  observed: boolean;
  start?: ExecutionRequest;
}

/** The field selector kubectl describe node uses for the pods a node carries. */
export const NON_TERMINATED_PODS = 'status.phase!=Succeeded,status.phase!=Failed';

const stateKey = storeKey.eniWatcherState;
const lastKey = storeKey.eniWatcherLastDecision;
const decisionKey = storeKey.eniWatcherDecision;

/** What the decision needs of a node, and nothing more. */
interface NodeSlots {
  name: string;
  maxPods: number;
  schedulable: boolean;
}

/**
 * The cluster's node-group nodes, read page by page and grouped by instance group; control-plane
 * nodes and nodes of no watched group are dropped as their page arrives.
 */
function nodesByGroup(kube: KubePort, groups: Set<string>): Promise<Map<string, NodeSlots[]>> {
  return kube.foldNodes(
    () => new Map<string, NodeSlots[]>(),
    (acc, nodes) => {
      for (const n of nodes) {
        if (n.role !== 'node' || !n.instanceGroup || !groups.has(n.instanceGroup)) continue;
        const list = acc.get(n.instanceGroup) ?? [];
        list.push({
          name: n.name,
          maxPods: n.allocatablePods,
          schedulable: n.ready && !n.unschedulable,
        });
        acc.set(n.instanceGroup, list);
      }
      return acc;
    },
  );
}

/**
 * What one run sees: per node group, slots used and free, pending pods, types, subnets. Nodes and
 * pods are listed in pages and folded into per-node figures as they arrive, so a run holds
 * memory in proportion to the nodes, never to the pods.
 */
export async function observe(
  cluster: string,
  manifest: CompletedManifest,
  kube: KubePort,
  deps: WatcherDeps,
) {
  const nodeGroups = manifest.instanceGroups.filter((ig) => ig.spec.role === 'Node');
  const [nodes, pods, awsNodeEnv, found] = await Promise.all([
    nodesByGroup(kube, new Set(nodeGroups.map((ig) => ig.metadata.name))),
    // Only pods that hold a slot, as Table rows: the API server leaves finished ones out.
    countPodSlots(kube),
    kube.getDaemonSetEnv('kube-system', 'aws-node', 'aws-node'),
    deps.stacks.describe(stackName(cluster)),
  ]);
  // Subnets are read from the cluster's own stack only, never from one that merely has its name.
  const stack = found && isOwnedBy(found.tags, cluster) ? found : undefined;
  const pendingTooMany = pods.pendingTooManyPods;
  const types = await lookupInstanceTypes(deps.ec2, nodeGroups.flatMap(groupInstanceTypes));
  const userKubelet = manifest.cluster.spec.kubelet?.maxPods;
  const subnetsOf = (ig: (typeof nodeGroups)[number]) =>
    ig.spec.subnets.map((s) => stack?.outputs[subnetOutputKey(s)]).filter((s): s is string => !!s);
  // Groups share subnets: each is read once per run.
  const subnets = await deps.ec2.subnetUsage([...new Set(nodeGroups.flatMap(subnetsOf))]);
  const groups: GroupObservation[] = [];
  for (const ig of nodeGroups) {
    const groupNodes = (nodes.get(ig.metadata.name) ?? []).map((n) => ({
      name: n.name,
      instanceType: ig.spec.machineType,
      usedPods: pods.byNode.get(n.name) ?? 0,
      maxPods: n.maxPods,
      schedulable: n.schedulable,
    }));
    // Pods wait for slots on whichever group is full: they count against every group with none left.
    const noRoom =
      groupNodes.length > 0 && groupNodes.every((n) => !n.schedulable || n.usedPods >= n.maxPods);
    const setByWatcher =
      ig.metadata.annotations &&
      (ig.metadata.annotations as Record<string, string>)[MAX_PODS_SET_BY] === 'eni-watcher';
    const userMaxPods = setByWatcher ? undefined : (ig.spec.kubelet?.maxPods ?? userKubelet);
    // A mixed-instances group may run any of its types: decisions hold for the smallest.
    const infos = groupInstanceTypes(ig).flatMap((t) => types.get(t) ?? []);
    groups.push({
      instanceGroup: ig.metadata.name,
      nodes: groupNodes.map(({ schedulable: _s, ...n }) => n),
      pendingTooManyPods: noRoom ? pendingTooMany : 0,
      instanceTypes: infos,
      subnets: subnetsOf(ig).flatMap((id) => subnets.get(id) ?? []),
      ...(userMaxPods !== undefined ? { userMaxPods } : {}),
    });
  }
  const prefixDelegationOn = prefixDelegationEnabled(
    Object.entries(awsNodeEnv ?? {}).map(([name, value]) => ({ name, value })),
  );
  return { groups, prefixDelegationOn, pendingTooMany };
}

function mergeEnv(env: EnvVar[] | undefined, wanted: Record<string, string>): EnvVar[] {
  const kept = (env ?? []).filter((e) => !(e.name in wanted));
  return [...kept, ...Object.entries(wanted).map(([name, value]) => ({ name, value }))];
}

/**
 * Acts on a decision under the cluster lock: prefix delegation in aws-node, then the same and the
 * new maxPods in the spec (as a user would with `kops edit`), so a later update keeps them. The
 * lock is taken before anything changes: a roll that started since the run read the lock makes
 * this fail with ClusterLockedError before aws-node is touched.
 */
async function act(
  cluster: string,
  decision: Decision,
  kube: KubePort,
  deps: WatcherDeps,
  owner: string,
): Promise<void> {
  const manifest = await deps.store.readManifest(cluster);
  const amazonvpc = manifest.cluster.spec.networking?.amazonvpc ?? {};
  manifest.cluster.spec.networking = {
    ...manifest.cluster.spec.networking,
    amazonvpc: { ...amazonvpc, env: mergeEnv(amazonvpc.env, PREFIX_DELEGATION_ENV) },
  };
  for (const r of decision.raise) {
    const ig = manifest.instanceGroups.find((g) => g.metadata.name === r.instanceGroup)!;
    ig.spec.kubelet = { ...(ig.spec.kubelet ?? {}), maxPods: r.to };
    ig.metadata.annotations = {
      ...((ig.metadata.annotations as Record<string, string>) ?? {}),
      [MAX_PODS_SET_BY]: 'eni-watcher',
    };
  }
  const check = checkManifest(
    [manifest.cluster, ...manifest.instanceGroups].map((d) => JSON.stringify(d)).join('\n---\n'),
  );
  if (!check.valid || !check.manifest || !check.completed)
    throw new Error(
      `the watcher's spec change does not validate: ${check.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
    );
  await deps.store.acquireLock(cluster, owner, 'eni-watcher', 60);
  try {
    await kube.setDaemonSetEnv('kube-system', 'aws-node', 'aws-node', PREFIX_DELEGATION_ENV);
    await kube.recordEvent({
      regarding: { kind: 'DaemonSet', namespace: 'kube-system', name: 'aws-node' },
      type: 'Normal',
      reason: 'PrefixDelegationEnabled',
      action: 'SetEnv',
      message: `ENI capacity watcher set ${Object.entries(PREFIX_DELEGATION_ENV)
        .map(([k, v]) => `${k}=${v}`)
        .join(
          ', ',
        )}; rolling ${decision.raise.map((r) => `${r.instanceGroup} (maxPods ${r.from} -> ${r.to})`).join(', ')}`,
    });
    await deps.store.writeSpecs(check.manifest, check.completed);
  } finally {
    await deps.store.releaseLock(cluster, owner);
  }
}

export interface WatchOptions {
  dryRun?: boolean;
  /** The run was asked for only by EC2 state-change events (not the schedule, not by hand): it may be debounced. */
  fromEvents?: boolean;
}

/** Tries of the state write before a run gives up to the concurrent runs that keep winning it. */
export const STATE_WRITE_ATTEMPTS = 3;

/** The stored state: the decision's, and when the cluster was last observed (for the debounce). */
type WatcherState = DecisionState & { lastObservedAt?: string };

interface StateVersion {
  state: WatcherState;
  /** The ETag the next write must name; undefined when there is no state yet (create-only write). */
  etag?: string;
}

async function readState(cluster: string, objects: ObjectStore): Promise<StateVersion> {
  const stored = await objects.get(stateKey(cluster));
  return stored
    ? { state: JSON.parse(stored.body) as WatcherState, etag: stored.etag }
    : { state: { consecutive: {} } };
}

/**
 * One run of the watcher for one cluster. A locked cluster is skipped before anything else is
 * read (one S3 GET): a roll changes the nodes anyway, and the roll's own EC2 events must not
 * each observe the whole cluster. Otherwise it observes once and decides against the state it
 * read; the new state is written only if nobody wrote it since (If-Match on its ETag, or
 * If-None-Match for the first), and on a conflict it re-reads and decides again on the same
 * observation, so two concurrent runs never both count or both act.
 */
export async function watchCluster(
  cluster: string,
  deps: WatcherDeps,
  options: WatchOptions = {},
): Promise<WatcherResult> {
  const now = clockNow();
  const dryRun = options.dryRun === true;
  const nothing = (reason: string): WatcherResult => ({
    decision: {
      cluster,
      at: now.toISOString(),
      action: 'none',
      reason,
      prefixDelegationOn: false,
      groups: [],
      raise: [],
      counted: false,
    },
    dryRun,
    observed: false,
  });
  const lock = await deps.store.readLock(cluster);
  if (lock && new Date(lock.expiresAt) > now)
    return nothing(
      `cluster is locked by ${lock.owner} (${lock.operation}) until ${lock.expiresAt}: not observed`,
    );
  let version = await readState(cluster, deps.objects);
  const debounce = deps.settings.eventDebounceSeconds ?? 0;
  const since = version.state.lastObservedAt
    ? (now.getTime() - new Date(version.state.lastObservedAt).getTime()) / 1000
    : Infinity;
  if (options.fromEvents && since >= 0 && since < debounce)
    return nothing(
      `observed ${Math.round(since)} s ago: EC2 events within ${debounce} s of an observation wait for the next batch or the schedule`,
    );
  const manifest = await deps.store.readCompletedManifest(cluster);
  if (!manifest.cluster.spec.networking?.amazonvpc)
    return nothing('networking is not amazonvpc: pod capacity is not bound to ENIs');
  const kube = await deps.kube(cluster);
  if (!kube)
    return nothing('the Kubernetes API is not reachable yet (no kubeconfig in the state store)');
  const observed = await observe(cluster, manifest, kube, deps);
  const decideOn = (state: WatcherState) => {
    const out = decide({
      cluster,
      now,
      groups: observed.groups,
      prefixDelegationOn: observed.prefixDelegationOn,
      state,
      settings: deps.settings,
    });
    return { decision: out.decision, state: { ...out.state, lastObservedAt: now.toISOString() } };
  };
  let { decision, state: next } = decideOn(version.state);
  let written: string | undefined;
  if (!dryRun) {
    for (let attempt = 1; ; attempt++) {
      try {
        written = (
          await deps.objects.put(
            stateKey(cluster),
            JSON.stringify(next, null, 2),
            version.etag ? { ifMatch: version.etag } : { ifNoneMatch: '*' },
          )
        ).etag;
        break;
      } catch (error) {
        if (!(error instanceof StateConflictError)) throw error;
        if (attempt >= STATE_WRITE_ATTEMPTS) {
          decision = {
            ...decision,
            action: 'none',
            raise: [],
            counted: false,
            reason: `the watcher state changed under this run ${attempt} times (concurrent runs): this observation is not counted and nothing is done`,
          };
          await deps.objects.put(
            lastKey(cluster),
            JSON.stringify({ ...decision, dryRun }, null, 2),
          );
          return { decision, dryRun, observed: true };
        }
        version = await readState(cluster, deps.objects);
        ({ decision, state: next } = decideOn(version.state));
      }
    }
  }
  const record = JSON.stringify({ ...decision, dryRun }, null, 2);
  // Every run replaces last-decision.json (the versioned bucket keeps the earlier ones); runs that
  // did more than watch also get a file of their own, so the history of actions stays easy to read.
  await deps.objects.put(lastKey(cluster), record);
  if (decision.action !== 'none') await deps.objects.put(decisionKey(cluster, decision.at), record);
  if (dryRun || decision.action !== 'enable-prefix-delegation')
    return { decision, dryRun, observed: true };
  const name = watcherExecutionName(cluster, decision.at);
  try {
    await act(cluster, decision, kube, deps, name);
  } catch (error) {
    // The state already says "acted" (winning its write is what let this run act): unless it is
    // put back, the cooldown would keep the next run from trying again. Only if nobody wrote since.
    const before = version.state;
    const undo: WatcherState = {
      consecutive: Object.fromEntries(decision.groups.map((g) => [g.instanceGroup, g.consecutive])),
      ...(before.lastActionAt ? { lastActionAt: before.lastActionAt } : {}),
      ...(next.lastCountedAt ? { lastCountedAt: next.lastCountedAt } : {}),
    };
    await deps.objects
      .put(stateKey(cluster), JSON.stringify(undo, null, 2), written ? { ifMatch: written } : {})
      .catch(() => undefined);
    throw error;
  }
  return {
    decision,
    dryRun,
    observed: true,
    start: {
      stateMachine: 'rolling-update',
      name,
      input: {
        cluster,
        instanceGroups: decision.raise.map((r) => r.instanceGroup),
        force: false,
        cloudOnly: false,
        update: true,
      },
    },
  };
}

/**
 * The name of the update + roll the watcher starts: `eni-<cluster>-<YYYYMMDDhhmmss>`, at most 80
 * characters of [A-Za-z0-9-] (StartExecution's rule). The cluster part is shortened, never the time:
 * a name reused within 90 days is ExecutionAlreadyExists, which a retry takes as "started already",
 * so with the time cut off a long-named cluster would get its first roll and never another.
 */
export function watcherExecutionName(cluster: string, decidedAt: string): string {
  const time = decidedAt.replace(/[^0-9]/g, '').slice(0, 14);
  return `eni-${cluster.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 80 - 'eni-'.length - 1 - time.length)}-${time}`;
}
