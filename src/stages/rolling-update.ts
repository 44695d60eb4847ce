import type { AutoScalingApi } from '../aws/autoscaling.js';
import type { StackApi } from '../aws/cloudformation.js';
import type { Ec2Api } from '../aws/ec2.js';
import type { LoadBalancingApi } from '../aws/elbv2.js';
import type { DnsApi } from '../aws/route53.js';
import { namesWithin } from '../causes.js';
import { now as clockNow, deadlineAfter } from '../clock.js';
import { DEFAULT_DNS_TIMEOUT_SECONDS } from '../config.js';
import {
  ClusterNotValidError,
  InvalidInputError,
  LockLostError,
  RollTooLargeError,
  WaitTimeoutError,
} from '../errors.js';
import type { KubePort } from '../kube/port.js';
import { isControlPlaneRole } from '../manifest/types.js';
import { type BootWait, bootWait, nextBootEstimate } from '../planning/boot-estimate.js';
import { childMayRollAnother } from '../planning/child-history.js';
import { CLUSTER_TAG, stackName } from '../planning/names.js';
import { requireOwned } from '../planning/ownership.js';
import {
  batchesOf,
  CHILD_POLL_SECONDS,
  childBatchLimit,
  forcedMembers,
  HISTORY_EVENT_LIMIT,
  nextRollStep,
  parentHistoryBound,
  planWaves,
  type RollOptions,
  type RollStep,
  rollStatus,
} from '../planning/rolling-update.js';
import { API_LOAD_BALANCER_OUTPUTS, hasApiLoadBalancer } from '../planning/stack-nlb.js';
import type { ClusterStore } from '../state/cluster-store.js';
import { type EtcdOf, etcdNotReady, removeOutgoingMembers } from './etcd-membership.js';
import type { GroupClaim, RollingUpdateInput } from './inputs.js';
import type { RollCache } from './roll-cache.js';
import { type DrainPass, drainPass } from './roll-drain.js';
import { observeGroups, rosterOf } from './roll-observe.js';
import { describingGroupsOnce, endsAtLook, type Following } from './roll-step-end.js';
import { validateCluster } from './validate-cluster.js';

export { RollCache } from './roll-cache.js';
export { observeGroups, rollingUpdateStatus, rosterOf } from './roll-observe.js';

/**
 * The rolling-update stage. Each action is one small step of the state machine; `next` works
 * out what to do from what AWS reports now, so a roll that stopped (a drain that timed out, a
 * validation that failed) continues where it was when run again.
 */

export interface RollingUpdateDeps {
  store: ClusterStore;
  autoscaling: AutoScalingApi;
  ec2: Pick<Ec2Api, 'describeInstances' | 'terminateInstances'>;
  stacks: Pick<StackApi, 'describe'>;
  dns: Pick<DnsApi, 'listRecords'>;
  kube: (cluster: string) => Promise<KubePort | undefined>;
  /** The cluster's etcd member API; without it control-plane instances are replaced as single members. */
  etcd?: EtcdOf;
  /** The API load balancer's target group, which a control-plane instance leaves before it is terminated. */
  loadBalancing?: LoadBalancingApi;
  drainTimeoutSeconds: number;
  validationTimeoutSeconds: number;
  replacementTimeoutSeconds: number;
  /** How long the control plane's DNS records may take (VerifyDns's setting; its default otherwise): it bounds the child's history. */
  dnsTimeoutSeconds?: number;
  /** A warm container's cache of the spec and the kubeconfig (see `RollCache`). */
  cache?: RollCache;
  /** Milliseconds left in this invocation (the Lambda context's): a drain pass returns before they run out. */
  remainingTimeMs?: () => number;
}

/** The Auto Scaling group a step acts on, refused unless it is tagged for the cluster. */
async function ownedGroup(
  name: string,
  cluster: string,
  deps: Pick<RollingUpdateDeps, 'autoscaling'>,
) {
  const [asg] = await deps.autoscaling.describeGroups([name]);
  if (asg) requireOwned(`Auto Scaling group ${name}`, asg.tags, cluster);
  return asg;
}

