import pLimit from 'p-limit';
import { namesWithin } from '../causes.js';
import { DrainTimeoutError } from '../errors.js';
import type { EvictionResult, KubeNode, KubePod, KubePort } from '../kube/port.js';

/**
 * One pass of a drain, as the rolling update's Drain state runs it: cordon the nodes, evict
 * their pods through the eviction API (PodDisruptionBudgets honoured) several at a time, and
 * stop starting evictions once the Lambda invocation's time runs short. What is left is counted
 * and the state machine calls again after a Wait, so a drain of any size spans as many
 * invocations as it needs and none is killed at its Timeout.
 */

/** Evictions in flight at once (kubectl drain evicts every pod at once; this keeps the API server's load bounded). */
export const DRAIN_CONCURRENCY = 16;

/** Pod names a drain keeps for its error message; the rest are counted. */
const NAMES_KEPT = 50;

/** The share of an invocation's time a pass may spend starting evictions. */
export const DRAIN_SHARE_OF_BUDGET = 0.35;

/**
 * How long before the invocation's end a pass stops starting evictions: the ones in flight
 * finish, the pods left are counted and the answer returned. A pass spends at most
 * DRAIN_SHARE_OF_BUDGET of the time it had at its start, so a slow API server (or a loaded
 * host) makes more passes, never an invocation near its Timeout; at least 2 s is kept. With no
 * budget (a run outside Lambda), nothing is kept back.
 */
export function drainReserveMs(budgetMs: number): number {
  if (!Number.isFinite(budgetMs)) return 0;
  return Math.max(2_000, Math.round(budgetMs * (1 - DRAIN_SHARE_OF_BUDGET)));
}

/** What one pass reports: counts only, so the state that keeps it stays small whatever the pods. */
export interface DrainPass {
  drained: boolean;
  /** Pods still on the nodes (DaemonSet and mirror pods aside). */
  remaining: number;
  /** Pods whose eviction a PodDisruptionBudget refused in this pass. */
  blocked: number;
  /** Pods evicted in this pass. */
  evicted: number;
  /** True when the pass stopped starting evictions because the invocation's time ran short. */
  outOfTime: boolean;
  /** Seconds to wait before the next pass (see drainWaitSeconds). */
  waitSeconds: number;
}

export interface DrainOptions {
  /** The drain's deadline: past it, with pods left, the nodes are uncordoned and the drain fails. */
  deadline: string;
  now: Date;
  /** Milliseconds left in this invocation (the Lambda context's getRemainingTimeInMillis). */
  remainingTimeMs?: () => number;
  concurrency?: number;
  /**
   * Called once before the pass first changes anything (a cordon, an eviction), never when it
   * only counts: a roll checks there that it still holds the cluster, so a pass that finds only
   * terminating pods costs no read of the lock.
   */
  beforeChange?: () => Promise<void>;
}

