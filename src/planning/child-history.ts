import {
  CHILD_HISTORY,
  CHILD_POLL_SECONDS,
  type ChildTimeouts,
  HISTORY_EVENT_LIMIT,
  HISTORY_HEADROOM,
  worstBatchEvents,
} from './rolling-update.js';

/**
 * How long one rolling-update-group execution keeps rolling. A child is sure of `batchLimit`
 * steps (every poll of every step running to its deadline still fits Step Functions' 25,000
 * history events). A roll whose steps go as planned uses a small part of that: with one-hour
 * timeouts the worst-case bound allows 2 steps per child, and a 30-node cluster was rolled by 18
 * child executions, each paying its own start, lock claim and name reservation. So past
 * `batchLimit` the child looks at what its history can hold at most now, worked out from how
 * many steps it has rolled and how long it has run, and rolls another step while the worst one
 * still fits.
 */

/**
 * The shortest Wait in any of the child's poll loops: the drain's (a pass with pods still to
 * evict, or terminating ones, waits at least this), the DNS poll's. Every turn of a poll after
 * its first waits at least this long, and the turns of one execution follow one another, so an
 * execution that has run `t` seconds has taken at most `t / CHILD_MIN_POLL_SECONDS` such turns.
 */
export const CHILD_MIN_POLL_SECONDS = Math.min(
  CHILD_POLL_SECONDS.drain,
  CHILD_POLL_SECONDS.dns,
  CHILD_POLL_SECONDS.replacements,
  CHILD_POLL_SECONDS.validation,
);

/**
 * The most history events a child can have recorded after `steps` steps in `elapsedSeconds`:
 * its own start and end, each step's states with the first turn of each of its polls (a surge,
 * a replace step and a control plane's DNS, whichever the step was), and one poll turn per
 * CHILD_MIN_POLL_SECONDS of its run.
 */
export function childHistoryAtMost(steps: number, elapsedSeconds: number): number {
  const fixedPerStep =
    CHILD_HISTORY.surgeStep + CHILD_HISTORY.replaceStep + CHILD_HISTORY.controlPlaneDns;
  const turns = Math.floor(Math.max(0, elapsedSeconds) / CHILD_MIN_POLL_SECONDS);
  return CHILD_HISTORY.perExecution + steps * fixedPerStep + CHILD_HISTORY.pollTurn * turns;
}

/**
 * Whether a child that has rolled `steps` steps since `startedAt` may roll another: always
 * below `batchLimit` (what the parent's own history bound counts on), past it while the
 * history it can hold at most now plus a worst-case step stays within the headroom of Step
 * Functions' quota (the rest is for Task retries).
 */
export function childMayRollAnother(input: {
  steps: number;
  batchLimit: number;
  startedAt: string;
  now: Date;
  timeouts: ChildTimeouts;
}): boolean {
  if (input.steps < input.batchLimit) return true;
  const started = new Date(input.startedAt).getTime();
  // An unreadable start time proves nothing: the child ends and a fresh one goes on.
  if (!Number.isFinite(started)) return false;
  const elapsedSeconds = (input.now.getTime() - started) / 1000;
  return (
    childHistoryAtMost(input.steps, elapsedSeconds) + worstBatchEvents(input.timeouts) <=
    HISTORY_EVENT_LIMIT * HISTORY_HEADROOM
  );
}
