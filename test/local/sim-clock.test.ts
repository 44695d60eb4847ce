import { afterEach, describe, expect, it } from 'vitest';
import { now, useClock } from '../../src/clock.js';
import { SimClock } from '../../src/local/sfn/sim-clock.js';
import {
  type ChildStateMachine,
  type Definition,
  runDefinition,
} from '../../src/local/sfn/step-functions.js';

// Executions under a simulated clock: Waits and retry pauses take simulated time only, which
// moves when nothing else can run. Each test reads the clock (or now() in a handler) afterwards.
const FN = 'arn:aws:lambda:us-east-1:123456789012:function:f';
const START = '2026-01-01T00:00:00.000Z';
type Handler = (input: any) => Promise<any>;

const run = (
  definition: Definition,
  clock: SimClock,
  handlers: Record<string, Handler> = {},
  input: unknown = {},
  extra: { stateMachines?: (arn: string) => ChildStateMachine } = {},
) =>
  runDefinition(definition, {
    input: input as never,
    handlers,
    stateMachineName: 'test',
    clock,
    ...extra,
  });

/** A handler that records the simulated time it runs at, in seconds after START. */
const stamper =
  (seen: number[]): Handler =>
  async (input) => {
    seen.push((now().getTime() - Date.parse(START)) / 1000);
    return input;
  };

const wait = (seconds: number, next?: string) => ({
  Type: 'Wait',
  Seconds: seconds,
  ...(next ? { Next: next } : { End: true }),
});

afterEach(() => {
  useClock(undefined);
});

describe('SimClock', () => {
  it('wakes a sleeper when nothing else runs, at exactly its simulated time', async () => {
    const clock = new SimClock(START);

    await clock.sleep(42);

    expect(clock.elapsedSeconds()).toBe(42);
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:42.000Z');
  });

  it('does not move while work is held, however long it takes in real time', async () => {
    const clock = new SimClock(START);
    let elapsedWhenWorkEnded = -1;
    const sleeper = clock.sleep(5);

    await clock.hold(async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      elapsedWhenWorkEnded = clock.elapsedSeconds();
    });
    await sleeper;

    expect(elapsedWhenWorkEnded).toBe(0);
    expect(clock.elapsedSeconds()).toBe(5);
  });

  it('takes an aborted sleeper out, so that it no longer pulls time forward', async () => {
    const clock = new SimClock(START);
    const stop = new AbortController();
    const long = clock.sleep(1000, stop.signal);

    stop.abort();
    await long;
    await clock.sleep(3);

    expect(clock.elapsedSeconds()).toBe(3);
  });
});

