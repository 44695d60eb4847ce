/**
 * A model of how long kOps 1.37 takes to roll a cluster, for the bench's `kopsModelSeconds`
 * column. It schedules, in simulated seconds, what kOps's rolling update does; it is a model of
 * kOps, never of kopsless (whose time comes from running its real state machines).
 *
 * Read from kubernetes/kops at v1.37.0-alpha.1 (commit 5c99d87eb744b90ec37b8df432a023893ea85503):
 * - pkg/instancegroups/rollingupdate.go, `RollingUpdate`: bastion groups concurrently, then
 *   control-plane groups one after another, then API server groups, then node groups one after
 *   another (sorted by name). Each group waits for the one before it.
 * - pkg/instancegroups/instancegroups.go, `rollingUpdateInstanceGroup`: validate once (count 1,
 *   not for bastions); maxSurge is capped at the instances to update and is 0 for control-plane
 *   groups (whose concurrency is maxUnavailable, at least 1); detach maxSurge instances (the ASG
 *   launches their replacements at once), sleep the group's interval once after the last detach,
 *   validate (ValidateCount times); then drain-and-terminate with maxSurge + maxUnavailable at
 *   a time, detached instances last, validating after each batch and after the last one.
 * - `drainTerminateAndWait`: drain (not for bastions; `drainNode` sleeps `--post-drain-delay`
 *   after it), terminate (the ASG launches a replacement unless the instance was detached), sleep
 *   the interval (`--node-interval`, `--control-plane-interval`, `--bastion-interval`).
 * - `validateClusterWithTimeout`: validate; on success sleep ValidateSuccessDuration and validate
 *   again until ValidateCount successes in a row; on failure sleep ValidateTickDuration; give up
 *   after `--validation-timeout`. A validation fails while any of the group's instances has no
 *   Ready node.
 * - cmd/kops/rolling-update_cluster.go: intervals 15 s, post-drain delay 5 s, validate count 2,
 *   validation timeout 15 min, ValidateTickDuration 30 s, ValidateSuccessDuration 10 s.
 * - pkg/instancegroups/settings.go, `resolveSettings`: on AWS maxSurge defaults to 1 and
 *   maxUnavailable to 0 (to 1 when maxSurge is 0); a percentage maxSurge rounds up, a percentage
 *   maxUnavailable rounds down but is at least 1.
 *
 * What the model leaves out (all make kOps slower, none faster): the time each validation and
 * each AWS or Kubernetes call takes, tainting, and the time kOps spends listing the cloud groups
 * before it starts.
 */

/** kOps's instance group roles, in the order kOps rolls them. */
export type KopsRole = 'Bastion' | 'ControlPlane' | 'APIServer' | 'Node';

export interface KopsGroup {
  name: string;
  role: KopsRole;
  /** Instances that need updating (all of the group's on a forced roll). */
  instances: number;
  /** An integer or a percentage (`"10%"`) of the group's instances, as in the manifest. */
  maxSurge?: number | string;
  maxUnavailable?: number | string;
}

/** kOps's rolling-update timings, in seconds (defaults: `kops rolling-update cluster`'s). */
export interface KopsTimings {
  /** From launch until the instance's node is Ready (and validation sees it). */
  bootSeconds: number;
  /** From the start of a drain until the node's pods are gone. */
  drainSeconds: number;
  nodeIntervalSeconds?: number;
  controlPlaneIntervalSeconds?: number;
  bastionIntervalSeconds?: number;
  postDrainDelaySeconds?: number;
  validateCount?: number;
  validateTickSeconds?: number;
  validateSuccessSeconds?: number;
  validationTimeoutSeconds?: number;
}

export const KOPS_DEFAULTS = {
  nodeIntervalSeconds: 15,
  controlPlaneIntervalSeconds: 15,
  bastionIntervalSeconds: 15,
  postDrainDelaySeconds: 5,
  validateCount: 2,
  validateTickSeconds: 30,
  validateSuccessSeconds: 10,
  validationTimeoutSeconds: 15 * 60,
} as const;

/** kOps would stop the roll here (`--fail-on-validate-error`, its default). */
export class KopsValidationTimeoutError extends Error {
  override readonly name = 'KopsValidationTimeoutError';
}

export interface KopsGroupSchedule {
  name: string;
  startSeconds: number;
  endSeconds: number;
  batches: number;
}

export interface KopsSchedule {
  seconds: number;
  groups: KopsGroupSchedule[];
}

function scaled(
  value: number | string | undefined,
  total: number,
  roundUp: boolean,
  what: string,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0)
      throw new RangeError(
        `${what}: expected a non-negative integer or a percentage, got ${value}`,
      );
    return value;
  }
  const match = /^(\d+)%$/.exec(value);
  if (!match)
    throw new RangeError(
      `${what}: expected a non-negative integer or a percentage, got ${JSON.stringify(value)}`,
    );
  const exact = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** maxSurge and maxUnavailable as kOps's resolveSettings makes them on AWS. */
export function kopsSettings(group: KopsGroup): { maxSurge: number; maxUnavailable: number } {
  const surge = scaled(group.maxSurge, group.instances, true, `${group.name}.maxSurge`) ?? 1;
  let unavailable = scaled(
    group.maxUnavailable,
    group.instances,
    false,
    `${group.name}.maxUnavailable`,
  );
  if (typeof group.maxUnavailable === 'string' && unavailable !== undefined && unavailable <= 0)
    unavailable = 1;
  return { maxSurge: surge, maxUnavailable: unavailable ?? (surge === 0 ? 1 : 0) };
}