/** Of these instances, the ones tagged for the cluster: the only ones a roll may terminate. */
async function ownedInstances(
  ids: string[],
  cluster: string,
  deps: Pick<RollingUpdateDeps, 'ec2'>,
): Promise<string[]> {
  if (ids.length === 0) return [];
  const found = await deps.ec2.describeInstances([
    { Name: 'instance-id', Values: ids },
    { Name: `tag:${CLUSTER_TAG}`, Values: [cluster] },
  ]);
  return found.map((i) => i.InstanceId ?? '').filter((id) => ids.includes(id));
}

async function kubeOrFail(cluster: string, deps: RollingUpdateDeps): Promise<KubePort> {
  const kube = await deps.kube(cluster);
  if (!kube)
    throw new ClusterNotValidError(
      `cannot reach the Kubernetes API of ${cluster}: no kubeconfig in the state store (use --cloudonly to roll without Kubernetes)`,
    );
  return kube;
}

/**
 * One drain pass over the step's nodes (see roll-drain.ts): counts, never pod names, so the
 * state that keeps the answer stays small however many pods the nodes hold.
 */
async function drain(
  input: {
    cluster: string;
    step: RollStep;
    deadline: string;
    cloudOnly?: boolean;
    claim?: GroupClaim;
  },
  deps: RollingUpdateDeps,
): Promise<DrainPass> {
  const done = {
    drained: true,
    remaining: 0,
    blocked: 0,
    evicted: 0,
    outOfTime: false,
    waitSeconds: 0,
  };
  if (input.cloudOnly || input.step.kind !== 'replace') return done;
  const ids = input.step.instanceIds;
  const kube = await kubeOrFail(input.cluster, deps);
  const nodes = (await kube.listNodes()).filter((n) => ids.includes(n.instanceId));
  return drainPass(kube, nodes, {
    deadline: input.deadline,
    now: clockNow(),
    ...(deps.remainingTimeMs ? { remainingTimeMs: deps.remainingTimeMs } : {}),
    beforeChange: () => assertStepClaim(input, deps.store),
  });
}

async function terminate(
  input: { cluster: string; step: RollStep; bootEstimateSeconds?: number },
  deps: RollingUpdateDeps,
) {
  const now = clockNow();
  if (input.step.kind !== 'replace')
    return {
      deadline: deadlineAfter(now, deps.replacementTimeoutSeconds),
      terminated: [],
      boot: bootWait(now, input.bootEstimateSeconds, false, deps.replacementTimeoutSeconds),
    };
  const step = input.step;
  const asg = await ownedGroup(step.asgName, input.cluster, deps);
  const members = new Set(asg?.instances.map((i) => i.instanceId) ?? []);
  const inGroup = step.instanceIds.filter((id) => members.has(id));
  // Detached (surged) instances have their replacement already; they just go, if they are ours.
  const outside = await ownedInstances(
    step.instanceIds.filter((id) => !members.has(id)),
    input.cluster,
    deps,
  );
  // Out of etcd first: a terminated member that stays a member costs the quorum a vote. A single
  // member is not removed: its replacement takes its data volume over.
  const etcdMembers = step.controlPlane
    ? (await controlPlaneShape(input.cluster, deps)).members
    : 0;
  const kube = etcdMembers > 1 && deps.etcd ? await deps.kube(input.cluster) : undefined;
  if (kube && deps.etcd)
    await removeOutgoingMembers(input.cluster, step.instanceIds, { kube, etcd: deps.etcd });
  for (const id of inGroup) await deps.autoscaling.terminateInstance(id);
  await deps.ec2.terminateInstances(outside);
  return {
    deadline: deadlineAfter(now, deps.replacementTimeoutSeconds),
    terminated: step.instanceIds,
    // Only members terminated in the group launch replacements; a detached one had its own already.
    boot: bootWait(
      now,
      input.bootEstimateSeconds,
      inGroup.length > 0,
      deps.replacementTimeoutSeconds,
    ),
  };
}

/**
 * Takes a control-plane step's instances out of the API load balancer; the state machine then
 * waits out the target group's deregistration delay (`delaySeconds`), so that connections to them
 * end before they are terminated. Nothing to do (0) without a load balancer.
 */
