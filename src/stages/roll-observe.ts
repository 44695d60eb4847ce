import type { CompletedInstanceGroup, CompletedManifest } from '../manifest/completed.js';
import {
  CLUSTER_TAG,
  groupName,
  INSTANCE_GROUP_TAG,
  KUBERNETES_VERSION_TAG,
  SPEC_HASH_TAG,
} from '../planning/names.js';
import { isOwnedBy } from '../planning/ownership.js';
import {
  effectiveRollingUpdate,
  type RollGroup,
  type RollOptions,
  type RollStatusRow,
  type RosterEntry,
  resolveSettingsOf,
  rollStatus,
} from '../planning/rolling-update.js';
import type { RollingUpdateDeps } from './rolling-update.js';

/** What the roll knows of a cluster's instance groups: the roster from the spec, the groups as AWS reports them. */

/** The availability zones of a group's subnets (the completed spec names them). */
function zonesOf(completed: CompletedManifest, ig: CompletedInstanceGroup): string[] {
  const subnets = new Map((completed.cluster.spec.subnets ?? []).map((s) => [s.name, s.zone]));
  return [
    ...new Set(ig.spec.subnets.map((name) => subnets.get(name)).filter((z): z is string => !!z)),
  ];
}

/** The roster of a cluster's instance groups, from its spec. */
export function rosterOf(completed: CompletedManifest, cluster: string): RosterEntry[] {
  return completed.instanceGroups.map((ig) => ({
    instanceGroup: ig.metadata.name,
    role: ig.spec.role,
    asgName: groupName(ig.metadata.name, cluster),
    minSize: ig.spec.minSize,
    maxSize: ig.spec.maxSize,
    zones: zonesOf(completed, ig),
    rollingUpdate: effectiveRollingUpdate(completed.cluster, ig),
  }));
}

/**
 * Every instance group as the planner sees it: members with their spec hash, detached instances.
 * With a `roster` (the plan's), the spec is not read again; with `only`, just those groups are
 * observed (one DescribeAutoScalingGroups, and only their instances).
 */
export async function observeGroups(
  cluster: string,
  deps: Pick<RollingUpdateDeps, 'store' | 'autoscaling' | 'ec2'>,
  scope: { roster?: RosterEntry[]; only?: string[] } = {},
): Promise<RollGroup[]> {
  const roster = scope.roster ?? rosterOf(await deps.store.readCompletedManifest(cluster), cluster);
  const only = scope.only ? new Set(scope.only) : undefined;
  const observed = only ? roster.filter((g) => only.has(g.instanceGroup)) : roster;
  const [asgs, instances] = await Promise.all([
    deps.autoscaling.describeGroups(observed.map((g) => g.asgName)),
    deps.ec2.describeInstances([
      { Name: `tag:${CLUSTER_TAG}`, Values: [cluster] },
      { Name: 'instance-state-name', Values: ['pending', 'running'] },
      ...(only
        ? [{ Name: `tag:${INSTANCE_GROUP_TAG}`, Values: observed.map((g) => g.instanceGroup) }]
        : []),
    ]),
  ]);
  // A group under our name but tagged for another cluster is not ours: the roll never sees it.
  const byName = new Map(asgs.filter((g) => isOwnedBy(g.tags, cluster)).map((g) => [g.name, g]));
  const tagsOf = new Map(
    instances.map((i) => [
      i.InstanceId ?? '',
      Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    ]),
  );
  const launchedAt = new Map(
    instances.map((i) => [
      i.InstanceId ?? '',
      i.LaunchTime ? new Date(i.LaunchTime).toISOString() : undefined,
    ]),
  );
  return observed.map((ig) => {
    const asg = byName.get(ig.asgName);
    const memberIds = new Set(asg?.instances.map((i) => i.instanceId) ?? []);
    const detached = instances
      .filter(
        (i) =>
          tagsOf.get(i.InstanceId ?? '')?.[INSTANCE_GROUP_TAG] === ig.instanceGroup &&
          !memberIds.has(i.InstanceId ?? ''),
      )
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
    const size = asg?.desiredCapacity ?? ig.minSize;
    return {
      instanceGroup: ig.instanceGroup,
      role: ig.role,
      asgName: ig.asgName,
      min: asg?.minSize ?? ig.minSize,
      max: asg?.maxSize ?? ig.maxSize,
      desired: size,
      // The group's tags are its launch template's (set by update): what a replacement installs.
      ...(asg?.tags[KUBERNETES_VERSION_TAG]
        ? { kubernetesVersion: asg.tags[KUBERNETES_VERSION_TAG] }
        : {}),
      ...(asg?.tags[SPEC_HASH_TAG] ? { specHash: asg.tags[SPEC_HASH_TAG] } : {}),
      members,
      detached,
      settings: resolveSettingsOf(ig.rollingUpdate, size),
    };
  });
}

/** The status table, with Kubernetes node counts where the API answers. */
export async function rollingUpdateStatus(
  cluster: string,
  deps: RollingUpdateDeps,
  options: RollOptions = {},
): Promise<{ rows: RollStatusRow[]; groups: RollGroup[] }> {
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
  return {
    rows: rollStatus(groups, nodes, options).filter((r) => !wanted || wanted.has(r.name)),
    groups,
  };
}
