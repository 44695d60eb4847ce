import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import {
  ExecutionHistory,
  HISTORY_EVENT_LIMIT,
  PAYLOAD_LIMIT_BYTES,
} from '../../src/local/sfn/history.js';
import { type Definition, runDefinition } from '../../src/local/sfn/step-functions.js';

// Small definitions whose Step Functions Standard history is known event by event (see the
// list in src/local/sfn/history.ts); each test spells the AWS events out in its expectation.
const FN = 'arn:aws:lambda:us-east-1:123456789012:function:f';
type Handler = (input: any) => Promise<any>;
const ok: Handler = async (input) => input;
const failing = (name: string, times = Infinity): Handler => {
  let calls = 0;
  return async (input) => {
    calls += 1;
    if (calls <= times) throw Object.assign(new Error(`${name} #${calls}`), { name });
    return input;
  };
};
const run = (
  definition: Definition,
  handlers: Record<string, Handler> = {},
  input: unknown = {},
  historyEventLimit?: number,
) =>
  runDefinition(definition, {
    input: input as never,
    handlers,
    stateMachineName: 'test',
    waitMs: 1,
    ...(historyEventLimit ? { historyEventLimit } : {}),
  });

describe('history events and transitions of a local execution', () => {
  it('counts a Pass state: ExecutionStarted, PassStateEntered, PassStateExited, ExecutionSucceeded', async () => {
    const result = await run({ StartAt: 'P', States: { P: { Type: 'Pass', End: true } } });

    expect(result).toMatchObject({ status: 'SUCCEEDED', historyEvents: 4, transitions: 1 });
  });

  it('counts a Lambda Task as 5 events (entered, scheduled, started, succeeded, exited) and a Succeed as 2', async () => {
    const result = await run(
      {
        StartAt: 'T',
        States: { T: { Type: 'Task', Resource: FN, Next: 'Done' }, Done: { Type: 'Succeed' } },
      },
      { T: ok },
    );

    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      historyEvents: 1 + 5 + 2 + 1,
      transitions: 2,
    });
  });

  it('adds scheduled, started and failed per retried attempt, and a transition per retry', async () => {
    const definition: Definition = {
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: FN,
          Retry: [{ ErrorEquals: ['TransientAwsError'], MaxAttempts: 3 }],
          End: true,
        },
      },
    };

    const result = await run(definition, { T: failing('TransientAwsError', 2) });

    // TaskStateEntered, 2 x (scheduled, started, failed), scheduled, started, succeeded, TaskStateExited
    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      historyEvents: 1 + 1 + 2 * 3 + 3 + 1 + 1,
      transitions: 3,
    });
  });

  it('records a caught error with TaskStateExited, and a Fail state with FailStateEntered then ExecutionFailed', async () => {
    const definition: Definition = {
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: FN,
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Failed' }],
          End: true,
        },
        Failed: { Type: 'Fail', Error: 'Boom', Cause: 'it failed' },
      },
    };

    const result = await run(definition, { T: failing('Boom') });

    expect(result).toMatchObject({
      status: 'FAILED',
      error: { name: 'Boom' },
      historyEvents: 1 + 5 + 1 + 1,
      transitions: 2,
    });
  });

  it('ends an uncaught Task failure without TaskStateExited', async () => {
    const result = await run(
      { StartAt: 'T', States: { T: { Type: 'Task', Resource: FN, End: true } } },
      { T: failing('Boom') },
    );

    expect(result).toMatchObject({
      status: 'FAILED',
      error: { name: 'Boom' },
      historyEvents: 1 + 4 + 1,
      transitions: 1,
    });
  });

  it('counts a Pass, Wait, Choice poll loop at 6 events and 3 transitions a turn', async () => {
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

    const result = await run(definition, {}, { n: 0 });

    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      historyEvents: 1 + 3 * 6 + 2 + 1,
      transitions: 3 * 3 + 1,
    });
  });

  it('counts a Map state: entered, started, per iteration started/succeeded around its states, succeeded, exited', async () => {
    const definition: Definition = {
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map',
          ItemsPath: '$.items',
          Iterator: { StartAt: 'T', States: { T: { Type: 'Task', Resource: FN, End: true } } },
          End: true,
        },
      },
    };

    const result = await run(definition, { T: ok }, { items: [1, 2] });

    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      historyEvents: 1 + 2 + 2 * (1 + 5 + 1) + 2 + 1,
      transitions: 1 + 2,
    });
  });

  it('counts a Parallel state: entered, started, its branches, succeeded, exited (no event per branch)', async () => {
    const branch = (name: string) => ({
      StartAt: name,
      States: { [name]: { Type: 'Pass', End: true } },
    });
    const definition: Definition = {
      StartAt: 'Both',
      States: { Both: { Type: 'Parallel', Branches: [branch('A'), branch('B')], End: true } },
    };

    const result = await run(definition);

    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      historyEvents: 1 + 2 + 2 * 2 + 2 + 1,
      transitions: 3,
    });
  });
});

