import { describe, expect, it } from 'vitest';
import {
  CHILD_MIN_POLL_SECONDS,
  childHistoryAtMost,
  childMayRollAnother,
} from '../../src/planning/child-history.js';
import {
  CHILD_HISTORY,
  childBatchLimit,
  HISTORY_EVENT_LIMIT,
  worstBatchEvents,
} from '../../src/planning/rolling-update.js';

const T0 = new Date('2026-12-01T00:00:00.000Z');
const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
/** The bench's timeouts: an hour for replacements and validation, which allow 2 steps a child. */
const HOUR = {
  replacementTimeoutSeconds: 3600,
  drainTimeoutSeconds: 600,
  validationTimeoutSeconds: 3600,
  dnsTimeoutSeconds: 600,
};

describe('childHistoryAtMost', () => {
  it('counts the start and end, each step at its largest, and one poll turn per shortest wait of the run', () => {
    const perStep =
      CHILD_HISTORY.surgeStep + CHILD_HISTORY.replaceStep + CHILD_HISTORY.controlPlaneDns;

    expect(childHistoryAtMost(0, 0)).toBe(CHILD_HISTORY.perExecution);
    expect(childHistoryAtMost(3, 0)).toBe(CHILD_HISTORY.perExecution + 3 * perStep);
    expect(childHistoryAtMost(3, 25 * CHILD_MIN_POLL_SECONDS + 9)).toBe(
      CHILD_HISTORY.perExecution + 3 * perStep + 25 * CHILD_HISTORY.pollTurn,
    );
  });

  it('is at least what a child records when every poll turn waits its shortest', () => {
    // 5 replace steps, each with 40 extra drain turns of 10 s: 2,000 s.
    const recorded =
      CHILD_HISTORY.perExecution + 5 * CHILD_HISTORY.replaceStep + 200 * CHILD_HISTORY.pollTurn;

    expect(childHistoryAtMost(5, 200 * CHILD_MIN_POLL_SECONDS)).toBeGreaterThanOrEqual(recorded);
  });
});

describe('childMayRollAnother', () => {
  it('always rolls below batchLimit, however long the child has run', () => {
    const limit = childBatchLimit(HOUR);

    expect(
      childMayRollAnother({
        steps: limit - 1,
        batchLimit: limit,
        startedAt: T0.toISOString(),
        now: later(365 * 24 * 3600),
        timeouts: HOUR,
      }),
    ).toBe(true);
  });

  it('rolls on past batchLimit while its history leaves room for a worst-case step', () => {
    const limit = childBatchLimit(HOUR);

    // Ten steps in 36 minutes (a 30-node group of the bench).
    expect(
      childMayRollAnother({
        steps: 10,
        batchLimit: limit,
        startedAt: T0.toISOString(),
        now: later(2160),
        timeouts: HOUR,
      }),
    ).toBe(true);
  });

  it('continues as new once its history might not hold a worst-case step', () => {
    const limit = childBatchLimit(HOUR);
    const budget = HISTORY_EVENT_LIMIT * 0.8 - worstBatchEvents(HOUR);
    // The run time whose poll turns alone fill what is left after 10 steps.
    const turnsLeft = Math.ceil((budget - childHistoryAtMost(10, 0) + 1) / CHILD_HISTORY.pollTurn);
    const ask = (seconds: number) =>
      childMayRollAnother({
        steps: 10,
        batchLimit: limit,
        startedAt: T0.toISOString(),
        now: later(seconds),
        timeouts: HOUR,
      });

    expect(ask((turnsLeft - 1) * CHILD_MIN_POLL_SECONDS)).toBe(true);
    expect(ask(turnsLeft * CHILD_MIN_POLL_SECONDS)).toBe(false);
  });

  it('continues as new past batchLimit when the start time cannot be read', () => {
    expect(
      childMayRollAnother({
        steps: 2,
        batchLimit: 2,
        startedAt: 'not a time',
        now: T0,
        timeouts: HOUR,
      }),
    ).toBe(false);
  });
});
