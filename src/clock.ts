/**
 * The one place the code asks what time it is. Stages and planning call `now()` instead of
 * `new Date()`, so that a local run can substitute a simulated clock (src/local/sfn/sim-clock.ts):
 * the bench runs a 1,000-node roll through hours of simulated Wait states in minutes, and every
 * lock lease, timestamp and "launched N seconds ago" the handlers compute follows that clock.
 * In Lambda nothing calls `useClock`, so `now()` is the system clock.
 */

/** A source of the current time. */
export interface Clock {
  now(): Date;
}

const SYSTEM_CLOCK: Clock = { now: () => new Date() };

let current: Clock = SYSTEM_CLOCK;

/** The current time on the clock in use (the system clock unless `useClock` set another). */
export function now(): Date {
  return current.now();
}

/**
 * Makes `clock` the clock `now()` reads, or the system clock again when `undefined`.
 * Returns the clock in use before, so a caller can put it back.
 */
export function useClock(clock: Clock | undefined): Clock {
  const previous = current;
  current = clock ?? SYSTEM_CLOCK;
  return previous;
}

/** The ISO time `seconds` after `now`: the deadline a polling step carries through the state machine. */
export function deadlineAfter(now: Date, seconds: number): string {
  return new Date(now.getTime() + seconds * 1000).toISOString();
}

/** The time a stage reads: the clock its deps were given (a test's fixed time), else `now()`. */
export function nowFor(deps: { now?: () => Date }): Date {
  return (deps.now ?? now)();
}
