import { afterEach } from 'vitest';
import { type Clock, fixedClock, useClock } from '../../src/clock.js';

// Every test file that sets the clock gets the system clock back after each test.
afterEach(() => {
  useClock(undefined);
});

/** Stands the clock every `now()` reads at `time` (or at what `time()` says) until the test ends. */
export function clockAt(time: Date | string | (() => Date)): Clock {
  const clock = fixedClock(typeof time === 'function' ? time : new Date(time));
  useClock(clock);
  return clock;
}