async function deregister(input: { cluster: string; step: RollStep }, deps: RollingUpdateDeps) {
  if (input.step.kind !== 'replace' || !input.step.controlPlane || !deps.loadBalancing)
    return { delaySeconds: 0, deregistered: [] };
  if (!(await controlPlaneShape(input.cluster, deps)).loadBalancer)
    return { delaySeconds: 0, deregistered: [] };
  const targetGroup = await apiTargetGroup(input.cluster, deps);
  if (!targetGroup) return { delaySeconds: 0, deregistered: [] };
  await deps.loadBalancing.deregisterTargets(targetGroup, input.step.instanceIds);
  return {
    delaySeconds: await deps.loadBalancing.deregistrationDelaySeconds(targetGroup),
    deregistered: input.step.instanceIds,
  };
}

/** The API load balancer's target group, from the cluster's own stack. */
async function apiTargetGroup(
  cluster: string,
  deps: Pick<RollingUpdateDeps, 'stacks'>,
): Promise<string | undefined> {
  const stack = await deps.stacks.describe(stackName(cluster));
  if (stack) requireOwned(`CloudFormation stack ${stackName(cluster)}`, stack.tags, cluster);
  return stack?.outputs[API_LOAD_BALANCER_OUTPUTS.targetGroupArn];
}

/** What the spec says of the control plane: its etcd members (one per instance) and whether it is behind a load balancer. */
async function controlPlaneShape(
  cluster: string,
  deps: Pick<RollingUpdateDeps, 'store'>,
): Promise<{ members: number; loadBalancer: boolean }> {
  const manifest = await deps.store.readCompletedManifest(cluster);
  return {
    members: manifest.instanceGroups
      .filter((ig) => isControlPlaneRole(ig.spec.role))
      .reduce((n, ig) => n + ig.spec.minSize, 0),
    loadBalancer: hasApiLoadBalancer(manifest.cluster),
  };
}

/**
 * `behindLoadBalancer` for a control-plane step of a cluster with an API load balancer: the state
 * machine deregisters its instances before terminating them (and calls nothing for the others).
 */
function loadBalancerOf(step: RollStep, options: RollOptions): { behindLoadBalancer?: true } {
  return step.kind === 'replace' && step.controlPlane && options.apiLoadBalancer
    ? { behindLoadBalancer: true }
    : {};
}

async function surge(
  input: { cluster: string; step: RollStep; bootEstimateSeconds?: number },
  deps: RollingUpdateDeps,
) {
  const now = clockNow();
  if (input.step.kind !== 'surge')
    return {
      deadline: deadlineAfter(now, deps.replacementTimeoutSeconds),
      detached: [],
      boot: bootWait(now, input.bootEstimateSeconds, false, deps.replacementTimeoutSeconds),
    };
  const asg = await ownedGroup(input.step.asgName, input.cluster, deps);
  const members = new Set(asg?.instances.map((i) => i.instanceId) ?? []);
  // A retried surge finds its instances detached already.
  const toDetach = input.step.instanceIds.filter((id) => members.has(id));
  await deps.autoscaling.detachInstances(input.step.asgName, toDetach);
  // AWS launches the replacements by itself; moto does not until the desired capacity is set
  // again. Setting it to the value it has is a no-op on AWS, so the same call serves both.
  if (asg) await deps.autoscaling.setDesiredCapacity(input.step.asgName, asg.desiredCapacity);
  return {
    deadline: deadlineAfter(now, deps.replacementTimeoutSeconds),
    detached: input.step.instanceIds,
    // A retried surge that finds nothing left to detach still waits: its first attempt launched.
    boot: bootWait(
      now,
      input.bootEstimateSeconds,
      input.step.instanceIds.length > 0,
      deps.replacementTimeoutSeconds,
    ),
  };
}

