import { ClusterNotValidError, InvalidInputError } from '../errors.js';
import { intOrPercent } from '../manifest/int-or-percent.js';
import {
  compareVersions,
  type KubernetesVersion,
  parseKubernetesVersion,
} from '../manifest/kubernetes-version.js';
import {
  type Cluster,
  type InstanceGroup,
  isControlPlaneRole,
  type RollingUpdate,
} from '../manifest/types.js';
import type { RollOptions, RollStep } from './roll-step.js';

/**
 * The rolling update, planned the way kOps plans it (pkg/instancegroups): which instances are
 * out of date, in which order the groups go (bastions, control plane, nodes), and how many
 * instances of a group are replaced at once. Pure: the stage feeds it what AWS reports and it
 * answers with the next step, so a roll that stopped resumes from what is left.
 */

export interface RollSettings {
  maxSurge: number;
  maxUnavailable: number;
}

/**
 * kOps's `resolveSettings` on AWS: maxSurge defaults to 1, maxUnavailable to 0 (1 when maxSurge
 * is 0); percentages are of the group's size, surge rounded up, unavailability down but at least 1.
 */
export function resolveRollSettings(
  cluster: Cluster,
  ig: InstanceGroup,
  numInstances: number,
): RollSettings {
  return resolveSettingsOf(effectiveRollingUpdate(cluster, ig), numInstances);
}

/** A group's own rollingUpdate settings, each falling back to the cluster's. */
export function effectiveRollingUpdate(cluster: Cluster, ig: InstanceGroup): RollingUpdate {
  const own: RollingUpdate = ig.spec.rollingUpdate ?? {};
  const defaults: RollingUpdate = cluster.spec.rollingUpdate ?? {};
  const maxSurge = own.maxSurge ?? defaults.maxSurge;
  const maxUnavailable = own.maxUnavailable ?? defaults.maxUnavailable;
  return {
    ...(maxSurge !== undefined ? { maxSurge } : {}),
    ...(maxUnavailable !== undefined ? { maxUnavailable } : {}),
  };
}

/**
 * A setting scaled to the group's size. The spec is validated before it is stored (kOps's
 * validateRollingUpdate refuses what intOrPercent cannot parse), so a value that does not parse
 * here skipped that check: refused, naming the field, rather than read as 0.
 */
function scaled(
  field: 'maxSurge' | 'maxUnavailable',
  setting: number | string,
  numInstances: number,
  roundUp: boolean,
): number {
  const value = intOrPercent(setting, numInstances, roundUp);
  if (value instanceof Error)
    throw new InvalidInputError([{ path: `spec.rollingUpdate.${field}`, message: value.message }]);
  return value;
}

/** `resolveRollSettings` from the settings `effectiveRollingUpdate` gives, for a group of this size. */
export function resolveSettingsOf(settings: RollingUpdate, numInstances: number): RollSettings {
  const surgeSetting = settings.maxSurge ?? 1;
  const unavailableSetting = settings.maxUnavailable;
  const maxSurge = scaled('maxSurge', surgeSetting, numInstances, true);
  let maxUnavailable: number;
  if (unavailableSetting === undefined) maxUnavailable = maxSurge === 0 ? 1 : 0;
  else {
    maxUnavailable = scaled('maxUnavailable', unavailableSetting, numInstances, false);
    if (typeof unavailableSetting === 'string' && maxUnavailable <= 0) maxUnavailable = 1;
  }
  return { maxSurge, maxUnavailable };
}

export interface GroupMember {
  instanceId: string;
  specHash?: string;
  lifecycleState: string;
  /** EC2's LaunchTime (ISO 8601), where EC2 reported the instance. */
  launchedAt?: string;
  /** The Kubernetes version the instance was launched to install (its tag); unknown for older instances. */
  kubernetesVersion?: string;
}

/**
 * The instances `--force` replaces: every member, or, for a roll that resumes an interrupted one
 * (`since`, when that roll began), only the members launched before it, so that the replacements
 * the interrupted roll made are not replaced again.
 */