describe('state sizes of a local execution', () => {
  it("reports the largest state input or output, a Task's result included", async () => {
    const big = 'x'.repeat(10_000);
    const definition: Definition = {
      StartAt: 'T',
      States: { T: { Type: 'Task', Resource: FN, ResultPath: null, End: true } },
    };

    const result = await run(definition, { T: async () => ({ big }) }, { small: 1 });

    expect(result.status).toBe('SUCCEEDED');
    // The Task's result ({"big":"xxx..."}) is discarded by ResultPath null but still counted.
    expect(result.maxStateBytes).toBe(JSON.stringify({ big }).length);
  });
});

describe('quotas of a local execution', () => {
  const endlessLoop: Definition = {
    StartAt: 'Poll',
    States: {
      Poll: { Type: 'Pass', Next: 'Again' },
      Again: {
        Type: 'Choice',
        Choices: [{ Variable: '$.stop', IsPresent: true, Next: 'Done' }],
        Default: 'Poll',
      },
      Done: { Type: 'Succeed' },
    },
  };

  it(`ends a history that reaches Step Functions' ${HISTORY_EVENT_LIMIT} events with ExecutionFailed as the last one`, () => {
    const history = new ExecutionHistory();
    history.onEngineEvent({ type: 'ExecutionStarted' });

    for (let turn = 0; turn < HISTORY_EVENT_LIMIT; turn += 1) {
      history.onEngineEvent({
        type: 'StateEntered',
        state: { name: 'Poll', type: 'Pass', input: {} },
      });
      history.onEngineEvent({
        type: 'StateExited',
        state: { name: 'Poll', type: 'Pass', output: {} },
      });
    }

    expect(history.failure).toEqual({
      name: 'States.Runtime',
      cause: expect.stringContaining(`maximum number of history events (${HISTORY_EVENT_LIMIT})`),
    });
    expect(history.events).toBe(HISTORY_EVENT_LIMIT);
    expect(history.byType.get('ExecutionFailed')).toBe(1);
  });

  it('fails a Pass and Choice loop that reaches the history quota with States.Runtime', async () => {
    const result = await run(endlessLoop, {}, {}, 200);

    expect(result.status).toBe('FAILED');
    expect(result.error).toEqual({
      name: 'States.Runtime',
      cause: expect.stringContaining('maximum number of history events (200)'),
    });
    expect(result.historyEvents).toBe(200);
  });

  it('stops a Task loop at the quota without invoking its handler again', async () => {
    let calls = 0;
    const definition: Definition = {
      StartAt: 'T',
      States: {
        T: { Type: 'Task', Resource: FN, Next: 'Again' },
        Again: {
          Type: 'Choice',
          Choices: [{ Variable: '$.stop', IsPresent: true, Next: 'Done' }],
          Default: 'T',
        },
        Done: { Type: 'Succeed' },
      },
    };

    const result = await run(definition, { T: async (i) => ((calls += 1), i) }, {}, 100);

    // 1 + 7 per turn: turn 14 ends at event 99, so the 15th Task is entered and never invoked.
    expect(result).toMatchObject({
      status: 'FAILED',
      error: { name: 'States.Runtime' },
      historyEvents: 100,
    });
    expect(calls).toBe(14);
  });

  it('fails with States.DataLimitExceeded when a Task returns more than 256 KiB, which a States.ALL Catch does not take', async () => {
    let recorded = false;
    const definition: Definition = {
      StartAt: 'Big',
      States: {
        Big: {
          Type: 'Task',
          Resource: FN,
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Record' }],
          End: true,
        },
        Record: { Type: 'Task', Resource: FN, End: true },
      },
    };

    const result = await run(definition, {
      Big: async () => ({ blob: 'x'.repeat(PAYLOAD_LIMIT_BYTES) }),
      Record: async () => ((recorded = true), {}),
    });

    expect(result).toMatchObject({
      status: 'FAILED',
      error: {
        name: 'States.DataLimitExceeded',
        cause: expect.stringContaining('the result of state Big is 262155 bytes'),
      },
    });
    expect(recorded).toBe(false);
  });

  it('fails with States.DataLimitExceeded when a state output grows past 256 KiB, before the next Task runs', async () => {
    let third = false;
    const half = async () => 'y'.repeat(150 * 1024);
    const definition: Definition = {
      StartAt: 'A',
      States: {
        A: { Type: 'Task', Resource: FN, ResultPath: '$.a', Next: 'B' },
        B: { Type: 'Task', Resource: FN, ResultPath: '$.b', Next: 'C' },
        C: { Type: 'Task', Resource: FN, End: true },
      },
    };

    const result = await run(definition, { A: half, B: half, C: async () => ((third = true), {}) });

    expect(result).toMatchObject({
      status: 'FAILED',
      error: {
        name: 'States.DataLimitExceeded',
        cause: expect.stringContaining('the output of state B'),
      },
    });
    expect(third).toBe(false);
  });

  it('accepts a state output of exactly 256 KiB', async () => {
    const exact = async () => 'z'.repeat(PAYLOAD_LIMIT_BYTES - 2);

    const result = await run(
      { StartAt: 'T', States: { T: { Type: 'Task', Resource: FN, End: true } } },
      { T: exact },
    );

    expect(result.status).toBe('SUCCEEDED');
  });

  it('fails with States.DataLimitExceeded when the last state, a Pass, outputs more than 256 KiB', async () => {
    const input = { blob: 'x'.repeat(130 * 1024) };
    const definition: Definition = {
      StartAt: 'Double',
      States: {
        Double: { Type: 'Pass', Parameters: { 'a.$': '$.blob', 'b.$': '$.blob' }, End: true },
      },
    };

    const result = await run(definition, {}, input);

    expect(result).toMatchObject({ status: 'FAILED', error: { name: 'States.DataLimitExceeded' } });
  });

  it('refuses a null execution input with InvalidInputError, not States.Runtime', async () => {
    const attempt = run({ StartAt: 'P', States: { P: { Type: 'Pass', End: true } } }, {}, null);

    await expect(attempt).rejects.toThrow(
      new InvalidInputError([{ path: '(input)', message: 'expected object, got null' }]),
    );
  });

  it('refuses an execution input over 256 KiB before anything runs', async () => {
    const attempt = run(
      { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } },
      {},
      { blob: 'x'.repeat(PAYLOAD_LIMIT_BYTES) },
    );

    await expect(attempt).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe('definitions the engine refuses', () => {
  // The runner checks a definition once per process and remembers only the ones that passed.
  it('refuses an invalid definition each time it is run, and runs a valid one each time', async () => {
    const invalid = { StartAt: 'P', States: { P: { Type: 'Pass', Next: 'Missing' } } };
    const valid = { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } };

    await expect(run(structuredClone(invalid))).rejects.toThrow(/definition is invalid/);
    await expect(run(structuredClone(invalid))).rejects.toThrow(/definition is invalid/);
    expect(await run(structuredClone(valid))).toMatchObject({ status: 'SUCCEEDED' });
    expect(await run(structuredClone(valid))).toMatchObject({ status: 'SUCCEEDED' });
  });
});