async function awaitReplacements(
  input: {
    cluster: string;
    step: RollStep;
    deadline: string;
    cloudOnly?: boolean;
    boot?: BootWait;
    following?: Following;
  },
  lookDeps: RollingUpdateDeps,
) {
  const now = clockNow();
  // A child's look: every group described once, for the look, the validation and the next step.
  const roster = input.following?.options.roster;
  const deps = roster
    ? {
        ...lookDeps,
        autoscaling: describingGroupsOnce(
          lookDeps.autoscaling,
          roster.map((g) => g.asgName),
        ),
      }
    : lookDeps;
  const estimate = (ready: boolean) =>
    input.boot
      ? {
          bootEstimateSeconds: ready
            ? nextBootEstimate(input.boot, now, CHILD_POLL_SECONDS.replacements)
            : input.boot.estimateSeconds,
        }
      : {};
  if (input.step.kind === 'done')
    return {
      ready: true,
      validationDeadline: deadlineAfter(now, deps.validationTimeoutSeconds),
      ...estimate(true),
    };
  const asg = await ownedGroup(input.step.asgName, input.cluster, deps);
  const inService = asg?.instances.filter((i) => i.lifecycleState === 'InService') ?? [];
  const stillThere = (asg?.instances ?? []).filter(
    (i) => input.step.kind === 'replace' && input.step.instanceIds.includes(i.instanceId),
  );
  let notJoined: string[] = [];
  let etcdPending: string[] = [];
  if (!input.cloudOnly) {
    const kube = await kubeOrFail(input.cluster, deps);
    const readyNodes = new Set(
      (await kube.listNodes()).filter((n) => n.ready).map((n) => n.instanceId),
    );
    notJoined = inService.map((i) => i.instanceId).filter((id) => !readyNodes.has(id));
    if (
      input.step.kind === 'replace' &&
      input.step.controlPlane &&
      deps.etcd &&
      !notJoined.length
    ) {
      const expected = (await controlPlaneShape(input.cluster, deps)).members;
      if (expected > 1)
        etcdPending = await etcdNotReady(input.cluster, expected, { kube, etcd: deps.etcd });
    }
  }
  const ready =
    !!asg &&
    inService.length >= asg.desiredCapacity &&
    stillThere.length === 0 &&
    notJoined.length === 0 &&
    etcdPending.length === 0;
  if (!ready && now > new Date(input.deadline)) {
    throw new WaitTimeoutError(
      `replacements for ${input.step.asgName} not ready at the deadline ${input.deadline}: ${inService.length}/${asg?.desiredCapacity ?? 0} in service${notJoined.length ? `, not joined: ${namesWithin(notJoined)}` : ''}${etcdPending.length ? `, etcd: ${namesWithin(etcdPending)}` : ''}`,
    );
  }
  const look = {
    ready,
    inService: inService.length,
    desired: asg?.desiredCapacity ?? 0,
    notJoined,
    ...(etcdPending.length ? { etcdPending } : {}),
    validationDeadline: deadlineAfter(now, deps.validationTimeoutSeconds),
    ...estimate(ready),
  };
  if (!input.following) return look;
  // The answer replaces the child's `next`: while the step is not over, it is still this step.
  if (!ready || !endsAtLook(input.step)) return { ...look, step: input.step };
  const validation = await validate(
    {
      cluster: input.cluster,
      deadline: look.validationDeadline,
      ...(input.cloudOnly ? { cloudOnly: true } : {}),
    },
    deps,
  );
  if (!validation.valid)
    return {
      ...look,
      step: input.step,
      valid: false,
      failures: validation.failures,
      failureCount: validation.failureCount,
    };
  const following = input.following;
  return {
    ...look,
    valid: true,
    ...(await nextOfChild({ cluster: input.cluster, ...following }, now, deps)),
  };
}

/** Validation failures a poll's answer lists (the rest are counted). */
const FAILURES_KEPT = 10;

async function validate(
  input: { cluster: string; deadline: string; cloudOnly?: boolean; claim?: GroupClaim },
  deps: RollingUpdateDeps,
) {
  if (input.cloudOnly) return { valid: true, deadline: input.deadline, failures: [] };
  const now = clockNow();
  const result = await validateCluster(input.cluster, deps, { rolling: true });
  if (!result.valid && now > new Date(input.deadline)) {
    throw new ClusterNotValidError(
      `error validating cluster: cluster "${input.cluster}" did not validate within a duration of "${deps.validationTimeoutSeconds}s": ${namesWithin(
        result.failures.map((f) => f.message),
        { separator: '; ' },
      )}`,
    );
  }
  // The first failures and their count: a state keeps this answer, and a large cluster can
  // have thousands of pods not ready.
  return {
    valid: result.valid,
    deadline: input.deadline,
    failures: result.failures.slice(0, FAILURES_KEPT).map((f) => f.message),
    failureCount: result.failures.length,
  };
}