/** Pods a drain must move: not finished, not a DaemonSet's, not a mirror pod. */
function toEvict(pod: KubePod): boolean {
  return !pod.drainSkips && pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

async function podsOf(kube: KubePort, node: string): Promise<KubePod[]> {
  return (await kube.listPods({ fieldSelector: `spec.nodeName=${node}` })).filter(toEvict);
}

/** Pods left on `nodes`, counted page by page, with the first names kept for a message and when the terminating ones are gone. */
async function podsLeft(kube: KubePort, nodes: KubeNode[]): Promise<PodsLeft> {
  const left: PodsLeft = { count: 0, names: [], notTerminating: 0 };
  for (const node of nodes) {
    const found = await kube.foldPods(
      { fieldSelector: `spec.nodeName=${node.name}` },
      (): PodsLeft => ({ count: 0, names: [], notTerminating: 0 }),
      (acc, page) => {
        for (const pod of page.filter(toEvict)) {
          acc.count += 1;
          if (acc.names.length < NAMES_KEPT) acc.names.push(`${pod.namespace}/${pod.name}`);
          if (!pod.deletionTimestamp) acc.notTerminating += 1;
          else if (!acc.goneBy || pod.deletionTimestamp > acc.goneBy)
            acc.goneBy = pod.deletionTimestamp;
        }
        return acc;
      },
    );
    left.count += found.count;
    left.notTerminating += found.notTerminating;
    if (found.goneBy && (!left.goneBy || found.goneBy > left.goneBy)) left.goneBy = found.goneBy;
    left.names.push(...found.names.slice(0, NAMES_KEPT - left.names.length));
  }
  return left;
}

export interface PodsLeft {
  count: number;
  names: string[];
  /** Pods left that are not terminating (not evicted yet, or held by a disruption budget). */
  notTerminating: number;
  /** The latest deletion deadline of the terminating ones (ISO). */
  goneBy?: string;
}

/** Seconds between drain passes while some pod still waits for its eviction (the state machine's poll). */
export const DRAIN_POLL_SECONDS = 10;
/** The longest wait for terminating pods before looking again (a pod may set a long grace period). */
export const MAX_DRAIN_WAIT_SECONDS = 60;

/**
 * How long the state machine waits before the next pass: while a pod still waits for its
 * eviction, the poll interval; when every pod left is terminating, until the last one's deletion
 * deadline (the end of its grace period, when the kubelet has killed it), within
 * [DRAIN_POLL_SECONDS, MAX_DRAIN_WAIT_SECONDS]. Looking sooner would only find them still there.
 */
export function drainWaitSeconds(left: PodsLeft, now: Date): number {
  if (left.count === 0 || left.notTerminating > 0 || !left.goneBy) return DRAIN_POLL_SECONDS;
  const seconds = Math.ceil((new Date(left.goneBy).getTime() - now.getTime()) / 1000);
  return Math.min(MAX_DRAIN_WAIT_SECONDS, Math.max(DRAIN_POLL_SECONDS, seconds));
}

async function cordonNode(kube: KubePort, node: KubeNode, pods: number): Promise<void> {
  await kube.cordon(node.name);
  await kube.recordEvent({
    regarding: { kind: 'Node', name: node.name },
    type: 'Normal',
    reason: 'Drain',
    action: 'Cordon',
    message: `Cordoned and draining for rolling-update (instance ${node.instanceId}${node.instanceGroup ? `, instance group ${node.instanceGroup}` : ''}): ${pods} pod(s) to evict`,
  });
}

async function evictPod(
  kube: KubePort,
  node: KubeNode,
  pod: KubePod,
  firstPass: boolean,
): Promise<EvictionResult> {
  const result = await kube.evict(pod.namespace, pod.name);
  // A pod a disruption budget holds is retried every pass: its event is written on the first only.
  if (result === 'evicted' || (result === 'blocked' && firstPass)) {
    await kube.recordEvent({
      regarding: {
        kind: 'Pod',
        namespace: pod.namespace,
        name: pod.name,
        ...(pod.uid ? { uid: pod.uid } : {}),
      },
      type: result === 'evicted' ? 'Normal' : 'Warning',
      reason: result === 'evicted' ? 'Evicted' : 'EvictionBlocked',
      action: 'Evict',
      message:
        result === 'evicted'
          ? `Evicted from node ${node.name} for rolling-update`
          : `Cannot evict pod as it would violate the pod's disruption budget (draining node ${node.name})`,
    });
  }
  return result;
}

/**
 * One pass over `nodes`: cordon those not cordoned yet, evict their pods (at most
 * `concurrency` at once) until the invocation's reserve is reached, then count what is left.
 * Past `deadline` with pods left, the nodes the roll cordoned are uncordoned (the cluster as it
 * was, nothing terminated) and DrainTimeoutError names the first pods and counts the rest.
 */
export async function drainPass(
  kube: KubePort,
  nodes: KubeNode[],
  options: DrainOptions,
): Promise<DrainPass> {
  const remainingTimeMs = options.remainingTimeMs ?? (() => Number.POSITIVE_INFINITY);
  const reserve = drainReserveMs(remainingTimeMs());
  const outOfTime = () => remainingTimeMs() <= reserve;
  const limit = pLimit(options.concurrency ?? DRAIN_CONCURRENCY);
  const blocked: string[] = [];
  let blockedCount = 0;
  let evicted = 0;
  let stopped = false;
  // The nodes this roll cordoned, in an earlier pass (their annotation says so) or in this one.
  const cordonedByRoll = new Set(nodes.filter((n) => n.cordonedByRoll).map((n) => n.name));
  let allowed: Promise<void> | undefined;
  const mayChange = () => (allowed ??= options.beforeChange?.() ?? Promise.resolve());
  const work: Array<Promise<void>> = [];
  for (const node of nodes) {
    if (outOfTime()) {
      stopped = true;
      break;
    }
    const firstPass = !node.unschedulable;
    // A pod already terminating was evicted by an earlier pass: asking again changes nothing.
    const pods = (await podsOf(kube, node.name)).filter((p) => !p.deletionTimestamp);
    if (firstPass || pods.length > 0) await mayChange();
    if (firstPass) {
      await cordonNode(kube, node, pods.length);
      cordonedByRoll.add(node.name);
    }
    for (const pod of pods) {
      work.push(
        limit(async () => {
          if (outOfTime()) {
            stopped = true;
            return;
          }
          const result = await evictPod(kube, node, pod, firstPass);
          if (result === 'evicted') evicted += 1;
          if (result === 'blocked') {
            blockedCount += 1;
            if (blocked.length < NAMES_KEPT) blocked.push(`${pod.namespace}/${pod.name}`);
          }
        }),
      );
    }
  }
  await Promise.all(work);
  const left = await podsLeft(kube, nodes);
  const pass: DrainPass = {
    drained: left.count === 0,
    remaining: left.count,
    blocked: blockedCount,
    evicted,
    outOfTime: stopped,
    waitSeconds: drainWaitSeconds(left, options.now),
  };
  if (pass.drained || options.now <= new Date(options.deadline)) return pass;
  // Leave the cluster as it was: the nodes the roll cordoned take pods again, nothing was
  // terminated; a node an admin had cordoned before the roll stays cordoned, as kOps leaves it.
  // Uncordoning is a change too: a roll that no longer holds the cluster leaves the nodes to
  // the one that does.
  await mayChange();
  for (const node of nodes) if (cordonedByRoll.has(node.name)) await kube.uncordon(node.name);
  const why =
    blockedCount > 0
      ? `Cannot evict pod as it would violate the pod's disruption budget: ${namesWithin(blocked, { total: blockedCount })}`
      : `pods still running: ${namesWithin(left.names, { total: left.count })}`;
  throw new DrainTimeoutError(
    `error draining node(s) ${namesWithin(
      nodes.map((n) => `"${n.name}"`),
      { maxChars: 1_000 },
    )}: drain did not complete before the deadline ${options.deadline}: ${why}`,
  );
}