describe('local runs under a simulated clock', () => {
  it('ends two parallel branches that each wait 100 s at +100 s', async () => {
    const clock = new SimClock(START);
    const seen: number[] = [];
    const definition: Definition = {
      StartAt: 'Both',
      States: {
        Both: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'WaitA', States: { WaitA: wait(100) } },
            { StartAt: 'WaitB', States: { WaitB: wait(100) } },
          ],
          Next: 'After',
        },
        After: { Type: 'Task', Resource: FN, End: true },
      },
    };

    const result = await run(definition, clock, { After: stamper(seen) });

    expect(result.status).toBe('SUCCEEDED');
    expect(seen).toEqual([100]);
    expect(clock.elapsedSeconds()).toBe(100);
  });

  it('adds up sequential waits', async () => {
    const clock = new SimClock(START);
    const seen: number[] = [];
    const definition: Definition = {
      StartAt: 'First',
      States: {
        First: wait(30, 'Mark'),
        Mark: { Type: 'Task', Resource: FN, Next: 'Second' },
        Second: wait(70, 'End'),
        End: { Type: 'Task', Resource: FN, End: true },
      },
    };

    await run(definition, clock, { Mark: stamper(seen), End: stamper(seen) });

    expect(seen).toEqual([30, 100]);
  });

  it('overlaps a branch whose handler takes real time with one that waits, without the real time counting', async () => {
    const clock = new SimClock(START);
    const seen: number[] = [];
    const slow: Handler = async (input) => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      return input;
    };
    const definition: Definition = {
      StartAt: 'Both',
      States: {
        Both: {
          Type: 'Parallel',
          Branches: [
            {
              StartAt: 'Slow',
              States: {
                Slow: { Type: 'Task', Resource: FN, Next: 'Short' },
                Short: wait(5, 'MarkA'),
                MarkA: { Type: 'Task', Resource: FN, End: true },
              },
            },
            {
              StartAt: 'Long',
              States: { Long: wait(10, 'MarkB'), MarkB: { Type: 'Task', Resource: FN, End: true } },
            },
          ],
          End: true,
        },
      },
    };

    await run(definition, clock, { Slow: slow, MarkA: stamper(seen), MarkB: stamper(seen) });

    expect(seen).toEqual([5, 10]);
  });

  it('waits SecondsPath seconds and until a TimestampPath time', async () => {
    const clock = new SimClock(START);
    const seen: number[] = [];
    const definition: Definition = {
      StartAt: 'ForSeconds',
      States: {
        ForSeconds: { Type: 'Wait', SecondsPath: '$.seconds', Next: 'Mark' },
        Mark: { Type: 'Task', Resource: FN, Next: 'Until' },
        Until: { Type: 'Wait', TimestampPath: '$.until', Next: 'End' },
        End: { Type: 'Task', Resource: FN, End: true },
      },
    };

    await run(
      definition,
      clock,
      { Mark: stamper(seen), End: stamper(seen) },
      { seconds: 12, until: '2026-01-01T01:00:00Z' },
    );

    expect(seen).toEqual([12, 3600]);
  });

  it('sleeps each retry interval, IntervalSeconds × BackoffRate^n capped by MaxDelaySeconds, in simulated time', async () => {
    const clock = new SimClock(START);
    const seen: number[] = [];
    let calls = 0;
    const flaky: Handler = async (input) => {
      await stamper(seen)(input);
      calls += 1;
      if (calls < 4)
        throw Object.assign(new Error(`attempt ${calls}`), { name: 'TransientAwsError' });
      return input;
    };
    const definition: Definition = {
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: FN,
          Retry: [
            {
              ErrorEquals: ['TransientAwsError'],
              IntervalSeconds: 2,
              BackoffRate: 3,
              MaxDelaySeconds: 10,
              MaxAttempts: 5,
            },
          ],
          End: true,
        },
      },
    };

    const result = await run(definition, clock, { T: flaky });

    expect(result.status).toBe('SUCCEEDED');
    // Pauses of 2, 6 and min(18, 10) seconds.
    expect(seen).toEqual([0, 2, 8, 18]);
  });

  it('counts a retried Task as Step Functions does: three events per attempt and a transition per retry', async () => {
    let calls = 0;
    const definition: Definition = {
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: FN,
          Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 3 }],
          End: true,
        },
      },
    };

    const result = await run(definition, new SimClock(START), {
      T: async (i) => (
        (calls += 1),
        calls <= 2 ? Promise.reject(Object.assign(new Error('no'), { name: 'Flaky' })) : i
      ),
    });

    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      historyEvents: 1 + 1 + 3 * 3 + 1 + 1,
      transitions: 3,
    });
  });

  it('fails after the retries run out and lets a Catch take the error', async () => {
    const clock = new SimClock(START);
    const definition: Definition = {
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: FN,
          Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 1, MaxAttempts: 2 }],
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Pass', End: true },
      },
    };

    const result = await run(definition, clock, {
      T: async () => Promise.reject(Object.assign(new Error('no'), { name: 'Flaky' })),
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ Error: 'Flaky' });
    expect(clock.elapsedSeconds()).toBe(1 + 2);
  });

  it('counts a Wait as a Wait in the history, as without a clock', async () => {
    const definition: Definition = {
      StartAt: 'Count',
      States: {
        Count: { Type: 'Pass', Parameters: { 'n.$': 'States.MathAdd($.n, 1)' }, Next: 'Pause' },
        Pause: { Type: 'Wait', Seconds: 20, Next: 'Enough' },
        Enough: {
          Type: 'Choice',
          Choices: [{ Variable: '$.n', NumericLessThan: 3, Next: 'Count' }],
          Default: 'Done',
        },
        Done: { Type: 'Succeed' },
      },
    };
    const clock = new SimClock(START);

    const result = await run(definition, clock, {}, { n: 0 });

    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      historyEvents: 1 + 3 * 6 + 2 + 1,
      transitions: 3 * 3 + 1,
    });
    expect(clock.elapsedSeconds()).toBe(60);
  });

  it('times the execution out at its TimeoutSeconds of simulated time', async () => {
    const clock = new SimClock(START);
    const definition: Definition = {
      TimeoutSeconds: 50,
      StartAt: 'Long',
      States: { Long: wait(100) },
    };

    const result = await run(definition, clock);

    expect(result).toMatchObject({ status: 'FAILED', error: { name: 'States.Timeout' } });
    expect(clock.elapsedSeconds()).toBe(50);
  });

  it('overlaps child executions started by a Map, and runs them one after another with MaxConcurrency 1', async () => {
    const child: Definition = { StartAt: 'Sleep', States: { Sleep: wait(100) } };
    const parent = (maxConcurrency: number): Definition => ({
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map',
          ItemsPath: '$.items',
          MaxConcurrency: maxConcurrency,
          Iterator: {
            StartAt: 'Start',
            States: {
              Start: {
                Type: 'Task',
                Resource: 'arn:aws:states:::states:startExecution.sync:2',
                Parameters: {
                  StateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:child',
                  Input: {},
                },
                End: true,
              },
            },
          },
          End: true,
        },
      },
    });
    const stateMachines = () => ({ definition: child, handlers: {}, stateMachineName: 'child' });
    const together = new SimClock(START);
    const oneByOne = new SimClock(START);

    const side = await run(parent(0), together, {}, { items: [1, 2, 3] }, { stateMachines });
    const serial = await run(parent(1), oneByOne, {}, { items: [1, 2, 3] }, { stateMachines });

    expect(together.elapsedSeconds()).toBe(100);
    expect(oneByOne.elapsedSeconds()).toBe(300);
    expect(side.executions!.slice(1).map((e) => e.stoppedAt)).toEqual(
      Array(3).fill('2026-01-01T00:01:40.000Z'),
    );
    expect(serial.executions!.slice(1).map((e) => [e.startedAt, e.stoppedAt])).toEqual([
      ['2026-01-01T00:00:00.000Z', '2026-01-01T00:01:40.000Z'],
      ['2026-01-01T00:01:40.000Z', '2026-01-01T00:03:20.000Z'],
      ['2026-01-01T00:03:20.000Z', '2026-01-01T00:05:00.000Z'],
    ]);
  });

  it('puts the system clock back when the run ends', async () => {
    const clock = new SimClock('2000-01-01T00:00:00Z');

    await run({ StartAt: 'P', States: { P: { Type: 'Pass', End: true } } }, clock);

    expect(Math.abs(now().getTime() - Date.now())).toBeLessThan(1000);
  });
});