/**
 * kOps's validation loop from `start`: it passes once every launched instance is Ready
 * (`readyAt`), `count` times in a row `successSeconds` apart, retrying every `tickSeconds`.
 * Returns when it passes.
 */
function validate(start: number, readyAt: number, t: Required<KopsTimings>, group: string): number {
  let now = start;
  let successes = 0;
  while (now - start <= t.validationTimeoutSeconds) {
    if (now >= readyAt) {
      successes += 1;
      if (successes >= t.validateCount) return now;
      now += t.validateSuccessSeconds;
    } else {
      successes = 0;
      now += t.validateTickSeconds;
    }
  }
  throw new KopsValidationTimeoutError(
    `${group}: kOps's validation would time out after ${t.validationTimeoutSeconds} s (a node Ready at ${readyAt - start} s after it began)`,
  );
}

function rollGroup(group: KopsGroup, start: number, t: Required<KopsTimings>): KopsGroupSchedule {
  if (!Number.isInteger(group.instances) || group.instances < 0)
    throw new RangeError(
      `${group.name}.instances: expected a non-negative integer, got ${group.instances}`,
    );
  if (group.instances === 0)
    return { name: group.name, startSeconds: start, endSeconds: start, batches: 0 };
  const bastion = group.role === 'Bastion';
  const interval = bastion
    ? t.bastionIntervalSeconds
    : group.role === 'ControlPlane'
      ? t.controlPlaneIntervalSeconds
      : t.nodeIntervalSeconds;
  const settings = kopsSettings(group);
  let surge = Math.min(settings.maxSurge, group.instances);
  let concurrency = surge + settings.maxUnavailable;
  if (group.role === 'ControlPlane' && surge !== 0) {
    surge = 0;
    concurrency = settings.maxUnavailable || 1;
  }
  if (concurrency < 1)
    throw new RangeError(
      `${group.name}: maxSurge and maxUnavailable are both 0: nothing can be replaced`,
    );
  let now = start;
  let readyAt = start;
  // The validation before anything changes (count 1; bastions skip it): the cluster is healthy.
  if (!bastion) now = validate(now, readyAt, { ...t, validateCount: 1 }, group.name);
  if (surge > 0) {
    readyAt = Math.max(readyAt, now + t.bootSeconds);
    now += interval;
    now = validate(now, readyAt, t, group.name);
  }
  // Detached instances go last; terminating one launches nothing (its replacement came with the detach).
  const launching = group.instances - surge;
  let batches = 0;
  for (let first = 0; first < group.instances; first += concurrency) {
    batches += 1;
    const drained = now + (bastion ? 0 : t.drainSeconds + t.postDrainDelaySeconds);
    if (first < launching) readyAt = Math.max(readyAt, drained + t.bootSeconds);
    now = drained + interval;
    now = validate(now, readyAt, t, group.name);
  }
  return { name: group.name, startSeconds: start, endSeconds: now, batches };
}

const ROLE_ORDER: KopsRole[] = ['Bastion', 'ControlPlane', 'APIServer', 'Node'];

/** kOps's whole roll: bastions together, then every other group one after another. */
export function kopsSchedule(groups: KopsGroup[], timings: KopsTimings): KopsSchedule {
  for (const [field, value] of Object.entries(timings)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      throw new RangeError(
        `timings.${field}: expected a non-negative number of seconds, got ${value}`,
      );
  }
  const t: Required<KopsTimings> = { ...KOPS_DEFAULTS, ...timings };
  const out: KopsGroupSchedule[] = [];
  let now = 0;
  for (const role of ROLE_ORDER) {
    const ofRole = groups
      .filter((g) => g.role === role)
      .sort((a, b) => a.name.localeCompare(b.name));
    if (role === 'Bastion') {
      const rolled = ofRole.map((g) => rollGroup(g, now, t));
      out.push(...rolled);
      now = Math.max(now, ...rolled.map((g) => g.endSeconds));
      continue;
    }
    for (const group of ofRole) {
      const rolled = rollGroup(group, now, t);
      out.push(rolled);
      now = rolled.endSeconds;
    }
  }
  return { seconds: now, groups: out };
}

export interface RollShape {
  /** Node instances, split as evenly as possible over `groups` node groups. */
  nodes: number;
  groups: number;
  /** Per group, as in the manifest: an integer or a percentage such as `"10%"`. */
  maxSurge: number | string;
  bootSeconds: number;
  drainSeconds: number;
}

/** The node groups of a bench roll: `nodes` split over `groups`, the first ones one larger. */
export function nodeGroups(shape: Pick<RollShape, 'nodes' | 'groups' | 'maxSurge'>): KopsGroup[] {
  if (!Number.isInteger(shape.groups) || shape.groups < 1)
    throw new RangeError(`groups: expected a positive integer, got ${shape.groups}`);
  if (!Number.isInteger(shape.nodes) || shape.nodes < shape.groups)
    throw new RangeError(
      `nodes: expected an integer of at least groups (${shape.groups}), got ${shape.nodes}`,
    );
  const base = Math.floor(shape.nodes / shape.groups);
  const extra = shape.nodes % shape.groups;
  return Array.from({ length: shape.groups }, (_, i) => ({
    name: `nodes-${String(i).padStart(2, '0')}`,
    role: 'Node' as const,
    instances: base + (i < extra ? 1 : 0),
    maxSurge: shape.maxSurge,
  }));
}

/** Seconds kOps 1.37 would take to roll every node of the bench's cluster with the same surge and timings. */
export function kopsModelSeconds(shape: RollShape): number {
  return kopsSchedule(nodeGroups(shape), {
    bootSeconds: shape.bootSeconds,
    drainSeconds: shape.drainSeconds,
  }).seconds;
}