export function forcedMembers(groups: RollGroup[], since?: string): string[] {
  const cutoff = since ? Date.parse(since) : undefined;
  return groups.flatMap((g) =>
    g.members
      .filter((m) => cutoff === undefined || !m.launchedAt || Date.parse(m.launchedAt) < cutoff)
      .map((m) => m.instanceId),
  );
}

export interface RollGroup {
  instanceGroup: string;
  role: string;
  asgName: string;
  min: number;
  max: number;
  desired: number;
  /** The group's current spec hash (its Auto Scaling group's tag, set by update). */
  specHash?: string;
  members: GroupMember[];
  /** The Kubernetes version the group's current launch template installs (its Auto Scaling group's tag, set by update). */
  kubernetesVersion?: string;
  /** Running instances of this group that were detached from it (surged) and not yet terminated. */
  detached: string[];
  settings: RollSettings;
}

export type { RollOptions, RollStep, RosterEntry } from './roll-step.js';

const ROLE_ORDER = (role: string) => (role === 'Bastion' ? 0 : isControlPlaneRole(role) ? 1 : 2);

/** Bastions first, then control-plane groups, then node groups, each by name. */
export function orderGroups<T extends { role: string; instanceGroup: string }>(groups: T[]): T[] {
  return [...groups].sort(
    (a, b) =>
      ROLE_ORDER(a.role) - ROLE_ORDER(b.role) || a.instanceGroup.localeCompare(b.instanceGroup),
  );
}

/** In-service members whose spec hash differs from the group's (or that `--force` named). */
export function outdatedMembers(group: RollGroup, options: RollOptions = {}): string[] {
  const force = options.forceIds ? new Set(options.forceIds) : undefined;
  return group.members
    .filter((m) => m.lifecycleState === 'InService' || m.lifecycleState === 'Pending')
    .filter((m) => (force ? force.has(m.instanceId) : m.specHash !== group.specHash))
    .map((m) => m.instanceId);
}

/** How many instances of a group are drained and terminated at once (kOps's maxConcurrency). */
export function concurrency(group: RollGroup, outdated: number): number {
  if (isControlPlaneRole(group.role)) return 1;
  const surge = Math.min(group.settings.maxSurge, outdated);
  return Math.max(1, surge + group.settings.maxUnavailable);
}

/**
 * Refuses to launch a group's instances at a Kubernetes version newer than a control-plane
 * instance runs: a kubelet must never be newer than its API server. Rolling every group puts the
 * control plane first, so this stops only a roll limited to node groups (`--instance-group`)
 * while the control plane still runs the older version. Instances without a version tag (launched
 * by an older kopsless) are not counted.
 */
function requireControlPlaneAtLeast(groups: RollGroup[], group: RollGroup): void {
  const target = group.kubernetesVersion
    ? parseKubernetesVersion(group.kubernetesVersion)
    : undefined;
  if (!target || group.role === 'Bastion') return;
  for (const cp of groups.filter((g) => isControlPlaneRole(g.role))) {
    for (const member of cp.members) {
      const running = member.kubernetesVersion
        ? parseKubernetesVersion(member.kubernetesVersion)
        : undefined;
      if (!running || compareVersions(target, running) <= 0) continue;
      throw new ClusterNotValidError(
        `cannot roll instance group "${group.instanceGroup}" to Kubernetes ${group.kubernetesVersion}: control-plane instance ${member.instanceId} (instance group "${cp.instanceGroup}") runs ${member.kubernetesVersion}, and nodes must never be ahead of the control plane; roll the control plane first (rolling-update cluster --instance-group ${cp.instanceGroup})`,
      );
    }
  }
}

/**
 * Refuses to roll a control-plane group to a Kubernetes version kubeadm would not move the running
 * control plane to: more than one minor version above its oldest running control-plane member (of
 * any control-plane group: a new member joins all of them), or a minor version below it. The
 * guards on `set` and `update` stop this before; this holds when a launch template was changed
 * past them (an update applied and not rolled, then another). Untagged members are not counted.
 */
