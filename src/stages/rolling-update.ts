import { now as clockNow } from '../clock.js';
import type { AutoScalingApi } from '../aws/autoscaling.js';
import type { StackApi } from '../aws/cloudformation.js';
import type { Ec2Api } from '../aws/ec2.js';
import type { DnsApi } from '../aws/route53.js';
import { ClusterNotValidError, DrainTimeoutError, WaitTimeoutError } from '../errors.js';
import type { KubePort } from '../kube/port.js';
import { CLUSTER_TAG, groupName, INSTANCE_GROUP_TAG, KUBERNETES_VERSION_TAG, SPEC_HASH_TAG } from '../planning/names.js';
import { isOwnedBy, requireOwned } from '../planning/ownership.js';
import { forcedMembers, nextRollStep, resolveRollSettings, rollStatus, type RollGroup, type RollOptions, type RollStatusRow, type RollStep } from '../planning/rolling-update.js';
import { completeManifest } from '../spec/defaults.js';
import { deadlineAfter } from './launch.js';
import type { ClusterStore } from '../state/cluster-store.js';
import { validateCluster } from './validate-cluster.js';

/**
 * The rolling-update stage. Each action is one small step of the state machine; `next` works
 * out what to do from what AWS reports now, so a roll that stopped (a drain that timed out, a
 * validation that failed) continues where it was when run again.
 */

export type RollingUpdateInput =
  | { action: 'plan'; cluster: string; instanceGroups?: string[]; force?: boolean; cloudOnly?: boolean }
  | { action: 'next'; cluster: string; options: RollOptions }
  | { action: 'surge'; cluster: string; step: RollStep }
  | { action: 'drain'; cluster: string; step: RollStep; deadline: string; cloudOnly?: boolean }
  | { action: 'terminate'; cluster: string; step: RollStep }
  | { action: 'awaitReplacements'; cluster: string; step: RollStep; deadline: string; cloudOnly?: boolean }
  | { action: 'validate'; cluster: string; deadline: string; cloudOnly?: boolean };

export interface RollingUpdateDeps {
  store: ClusterStore;
  autoscaling: AutoScalingApi;
  ec2: Pick<Ec2Api, 'describeInstances' | 'terminateInstances'>;
  stacks: Pick<StackApi, 'describe'>;
  dns: Pick<DnsApi, 'listRecords'>;
  kube: (cluster: string) => Promise<KubePort | undefined>;
  drainTimeoutSeconds: number;
  validationTimeoutSeconds: number;
  replacementTimeoutSeconds: number;
  now?: () => Date;
}