/**
 * A child checks that its parent still holds the lock and it still holds its group's claim (one
 * S3 GET): a roll that failed and released the lock, or a newer execution of the group, stops
 * this one here, before it touches another instance.
 */
async function assertClaim(
  cluster: string,
  instanceGroup: string,
  claim: GroupClaim,
  store: ClusterStore,
): Promise<void> {
  const lock = await store.readLock(cluster);
  if (!lock || lock.owner !== claim.owner)
    throw new LockLostError(cluster, claim.owner, lock?.owner);
  const holder = lock.claims?.[instanceGroup];
  if (holder !== claim.execution) {
    throw new LockLostError(
      cluster,
      claim.execution,
      holder
        ? `${holder}, which now claims instance group "${instanceGroup}"`
        : `${claim.owner}, under which nobody claims instance group "${instanceGroup}" now`,
    );
  }
}

/**
 * Before a step changes anything (surge, a drain pass's first cordon or eviction, deregister,
 * terminate): a child whose parent failed, was stopped, or lost the group's claim stops here.
 * Step Functions stops a failed Map's other children asynchronously and never cancels a Lambda
 * invocation already running, so checking only once per batch (at `next`) left a drain or
 * terminate to land after the lock was released. Working out the next step and looking at
 * replacements only read, so they do not check.
 */
async function assertStepClaim(
  input: { cluster: string; step: RollStep; claim?: GroupClaim },
  store: ClusterStore,
): Promise<void> {
  if (input.claim && input.step.kind !== 'done')
    await assertClaim(input.cluster, input.step.instanceGroup, input.claim, store);
}

/**
 * After a child's drain or terminate failed (a permanent error, or retries of a Lambda timeout
 * exhausted): the step's nodes that the roll cordoned and whose instances still run are
 * uncordoned, so the cluster is as it was before the step; a node an admin had cordoned before
 * the roll stays cordoned. Skipped when another execution now holds the lock or the group's
 * claim: those nodes are that execution's to drain.
 */
async function uncordonStep(
  input: { cluster: string; step: RollStep; cloudOnly?: boolean; claim?: GroupClaim },
  deps: RollingUpdateDeps,
): Promise<{ uncordoned: string[]; reregistered?: string[]; skipped?: string }> {
  const step = input.step;
  if (input.cloudOnly || step.kind !== 'replace') return { uncordoned: [] };
  if (input.claim) {
    const lock = await deps.store.readLock(input.cluster);
    const holder = lock?.claims?.[step.instanceGroup];
    if (lock && (lock.owner !== input.claim.owner || holder !== input.claim.execution))
      return {
        uncordoned: [],
        skipped: `execution ${holder ?? lock.owner} now holds instance group "${step.instanceGroup}"`,
      };
  }
  const running = new Set(
    (
      await deps.ec2.describeInstances([
        { Name: 'instance-id', Values: step.instanceIds },
        { Name: `tag:${CLUSTER_TAG}`, Values: [input.cluster] },
        { Name: 'instance-state-name', Values: ['pending', 'running'] },
      ])
    ).map((i) => i.InstanceId ?? ''),
  );
  // A control-plane instance the step took out of the API load balancer, still running, goes back
  // in: its Auto Scaling group would not register it again.
  const reregistered =
    step.controlPlane && deps.loadBalancing && running.size > 0
      ? await reregister(input.cluster, [...running], deps)
      : [];
  const kube = await kubeOrFail(input.cluster, deps);
  const nodes = (await kube.listNodes()).filter(
    (n) =>
      n.unschedulable &&
      n.cordonedByRoll === true &&
      step.instanceIds.includes(n.instanceId) &&
      running.has(n.instanceId),
  );
  for (const node of nodes) {
    await kube.uncordon(node.name);
    await kube.recordEvent({
      regarding: { kind: 'Node', name: node.name },
      type: 'Warning',
      reason: 'RollingUpdateFailed',
      action: 'Uncordon',
      message: `Uncordoned: the rolling-update of instance ${node.instanceId} failed before it was replaced`,
    });
  }
  return {
    uncordoned: nodes.map((n) => n.name),
    ...(reregistered.length ? { reregistered } : {}),
  };
}

