import type { Clock } from '../../clock.js';

/**
 * A discrete-event simulated clock for local runs (`RunOptions.clock`). Wait states and retry
 * intervals sleep on it instead of on timers; simulated time stands still while anything can
 * still run and jumps to the earliest sleeper only when nothing can: no Lambda handler in flight
 * (the runner wraps each in `hold`), no execution between states, every Map iteration, Parallel
 * branch and child execution asleep. So branches that wait side by side overlap in simulated
 * time, as they do on AWS, and the simulated duration of a run is the same however long its
 * handlers take in real time: it depends only on what the executions do.
 *
 * "Nothing can run" is detected as: no hold open and no sleep, hold or wake-up for a few turns of
 * the event loop. Between states the engine (aws-local-stepfunctions) runs on promise jobs and
 * setImmediate only, never on I/O or timers, so a few idle turns mean it has reached a Wait, a
 * retry pause or the end; anything that does I/O must run inside `hold`.
 */

/** Event-loop turns with nothing happening before the clock may move. */
const IDLE_TURNS = 3;

interface Sleeper {
  at: number;
  seq: number;
  wake: () => void;
}

export class SimClock implements Clock {
  private time: number;
  private readonly startTime: number;
  private sleepers: Sleeper[] = [];
  private holds = 0;
  private activity = 0;
  private seq = 0;
  private advancing = false;
  private seed = 0x2545f491;

  /** @param start the simulated time at the beginning (a fixed instant by default, so runs repeat). */
  constructor(start: Date | string = '2026-01-01T00:00:00.000Z') {
    this.time = new Date(start).getTime();
    if (Number.isNaN(this.time))
      throw new TypeError(`SimClock: start ${String(start)} is not a date`);
    this.startTime = this.time;
  }

  now(): Date {
    return new Date(this.time);
  }

  /** Simulated seconds since the clock was made. */
  elapsedSeconds(): number {
    return (this.time - this.startTime) / 1000;
  }

  /** Sleepers not yet woken (for tests and reports). */
  get sleeping(): number {
    return this.sleepers.length;
  }

  /**
   * Resolves once simulated time has reached now + `seconds`. A `signal` that aborts takes the
   * sleeper out (it resolves at once and no longer holds the clock back or pulls it forward).
   */
  sleep(seconds: number, signal?: AbortSignal): Promise<void> {
    if (!Number.isFinite(seconds) || seconds < 0)
      throw new RangeError(`SimClock.sleep: ${seconds} is not a number of seconds >= 0`);
    if (signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const onAbort = () => {
        const i = this.sleepers.indexOf(sleeper);
        if (i !== -1) this.sleepers.splice(i, 1);
        this.touch();
        resolve();
      };
      // A sleeper that wakes takes its abort listener off: an execution's signal would otherwise collect one per Wait.
      const sleeper: Sleeper = {
        at: this.time + Math.round(seconds * 1000),
        seq: this.seq++,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      // Sorted by wake-up time, then by when the sleep began: equal times wake in order.
      const index = this.sleepers.findIndex((s) => s.at > sleeper.at);
      this.sleepers.splice(index === -1 ? this.sleepers.length : index, 0, sleeper);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.touch();
    });
  }

  /** Runs `work` (real I/O: a Lambda handler, loading a child machine) with simulated time held still. */
  async hold<T>(work: () => Promise<T>): Promise<T> {
    this.holds += 1;
    this.activity += 1;
    try {
      return await work();
    } finally {
      this.holds -= 1;
      this.touch();
    }
  }

  /** A number in [0, 1) from a fixed-seed generator: jittered retries repeat from run to run. */
  random(): number {
    // xorshift32
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed / 0x1_0000_0000;
  }

  private touch(): void {
    this.activity += 1;
    if (!this.advancing && this.holds === 0 && this.sleepers.length > 0) void this.advance();
  }

  private async advance(): Promise<void> {
    this.advancing = true;
    try {
      for (;;) {
        let quiet = 0;
        while (quiet < IDLE_TURNS) {
          const seen = this.activity;
          await new Promise<void>((resolve) => setImmediate(resolve));
          // A hold that ends or a sleep that begins calls touch() again.
          if (this.holds > 0 || this.sleepers.length === 0) return;
          quiet = this.activity === seen ? quiet + 1 : 0;
        }
        const at = this.sleepers[0]!.at;
        this.time = Math.max(this.time, at);
        const due = this.sleepers.filter((s) => s.at <= this.time);
        this.sleepers = this.sleepers.filter((s) => s.at > this.time);
        this.activity += 1;
        for (const sleeper of due) sleeper.wake();
      }
    } finally {
      this.advancing = false;
    }
  }
}