function requireControlPlaneStep(groups: RollGroup[], group: RollGroup): void {
  const target = group.kubernetesVersion
    ? parseKubernetesVersion(group.kubernetesVersion)
    : undefined;
  if (!target) return;
  let oldest: { member: GroupMember; cp: RollGroup; version: KubernetesVersion } | undefined;
  for (const cp of groups.filter((g) => isControlPlaneRole(g.role))) {
    for (const member of cp.members) {
      const version = member.kubernetesVersion
        ? parseKubernetesVersion(member.kubernetesVersion)
        : undefined;
      if (version && (!oldest || compareVersions(version, oldest.version) < 0))
        oldest = { member, cp, version };
    }
  }
  if (!oldest || target.major !== oldest.version.major) return;
  const where = `control-plane instance ${oldest.member.instanceId} (instance group "${oldest.cp.instanceGroup}") runs ${oldest.member.kubernetesVersion}`;
  if (target.minor > oldest.version.minor + 1) {
    const next = `${oldest.version.major}.${oldest.version.minor + 1}`;
    throw new ClusterNotValidError(
      `cannot roll control-plane instance group "${group.instanceGroup}" to Kubernetes ${group.kubernetesVersion}: ${where}, and Kubernetes upgrades the control plane one minor version at a time; set spec.kubernetesVersion to a ${next}.x version, update cluster, roll, then upgrade further`,
    );
  }
  if (target.minor < oldest.version.minor) {
    throw new ClusterNotValidError(
      `cannot roll control-plane instance group "${group.instanceGroup}" to Kubernetes ${group.kubernetesVersion}: ${where}, and minor version downgrades are not supported`,
    );
  }
}

/**
 * The next step of the roll. Per group, as kOps does: first detach up to maxSurge out-of-date
 * instances (the group launches their replacements while they keep serving), then drain and
 * terminate out-of-date instances, kept ones first and detached ones last, `concurrency` at a time.
 */
export function nextRollStep(groups: RollGroup[], options: RollOptions = {}): RollStep {
  const wanted =
    options.instanceGroups && options.instanceGroups.length > 0
      ? new Set(options.instanceGroups)
      : undefined;
  for (const group of orderGroups(groups)) {
    if (wanted && !wanted.has(group.instanceGroup)) continue;
    const outdated = outdatedMembers(group, options);
    if (outdated.length === 0 && group.detached.length === 0) continue;
    const controlPlane = isControlPlaneRole(group.role);
    if (controlPlane) requireControlPlaneStep(groups, group);
    else requireControlPlaneAtLeast(groups, group);
    // A roll that stopped after a surge: the detached instances' replacements come first.
    const inService = group.members.filter((m) => m.lifecycleState === 'InService').length;
    if (group.detached.length > 0 && inService < group.desired) {
      return {
        kind: 'surge',
        instanceGroup: group.instanceGroup,
        asgName: group.asgName,
        instanceIds: [],
      };
    }
    const surgeTarget =
      controlPlane || options.cloudOnly
        ? 0
        : Math.min(group.settings.maxSurge, outdated.length + group.detached.length);
    if (group.detached.length < surgeTarget && outdated.length > 0) {
      const count = Math.min(surgeTarget - group.detached.length, outdated.length);
      return {
        kind: 'surge',
        instanceGroup: group.instanceGroup,
        asgName: group.asgName,
        instanceIds: outdated.slice(outdated.length - count),
      };
    }
    const batchSize = concurrency(group, outdated.length + group.detached.length);
    const queue = [...outdated, ...group.detached];
    const batch = queue.slice(0, batchSize);
    return {
      kind: 'replace',
      instanceGroup: group.instanceGroup,
      asgName: group.asgName,
      instanceIds: batch,
      detachedIds: batch.filter((id) => group.detached.includes(id)),
      controlPlane,
    };
  }
  return { kind: 'done' };
}

export interface RollStatusRow {
  name: string;
  status: 'Ready' | 'NeedsUpdate';
  needUpdate: number;
  ready: number;
  min: number;
  target: number;
  max: number;
  nodes: number;
}

/** kOps's `rolling-update cluster` table: NAME STATUS NEEDUPDATE READY MIN TARGET MAX NODES. */
export function rollStatus(
  groups: RollGroup[],
  nodesPerGroup: Record<string, number>,
  options: RollOptions = {},
): RollStatusRow[] {
  return orderGroups(groups).map((g) => {
    const needUpdate = outdatedMembers(g, options).length + g.detached.length;
    const inService = g.members.filter((m) => m.lifecycleState === 'InService').length;
    return {
      name: g.instanceGroup,
      status: needUpdate > 0 ? 'NeedsUpdate' : 'Ready',
      needUpdate,
      ready: inService - outdatedMembers(g, options).length,
      min: g.min,
      target: g.desired,
      max: g.max,
      nodes: nodesPerGroup[g.instanceGroup] ?? 0,
    };
  });
}