async function reregister(
  cluster: string,
  instanceIds: string[],
  deps: RollingUpdateDeps,
): Promise<string[]> {
  if (!deps.loadBalancing || !(await controlPlaneShape(cluster, deps)).loadBalancer) return [];
  const targetGroup = await apiTargetGroup(cluster, deps);
  if (!targetGroup) return [];
  await deps.loadBalancing.registerTargets(targetGroup, instanceIds);
  return instanceIds;
}

/**
 * The next step of one instance group (a child execution rolls one group): only that group is
 * observed, and the control-plane groups when it is a node group (a node must never be ahead
 * of the control plane).
 */
async function nextStepOfGroup(
  cluster: string,
  instanceGroup: string,
  options: RollOptions,
  deps: RollingUpdateDeps,
): Promise<RollStep> {
  const roster =
    options.roster ?? rosterOf(await deps.store.readCompletedManifest(cluster), cluster);
  const entry = roster.find((g) => g.instanceGroup === instanceGroup);
  if (!entry)
    throw new InvalidInputError([
      {
        path: 'instanceGroup',
        message: `Not found: instance group "${instanceGroup}" is not in cluster "${cluster}"`,
      },
    ]);
  if (options.instanceGroups?.length && !options.instanceGroups.includes(instanceGroup))
    return { kind: 'done' };
  const only = [
    instanceGroup,
    ...(isControlPlaneRole(entry.role)
      ? []
      : roster.filter((g) => isControlPlaneRole(g.role)).map((g) => g.instanceGroup)),
  ];
  const groups = await observeGroups(cluster, deps, { roster, only });
  return nextRollStep(groups, { ...options, instanceGroups: [instanceGroup] });
}

/**
 * A child's next step: `continueAsNew` instead once it is past its batchLimit and its history
 * might not hold another step (see child-history.ts). No claim check here: working out the next
 * step changes nothing, and the step that acts on it (surge, the drain's first cordon or
 * eviction, terminate) checks the claim first.
 */
async function nextOfChild(
  input: {
    cluster: string;
    instanceGroup: string;
    options: RollOptions;
    history?: Following['history'];
  },
  now: Date,
  deps: RollingUpdateDeps,
): Promise<
  { continueAsNew: true } | { step: RollStep; drainDeadline: string; behindLoadBalancer?: true }
> {
  if (
    input.history &&
    !childMayRollAnother({
      ...input.history,
      now,
      timeouts: {
        ...deps,
        dnsTimeoutSeconds: deps.dnsTimeoutSeconds ?? DEFAULT_DNS_TIMEOUT_SECONDS,
      },
    })
  )
    return { continueAsNew: true };
  const step = await nextStepOfGroup(input.cluster, input.instanceGroup, input.options, deps);
  return {
    step,
    drainDeadline: deadlineAfter(now, deps.drainTimeoutSeconds),
    ...loadBalancerOf(step, input.options),
  };
}