/** Every instance group as the planner sees it: members with their spec hash, detached instances. */
export async function observeGroups(cluster: string, deps: Pick<RollingUpdateDeps, 'store' | 'autoscaling' | 'ec2'>): Promise<RollGroup[]> {
  const manifest = completeManifest(await deps.store.readManifest(cluster));
  const names = manifest.instanceGroups.map((ig) => groupName(ig.metadata.name, cluster));
  const [asgs, instances] = await Promise.all([
    deps.autoscaling.describeGroups(names),
    deps.ec2.describeInstances([
      { Name: `tag:${CLUSTER_TAG}`, Values: [cluster] },
      { Name: 'instance-state-name', Values: ['pending', 'running'] },
    ]),
  ]);
  // A group under our name but tagged for another cluster is not ours: the roll never sees it.
  const byName = new Map(asgs.filter((g) => isOwnedBy(g.tags, cluster)).map((g) => [g.name, g]));
  const tagsOf = new Map(instances.map((i) => [i.InstanceId ?? '', Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']))]));
  const launchedAt = new Map(instances.map((i) => [i.InstanceId ?? '', i.LaunchTime ? new Date(i.LaunchTime).toISOString() : undefined]));
  return manifest.instanceGroups.map((ig) => {
    const asg = byName.get(groupName(ig.metadata.name, cluster));
    const memberIds = new Set(asg?.instances.map((i) => i.instanceId) ?? []);
    const detached = instances
      .filter((i) => tagsOf.get(i.InstanceId ?? '')?.[INSTANCE_GROUP_TAG] === ig.metadata.name && !memberIds.has(i.InstanceId ?? ''))
      .map((i) => i.InstanceId ?? '');
    const members = (asg?.instances ?? []).map((i) => {
      const launched = launchedAt.get(i.instanceId);
      const version = tagsOf.get(i.instanceId)?.[KUBERNETES_VERSION_TAG];
      return {
        instanceId: i.instanceId,
        lifecycleState: i.lifecycleState,
        specHash: tagsOf.get(i.instanceId)?.[SPEC_HASH_TAG],
        ...(launched ? { launchedAt: launched } : {}),
        ...(version ? { kubernetesVersion: version } : {}),
      };
    });
    const size = asg?.desiredCapacity ?? ig.spec.minSize ?? 0;
    return {
      instanceGroup: ig.metadata.name,
      role: ig.spec.role,
      asgName: groupName(ig.metadata.name, cluster),
      min: asg?.minSize ?? ig.spec.minSize ?? 0,
      max: asg?.maxSize ?? ig.spec.maxSize ?? 0,
      desired: size,
      // The group's tags are its launch template's (set by update): what a replacement installs.
      ...(asg?.tags[KUBERNETES_VERSION_TAG] ? { kubernetesVersion: asg.tags[KUBERNETES_VERSION_TAG] } : {}),
      ...(asg?.tags[SPEC_HASH_TAG] ? { specHash: asg.tags[SPEC_HASH_TAG] } : {}),
      members,
      detached,
      settings: resolveRollSettings(manifest.cluster, ig, size),
    };
  });
}

/** The status table, with Kubernetes node counts where the API answers. */
export async function rollingUpdateStatus(cluster: string, deps: RollingUpdateDeps, options: RollOptions = {}): Promise<{ rows: RollStatusRow[]; groups: RollGroup[] }> {
  const groups = await observeGroups(cluster, deps);
  const nodes: Record<string, number> = {};
  if (!options.cloudOnly) {
    try {
      for (const node of (await (await deps.kube(cluster))?.listNodes()) ?? []) {
        if (node.instanceGroup) nodes[node.instanceGroup] = (nodes[node.instanceGroup] ?? 0) + 1;
      }
    } catch {
      // The table still shows the cloud's view; validation reports an unreachable API.
    }
  }
  const wanted = options.instanceGroups?.length ? new Set(options.instanceGroups) : undefined;
  return { rows: rollStatus(groups, nodes, options).filter((r) => !wanted || wanted.has(r.name)), groups };
}

/** The Auto Scaling group a step acts on, refused unless it is tagged for the cluster. */
async function ownedGroup(name: string, cluster: string, deps: Pick<RollingUpdateDeps, 'autoscaling'>) {
  const [asg] = await deps.autoscaling.describeGroups([name]);
  if (asg) requireOwned(`Auto Scaling group ${name}`, asg.tags, cluster);
  return asg;
}

/** Of these instances, the ones tagged for the cluster: the only ones a roll may terminate. */
async function ownedInstances(ids: string[], cluster: string, deps: Pick<RollingUpdateDeps, 'ec2'>): Promise<string[]> {
  if (ids.length === 0) return [];
  const found = await deps.ec2.describeInstances([
    { Name: 'instance-id', Values: ids },
    { Name: `tag:${CLUSTER_TAG}`, Values: [cluster] },
  ]);
  return found.map((i) => i.InstanceId ?? '').filter((id) => ids.includes(id));
}

async function kubeOrFail(cluster: string, deps: RollingUpdateDeps): Promise<KubePort> {
  const kube = await deps.kube(cluster);
  if (!kube) throw new ClusterNotValidError(`cannot reach the Kubernetes API of ${cluster}: no kubeconfig in the state store (use --cloudonly to roll without Kubernetes)`);
  return kube;
}

async function drain(input: { cluster: string; step: RollStep; deadline: string; cloudOnly?: boolean }, deps: RollingUpdateDeps) {
  if (input.cloudOnly || input.step.kind !== 'replace') return { drained: true, remaining: [] };
  const now = (deps.now ?? clockNow)();
  const kube = await kubeOrFail(input.cluster, deps);
  const nodes = (await kube.listNodes()).filter((n) => input.step.kind === 'replace' && input.step.instanceIds.includes(n.instanceId));
  const blocked: string[] = [];
  for (const node of nodes) {
    const firstPass = !node.unschedulable;
    const pods = (await kube.listPods({ fieldSelector: `spec.nodeName=${node.name}` })).filter((p) => !p.drainSkips && !['Succeeded', 'Failed'].includes(p.phase));
    if (firstPass) {
      await kube.cordon(node.name);
      await kube.recordEvent({ regarding: { kind: 'Node', name: node.name }, type: 'Normal', reason: 'Drain', action: 'Cordon', message: `Cordoned and draining for rolling-update (instance ${node.instanceId}${node.instanceGroup ? `, instance group ${node.instanceGroup}` : ''}): ${pods.length} pod(s) to evict` });
    }
    for (const pod of pods) {
      const result = await kube.evict(pod.namespace, pod.name);
      if (result === 'blocked') blocked.push(`${pod.namespace}/${pod.name}`);
      // A pod a disruption budget holds is retried every pass: its event is written on the first only.
      if (result === 'evicted' || (result === 'blocked' && firstPass)) {
        await kube.recordEvent({
          regarding: { kind: 'Pod', namespace: pod.namespace, name: pod.name, ...(pod.uid ? { uid: pod.uid } : {}) },
          type: result === 'evicted' ? 'Normal' : 'Warning',
          reason: result === 'evicted' ? 'Evicted' : 'EvictionBlocked',
          action: 'Evict',
          message: result === 'evicted' ? `Evicted from node ${node.name} for rolling-update` : `Cannot evict pod as it would violate the pod's disruption budget (draining node ${node.name})`,
        });
      }
    }
  }
  const remaining: string[] = [];
  for (const node of nodes) {
    const pods = (await kube.listPods({ fieldSelector: `spec.nodeName=${node.name}` })).filter((p) => !p.drainSkips && !['Succeeded', 'Failed'].includes(p.phase));
    remaining.push(...pods.map((p) => `${p.namespace}/${p.name}`));
  }
  if (remaining.length === 0) return { drained: true, remaining };
  if (now > new Date(input.deadline)) {
    // Leave the cluster as it was: the nodes take pods again, nothing was terminated.
    for (const node of nodes) await kube.uncordon(node.name);
    const why = blocked.length > 0 ? `Cannot evict pod as it would violate the pod's disruption budget: ${blocked.join(', ')}` : `pods still running: ${remaining.join(', ')}`;
    throw new DrainTimeoutError(`error draining node(s) ${nodes.map((n) => `"${n.name}"`).join(', ')}: drain did not complete before the deadline ${input.deadline}: ${why}`);
  }
  return { drained: false, remaining, blocked };
}

async function terminate(input: { cluster: string; step: RollStep }, deps: RollingUpdateDeps) {
  const now = (deps.now ?? clockNow)();
  if (input.step.kind !== 'replace') return { deadline: deadlineAfter(now, deps.replacementTimeoutSeconds), terminated: [] };
  const step = input.step;
  const asg = await ownedGroup(step.asgName, input.cluster, deps);
  const members = new Set(asg?.instances.map((i) => i.instanceId) ?? []);
  const inGroup = step.instanceIds.filter((id) => members.has(id));
  // Detached (surged) instances have their replacement already; they just go, if they are ours.
  const outside = await ownedInstances(step.instanceIds.filter((id) => !members.has(id)), input.cluster, deps);
  for (const id of inGroup) await deps.autoscaling.terminateInstance(id);
  await deps.ec2.terminateInstances(outside);
  return { deadline: deadlineAfter(now, deps.replacementTimeoutSeconds), terminated: step.instanceIds };
}

async function surge(input: { cluster: string; step: RollStep }, deps: RollingUpdateDeps) {
  const now = (deps.now ?? clockNow)();
  if (input.step.kind !== 'surge') return { deadline: deadlineAfter(now, deps.replacementTimeoutSeconds), detached: [] };
  const asg = await ownedGroup(input.step.asgName, input.cluster, deps);
  const members = new Set(asg?.instances.map((i) => i.instanceId) ?? []);
  // A retried surge finds its instances detached already.
  const toDetach = input.step.instanceIds.filter((id) => members.has(id));
  await deps.autoscaling.detachInstances(input.step.asgName, toDetach);
  // AWS launches the replacements by itself; moto does not until the desired capacity is set
  // again. Setting it to the value it has is a no-op on AWS, so the same call serves both.
  if (asg) await deps.autoscaling.setDesiredCapacity(input.step.asgName, asg.desiredCapacity);
  return { deadline: deadlineAfter(now, deps.replacementTimeoutSeconds), detached: input.step.instanceIds };
}

async function awaitReplacements(input: { cluster: string; step: RollStep; deadline: string; cloudOnly?: boolean }, deps: RollingUpdateDeps) {
  const now = (deps.now ?? clockNow)();
  if (input.step.kind === 'done') return { ready: true, validationDeadline: deadlineAfter(now, deps.validationTimeoutSeconds) };
  const asg = await ownedGroup(input.step.asgName, input.cluster, deps);
  const inService = asg?.instances.filter((i) => i.lifecycleState === 'InService') ?? [];
  const stillThere = (asg?.instances ?? []).filter((i) => input.step.kind === 'replace' && input.step.instanceIds.includes(i.instanceId));
  let notJoined: string[] = [];
  if (!input.cloudOnly) {
    const kube = await kubeOrFail(input.cluster, deps);
    const readyNodes = new Set((await kube.listNodes()).filter((n) => n.ready).map((n) => n.instanceId));
    notJoined = inService.map((i) => i.instanceId).filter((id) => !readyNodes.has(id));
  }
  const ready = !!asg && inService.length >= asg.desiredCapacity && stillThere.length === 0 && notJoined.length === 0;
  if (!ready && now > new Date(input.deadline)) {
    throw new WaitTimeoutError(
      `replacements for ${input.step.asgName} not ready at the deadline ${input.deadline}: ${inService.length}/${asg?.desiredCapacity ?? 0} in service${notJoined.length ? `, not joined: ${notJoined.join(', ')}` : ''}`,
    );
  }
  return { ready, inService: inService.length, desired: asg?.desiredCapacity ?? 0, notJoined, validationDeadline: deadlineAfter(now, deps.validationTimeoutSeconds) };
}

async function validate(input: { cluster: string; deadline: string; cloudOnly?: boolean }, deps: RollingUpdateDeps) {
  if (input.cloudOnly) return { valid: true, deadline: input.deadline, failures: [] };
  const now = (deps.now ?? clockNow)();
  const result = await validateCluster(input.cluster, deps, { rolling: true });
  if (!result.valid && now > new Date(input.deadline)) {
    throw new ClusterNotValidError(
      `error validating cluster: cluster "${input.cluster}" did not validate within a duration of "${deps.validationTimeoutSeconds}s": ${result.failures.map((f) => f.message).join('; ')}`,
    );
  }
  return { valid: result.valid, deadline: input.deadline, failures: result.failures.map((f) => f.message) };
}

export async function rollingUpdate(input: RollingUpdateInput, deps: RollingUpdateDeps) {
  const now = (deps.now ?? clockNow)();
  switch (input.action) {
    case 'plan': {
      const options: RollOptions = { ...(input.instanceGroups?.length ? { instanceGroups: input.instanceGroups } : {}), ...(input.cloudOnly ? { cloudOnly: true } : {}) };
      const groups = await observeGroups(input.cluster, deps);
      // A roll that stopped right after a surge left a group short of instances: ask for them
      // again now, so the validation that opens the roll sees the replacements.
      for (const g of groups) {
        const inService = g.members.filter((m) => m.lifecycleState === 'InService').length;
        if (g.detached.length > 0 && inService < g.desired && (await ownedGroup(g.asgName, input.cluster, deps))) await deps.autoscaling.setDesiredCapacity(g.asgName, g.desired);
      }
      const wanted = options.instanceGroups ? new Set(options.instanceGroups) : undefined;
      const selected = groups.filter((g) => !wanted || wanted.has(g.instanceGroup));
      // --force: every instance that exists now, so replacements are not replaced again; a roll
      // resuming an interrupted one (its lock says since when) takes only those older than it.
      if (input.force) options.forceIds = forcedMembers(selected, (await deps.store.readLock(input.cluster))?.since);
      const rows = rollStatus(selected, {}, options);
      return { options, groups: rows, needUpdate: rows.reduce((n, r) => n + r.needUpdate, 0), validationDeadline: deadlineAfter(now, deps.validationTimeoutSeconds) };
    }
    case 'next': {
      const step = nextRollStep(await observeGroups(input.cluster, deps), input.options);
      return { step, drainDeadline: deadlineAfter(now, deps.drainTimeoutSeconds) };
    }
    case 'surge':
      return surge(input, deps);
    case 'drain':
      return drain(input, deps);
    case 'terminate':
      return terminate(input, deps);
    case 'awaitReplacements':
      return awaitReplacements(input, deps);
    case 'validate':
      return validate(input, deps);
  }
}
