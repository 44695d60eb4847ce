import type { AutoScalingApi, GroupState } from '../aws/autoscaling.js';
import type { RollOptions, RollStep } from '../planning/rolling-update.js';

/**
 * The end of a roll step, in one invocation. The look that finds a step's replacements ready
 * used to be followed by a validation Task and a NextStep Task, each describing the Auto
 * Scaling groups again a moment later: three invocations, three DescribeAutoScalingGroups and
 * six state transitions per step. Now the look describes every group of the cluster once, and
 * when the replacements are ready it validates the cluster and works out the following step
 * from that same description. A cluster that does not validate yet goes on to the validation
 * poll and NextStep as before.
 */

/** What a child passes to its replacements poll so that the look can go on to the next step. */
export interface Following {
  instanceGroup: string;
  options: RollOptions;
  /** The child's steps with this one counted, its batchLimit and its start (see child-history.ts). */
  history: { steps: number; batchLimit: number; startedAt: string };
}

/**
 * `api` whose DescribeAutoScalingGroups of any of `names` is answered from one call for all of
 * them, made at the first such request. For the calls of one invocation only: a moment apart,
 * they would see the same groups.
 */
export function describingGroupsOnce<A extends Pick<AutoScalingApi, 'describeGroups'>>(
  api: A,
  names: string[],
): A {
  const known = new Set(names);
  let all: Promise<GroupState[]> | undefined;
  return {
    ...api,
    describeGroups: async (asked: string[]) => {
      if (asked.length === 0 || !asked.every((name) => known.has(name)))
        return api.describeGroups(asked);
      all ??= api.describeGroups(names);
      const wanted = new Set(asked);
      return (await all).filter((group) => wanted.has(group.name));
    },
  };
}

/**
 * Whether the look that finds `step`'s replacements ready also validates and plans the next
 * step: not for a control-plane step, whose new address goes into the API records first.
 */
export function endsAtLook(step: RollStep): boolean {
  return !(step.kind === 'replace' && step.controlPlane);
}