export async function rollingUpdate(input: RollingUpdateInput, deps: RollingUpdateDeps) {
  if (deps.cache)
    deps = deps.cache.bind(deps, input.cluster, 'claim' in input ? input.claim?.owner : undefined);
  const now = clockNow();
  switch (input.action) {
    case 'plan': {
      const manifest = await deps.store.readCompletedManifest(input.cluster);
      const roster = rosterOf(manifest, input.cluster);
      const options: RollOptions = {
        ...(hasApiLoadBalancer(manifest.cluster) ? { apiLoadBalancer: true } : {}),
        ...(input.instanceGroups?.length ? { instanceGroups: input.instanceGroups } : {}),
        ...(input.cloudOnly ? { cloudOnly: true } : {}),
        roster,
      };
      const groups = await observeGroups(input.cluster, deps, { roster });
      // A roll that stopped right after a surge left a group short of instances: ask for them
      // again now, so the validation that opens the roll sees the replacements.
      for (const g of groups) {
        const inService = g.members.filter((m) => m.lifecycleState === 'InService').length;
        if (
          g.detached.length > 0 &&
          inService < g.desired &&
          (await ownedGroup(g.asgName, input.cluster, deps))
        )
          await deps.autoscaling.setDesiredCapacity(g.asgName, g.desired);
      }
      const wanted = options.instanceGroups ? new Set(options.instanceGroups) : undefined;
      const selected = groups.filter((g) => !wanted || wanted.has(g.instanceGroup));
      // --force: every instance that exists now, so replacements are not replaced again; a roll
      // resuming an interrupted one (its lock says since when) takes only those older than it.
      if (input.force)
        options.forceIds = forcedMembers(
          selected,
          (await deps.store.readLock(input.cluster))?.since,
        );
      const rows = rollStatus(selected, {}, options);
      const needing = new Set(rows.filter((r) => r.needUpdate > 0).map((r) => r.name));
      const waves = planWaves(
        roster
          .filter((g) => needing.has(g.instanceGroup))
          .map((g) => ({ instanceGroup: g.instanceGroup, role: g.role, zones: g.zones })),
        {
          parallelGroups: input.parallelGroups ?? 1,
          ...(input.allowSameZone ? { allowSameZone: true } : {}),
        },
      );
      const batchLimit = childBatchLimit({
        ...deps,
        dnsTimeoutSeconds: deps.dnsTimeoutSeconds ?? DEFAULT_DNS_TIMEOUT_SECONDS,
      });
      const byName = new Map(selected.map((g) => [g.instanceGroup, g]));
      const parentEvents = parentHistoryBound({
        waves,
        batchLimit,
        validationTimeoutSeconds: deps.validationTimeoutSeconds,
        // A child counts every step against its limit: a group's surge comes before its batches.
        batchesOf: (g) => {
          const batches = byName.has(g) ? batchesOf(byName.get(g)!, options) : 0;
          return batches > 0 ? batches + 1 : 0;
        },
      });
      if (parentEvents > HISTORY_EVENT_LIMIT * 0.9) {
        // Refused before anything is replaced: the parent would stop with States.Runtime part-way.
        throw new RollTooLargeError(
          `the roll of ${input.cluster} could record up to ${parentEvents} history events in its parent execution (${waves.length} waves), more than 90% of the ${HISTORY_EVENT_LIMIT} Step Functions allows: roll fewer instance groups at once (--instance-group), more groups side by side (--parallel-groups), or raise maxSurge`,
        );
      }
      return {
        options,
        groups: rows,
        needUpdate: rows.reduce((n, r) => n + r.needUpdate, 0),
        waves,
        batchLimit,
        validationDeadline: deadlineAfter(now, deps.validationTimeoutSeconds),
      };
    }
    case 'next': {
      if (input.instanceGroup === undefined) {
        const step = nextRollStep(
          await observeGroups(
            input.cluster,
            deps,
            input.options.roster ? { roster: input.options.roster } : {},
          ),
          input.options,
        );
        return {
          step,
          drainDeadline: deadlineAfter(now, deps.drainTimeoutSeconds),
          ...loadBalancerOf(step, input.options),
        };
      }
      return nextOfChild(
        {
          cluster: input.cluster,
          instanceGroup: input.instanceGroup,
          options: input.options,
          ...(input.history ? { history: input.history } : {}),
        },
        now,
        deps,
      );
    }
    case 'surge':
      await assertStepClaim(input, deps.store);
      return surge(input, deps);
    case 'drain':
      // The claim is checked inside the pass, before its first cordon or eviction.
      return drain(input, deps);
    case 'terminate':
      await assertStepClaim(input, deps.store);
      return terminate(input, deps);
    case 'uncordon':
      return uncordonStep(input, deps);
    case 'deregister':
      await assertStepClaim(input, deps.store);
      return deregister(input, deps);
    case 'awaitReplacements':
      return awaitReplacements(input, deps);
    case 'validate':
      return validate(input, deps);
  }
}