/** A group that needs updating, as the wave planner sees it. */
export interface WaveGroup {
  instanceGroup: string;
  role: string;
  /** The availability zones of the group's subnets; empty when unknown. */
  zones: string[];
}

export interface WaveOptions {
  /** How many node groups may roll at once (1 to 20; 1 is kOps's order). */
  parallelGroups?: number;
  /** Let two groups of one wave share an availability zone. */
  allowSameZone?: boolean;
}

/**
 * The roll's waves: which groups roll together, in order. Each bastion group alone, then each
 * control-plane group alone (as kOps: the control plane is never rolled beside anything), then
 * node groups, at most `parallelGroups` per wave. Two groups sharing an availability zone never
 * roll together unless `allowSameZone`: a zone losing capacity in two groups at once could take
 * every replica of a zone-spread workload down. A group whose zones are unknown rolls alone then.
 * Greedy in kOps's order, so with `parallelGroups` 1 the waves are exactly kOps's sequence.
 */
export function planWaves(groups: WaveGroup[], options: WaveOptions = {}): string[][] {
  const width = Math.max(1, Math.floor(options.parallelGroups ?? 1));
  const ordered = orderGroups(groups);
  const waves: string[][] = [];
  const nodes: WaveGroup[] = [];
  for (const g of ordered) {
    if (ROLE_ORDER(g.role) < 2) waves.push([g.instanceGroup]);
    else nodes.push(g);
  }
  const left = [...nodes];
  while (left.length > 0) {
    const wave: WaveGroup[] = [];
    const used = new Set<string>();
    for (let i = 0; i < left.length && wave.length < width; ) {
      const g = left[i]!;
      const fits =
        options.allowSameZone ||
        wave.length === 0 ||
        (g.zones.length > 0 &&
          wave.every((w) => w.zones.length > 0) &&
          !g.zones.some((z) => used.has(z)));
      if (!fits) {
        i += 1;
        continue;
      }
      wave.push(g);
      for (const z of g.zones) used.add(z);
      left.splice(i, 1);
    }
    waves.push(wave.map((g) => g.instanceGroup));
  }
  return waves;
}

/** Step Functions Standard: history events per execution (a hard quota). */
export const HISTORY_EVENT_LIMIT = 25_000;

/**
 * History events of the rolling-update-group machine (counted from it in
 * test/statemachines/rolling-update.test.ts, which fails if these drift from the machine): a
 * surge step, a replace step, a control-plane step's deregistration from the API load balancer
 * and its DNS upsert and first check, one more turn of
 * a poll loop (Wait 2, Lambda Task 5, Choice 2), and an execution's own besides its batches.
 */
export const CHILD_HISTORY = {
  surgeStep: 32,
  replaceStep: 39,
  controlPlaneDns: 21,
  pollTurn: 9,
  perExecution: 18,
} as const;

/** Seconds of the child machine's poll Waits (rolling-update-group.asl.json; a test checks them against the file). */
export const CHILD_POLL_SECONDS = { replacements: 20, validation: 15, drain: 10, dns: 10 } as const;

/** Seconds between the parent's validations after a wave (rolling-update.asl.json): its history must not grow with waves. */
export const WAVE_VALIDATION_POLL_SECONDS = 60;

/**
 * History events of the rolling-update parent (test/statemachines/rolling-update.test.ts checks
 * them against the machine): a wave (its Map iteration, recording it in the lock, the groups' Map,
 * the validation's first check and the end) besides its poll turns, a group's Map iteration and its end, one child
 * (its name reserved, its start, the Choice, the sequence counted); the parent's own states outside its polls (lock, update flow, plan, first
 * validation, record), and the update flow's poll turns at the launch function's default
 * timeouts (the stack 30 minutes at 15 s, the groups 15 minutes at 20 s).
 */