describe('children a failed Map was waiting for', () => {
  it('stops them (ABORTED) when another iteration fails, as Step Functions stops .sync children', async () => {
    const clock = new SimClock(START);
    let lateWork = false;
    const machines: Record<string, Definition> = {
      fails: {
        StartAt: 'Boom',
        States: { Boom: { Type: 'Fail', Error: 'GroupFailed', Cause: 'no' } },
      },
      sleeps: {
        StartAt: 'Sleep',
        States: { Sleep: wait(100, 'Late'), Late: { Type: 'Task', Resource: FN, End: true } },
      },
    };
    const parent: Definition = {
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map',
          ItemsPath: '$.items',
          Iterator: {
            StartAt: 'Start',
            States: {
              Start: {
                Type: 'Task',
                Resource: 'arn:aws:states:::states:startExecution.sync:2',
                Parameters: { 'StateMachineArn.$': '$', Input: {} },
                End: true,
              },
            },
          },
          End: true,
        },
      },
    };
    const stateMachines = (arn: string) => ({
      definition: machines[arn]!,
      handlers: { Late: async () => ((lateWork = true), {}) },
      stateMachineName: arn,
    });

    const result = await run(parent, clock, {}, { items: ['sleeps', 'fails'] }, { stateMachines });

    expect(result).toMatchObject({ status: 'FAILED', error: { name: 'States.TaskFailed' } });
    expect(result.executions!.map((e) => [e.stateMachine, e.status])).toEqual([
      ['test', 'FAILED'],
      ['sleeps', 'ABORTED'],
      ['fails', 'FAILED'],
    ]);
    expect(lateWork).toBe(false);
    expect(clock.elapsedSeconds()).toBe(0);
  });
});
