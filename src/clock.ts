import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as timerSleep } from 'node:timers/promises';

/**
 * The one place the code asks what time it is, or waits. Stages, the state store, planning and
 * the CLI call `now()` and `sleep()` instead of `new Date()`, `Date.now()` or timers, so that a
 * test or a local run can put another clock in with `useClock`: the local Step Functions runner
 * puts in its simulated clock (src/local/sfn/sim-clock.ts), so that a 1,000-node roll runs through
 * hours of simulated Wait states in minutes and every lock lease, timestamp and "launched N
 * seconds ago" the handlers compute follows it. In Lambda nothing calls `useClock`: the system
 * clock.
 */

/** A source of the current time, and a way to wait on it. */
export interface Clock {
  now(): Date;
  /** Resolves after `milliseconds`, or at once with a rejection when `signal` aborts. */
  sleep(milliseconds: number, signal?: AbortSignal): Promise<void>;
}

/** The machine's clock and timers. */
export const SYSTEM_CLOCK: Clock = {
  now: () => new Date(),
  sleep: async (milliseconds, signal) => {
    await timerSleep(milliseconds, undefined, signal ? { signal } : undefined);
  },
};

let current: Clock = SYSTEM_CLOCK;
/** A clock for one call and what it awaits (`withClock`), over the process's. */
const scoped = new AsyncLocalStorage<Clock>();

const inUse = (): Clock => scoped.getStore() ?? current;

/** The current time on the clock in use (the system clock unless `useClock` or `withClock` set another). */
export function now(): Date {
  return inUse().now();
}

/** Waits `milliseconds` on the clock in use. */
export function sleep(milliseconds: number, signal?: AbortSignal): Promise<void> {
  return inUse().sleep(milliseconds, signal);
}

/**
 * Runs `work` with `clock` as the clock it (and everything it awaits) reads, the rest of the
 * process keeping its own: calls that run side by side at different simulated times.
 */
export function withClock<T>(clock: Clock, work: () => T): T {
  return scoped.run(clock, work);
}

/**
 * Makes `clock` the clock `now()` and `sleep()` use, or the system clock again when
 * `undefined`. Returns the clock in use before, so a caller can put it back.
 */
export function useClock(clock: Clock | undefined): Clock {
  const previous = current;
  current = clock ?? SYSTEM_CLOCK;
  return previous;
}

/** A clock that stands at `time` (a test's fixed time) and sleeps on the system's timers. */
export function fixedClock(time: Date | (() => Date)): Clock {
  return { now: typeof time === 'function' ? time : () => time, sleep: SYSTEM_CLOCK.sleep };
}

/** The ISO time `seconds` after `now`: the deadline a polling step carries through the state machine. */
export function deadlineAfter(now: Date, seconds: number): string {
  return new Date(now.getTime() + seconds * 1000).toISOString();
}