export const PARENT_HISTORY = {
  perWave: 25,
  perGroup: 4,
  perChild: 15,
  outsidePolls: 70,
  updateFlowTurns: 121 + 46,
} as const;

/**
 * The most history events a roll's parent execution can record: every wave validating to its
 * deadline, every group's child executions (one per `batchLimit` batches, and the one that finds
 * the group done).
 */
export function parentHistoryBound(plan: {
  waves: string[][];
  batchesOf: (instanceGroup: string) => number;
  batchLimit: number;
  validationTimeoutSeconds: number;
}): number {
  const waveTurns = Math.ceil(plan.validationTimeoutSeconds / WAVE_VALIDATION_POLL_SECONDS) + 1;
  const firstValidationTurns =
    Math.ceil(plan.validationTimeoutSeconds / CHILD_POLL_SECONDS.validation) + 1;
  const groups = plan.waves.flat();
  const children = groups.reduce(
    (n, g) => n + Math.floor(plan.batchesOf(g) / plan.batchLimit) + 1,
    0,
  );
  const own =
    PARENT_HISTORY.outsidePolls +
    CHILD_HISTORY.pollTurn * (PARENT_HISTORY.updateFlowTurns + firstValidationTurns);
  return (
    own +
    plan.waves.length * (PARENT_HISTORY.perWave + CHILD_HISTORY.pollTurn * waveTurns) +
    groups.length * PARENT_HISTORY.perGroup +
    children * PARENT_HISTORY.perChild
  );
}

/** Batches a group's roll takes: its out-of-date instances, `concurrency` at a time. */
export function batchesOf(group: RollGroup, options: RollOptions = {}): number {
  const outdated = outdatedMembers(group, options).length + group.detached.length;
  return outdated === 0 ? 0 : Math.ceil(outdated / concurrency(group, outdated));
}

/** Replaced batches per child execution before it continues as a new one, at most (the bench's target). */
export const BATCH_LIMIT = 25;

/** The fraction of the quota a child plans to use at worst: the rest is for Task retries, which no plan can count. */
export const HISTORY_HEADROOM = 0.8;

/** The timeouts that bound a child's polls. */
export interface ChildTimeouts {
  replacementTimeoutSeconds: number;
  drainTimeoutSeconds: number;
  validationTimeoutSeconds: number;
  dnsTimeoutSeconds: number;
}

/**
 * History events of one batch at worst: a surge step and a replace step, each waiting out the
 * replacement timeout (20 s polls) and validating to its timeout (15 s polls), a drain to its
 * timeout (10 s polls), and a control plane's DNS (10 s polls).
 */
export function worstBatchEvents(timeouts: ChildTimeouts): number {
  const turns = (timeoutSeconds: number, pollSeconds: number) =>
    Math.ceil(timeoutSeconds / pollSeconds) + 1;
  const poll = CHILD_POLL_SECONDS;
  const pollTurns =
    2 * turns(timeouts.replacementTimeoutSeconds, poll.replacements) +
    turns(timeouts.drainTimeoutSeconds, poll.drain) +
    2 * turns(timeouts.validationTimeoutSeconds, poll.validation) +
    turns(timeouts.dnsTimeoutSeconds, poll.dns);
  return (
    CHILD_HISTORY.surgeStep +
    CHILD_HISTORY.replaceStep +
    CHILD_HISTORY.controlPlaneDns +
    CHILD_HISTORY.pollTurn * pollTurns
  );
}

/**
 * Steps (surge or replace) one child execution is sure to roll, so that its history stays under
 * Step Functions' quota even when every poll of every step runs to its deadline (see
 * `worstBatchEvents`). With kOps's 15-minute timeouts that is 5; at least 1, at most
 * BATCH_LIMIT. A child rolls on past it while its own history allows (`childMayRollAnother`).
 */
export function childBatchLimit(timeouts: ChildTimeouts): number {
  return Math.max(
    1,
    Math.min(
      BATCH_LIMIT,
      Math.floor(
        (HISTORY_EVENT_LIMIT * HISTORY_HEADROOM - CHILD_HISTORY.perExecution) /
          worstBatchEvents(timeouts),
      ),
    ),
  );
}
