import { describe, expect, it } from 'vitest';
import {
  type ChildStateMachine,
  type Definition,
  type ProgressEvent,
  runDefinition,
  substituteArns,
} from '../../src/local/sfn/step-functions.js';

// A parent definition whose Tasks start children through Step Functions' StartExecution
// integration; the children are toy definitions the test resolves from their ARNs. Event counts
// are spelled out per AWS event (see the list in src/local/sfn/history.ts).
const FN = 'arn:aws:lambda:us-east-1:123456789012:function:f';
const SYNC2 = 'arn:aws:states:::states:startExecution.sync:2';
const machineArn = (name: string) => `arn:aws:states:us-east-1:123456789012:stateMachine:${name}`;
type Handler = (input: any) => Promise<any>;

/** A parent: a Map over $.items, each item starting `child` with {item} as its input. */
const mapOfChildren = (
  child: string,
  resource = SYNC2,
  extra: Record<string, unknown> = {},
): Definition => ({
  StartAt: 'Each',
  States: {
    Each: {
      Type: 'Map',
      ItemsPath: '$.items',
      ...extra,
      Iterator: {
        StartAt: 'Start',
        States: {
          Start: {
            Type: 'Task',
            Resource: resource,
            Parameters: { StateMachineArn: machineArn(child), Input: { 'item.$': '$' } },
            End: true,
          },
        },
      },
      End: true,
    },
  },
});

/** A child that runs one Lambda Task, `Work`, on its input. */
const oneTask: Definition = {
  StartAt: 'Work',
  States: { Work: { Type: 'Task', Resource: FN, End: true } },
};

const resolver =
  (machines: Record<string, Omit<ChildStateMachine, 'stateMachineName'>>) =>
  (arn: string): ChildStateMachine => {
    const name = arn.split(':').pop()!;
    const machine = machines[name];
    if (!machine)
      throw Object.assign(new Error(`State Machine Does Not Exist: '${arn}'`), {
        name: 'StepFunctions.StateMachineDoesNotExistException',
      });
    return { ...machine, stateMachineName: name };
  };

const run = (
  definition: Definition,
  machines: Record<string, Omit<ChildStateMachine, 'stateMachineName'>>,
  input: unknown,
  extra: { onProgress?: (e: ProgressEvent) => void; handlers?: Record<string, Handler> } = {},
) =>
  runDefinition(definition, {
    input: input as never,
    handlers: extra.handlers ?? {},
    stateMachineName: 'parent',
    waitMs: 1,
    stateMachines: resolver(machines),
    ...(extra.onProgress ? { onProgress: extra.onProgress } : {}),
  });

describe('child executions (states:startExecution) in a local run', () => {
  it('runs a child per Map item and returns each child Output as JSON for .sync:2', async () => {
    const double: Handler = async (input) => ({ doubled: input.item * 2 });

    const result = await run(
      mapOfChildren('child'),
      { child: { definition: oneTask, handlers: { Work: double } } },
      { items: [1, 2, 3] },
    );

    expect(result.status).toBe('SUCCEEDED');
    expect((result.output as any[]).map((r) => r.Output)).toEqual([
      { doubled: 2 },
      { doubled: 4 },
      { doubled: 6 },
    ]);
    expect((result.output as any[])[0]).toMatchObject({
      Status: 'SUCCEEDED',
      Input: { item: 1 },
      StateMachineArn: machineArn('child'),
      ExecutionArn: expect.stringMatching(
        /^arn:aws:states:us-east-1:123456789012:execution:child:[0-9a-f-]{36}$/,
      ),
    });
  });

  it('counts each child in its own history and the parent Task as TaskScheduled, TaskStarted, TaskSubmitted, TaskSucceeded', async () => {
    const result = await run(
      mapOfChildren('child'),
      { child: { definition: oneTask, handlers: { Work: async (i) => i } } },
      { items: [1, 2, 3] },
    );

    // Parent: started, Map entered/started, 3 x (iteration started, Task entered/scheduled/started/submitted/succeeded/exited, iteration succeeded), Map succeeded/exited, succeeded.
    const parentEvents = 1 + 2 + 3 * (1 + 6 + 1) + 2 + 1;
    // Child: started, TaskStateEntered, LambdaFunctionScheduled/Started/Succeeded, TaskStateExited, succeeded.
    const childEvents = 1 + 5 + 1;
    expect(result.executions).toHaveLength(4);
    expect(result.executions![0]).toMatchObject({
      stateMachine: 'parent',
      status: 'SUCCEEDED',
      historyEvents: parentEvents,
      transitions: 4,
      lambdaInvocations: 0,
    });
    expect(result.executions!.slice(1)).toEqual(
      Array.from({ length: 3 }, () =>
        expect.objectContaining({
          stateMachine: 'child',
          status: 'SUCCEEDED',
          parentExecutionArn: result.executionArn,
          historyEvents: childEvents,
          transitions: 1,
          lambdaInvocations: 1,
        }),
      ),
    );
    expect(result).toMatchObject({
      historyEvents: parentEvents,
      maxHistoryEvents: parentEvents,
      transitions: 4 + 3,
      lambdaInvocations: 3,
    });
  });

  it('fails the parent Task with States.TaskFailed and the child DescribeExecution (Error, Cause) as the cause, which a Catch takes', async () => {
    const failing: Definition = {
      StartAt: 'Boom',
      States: {
        Boom: { Type: 'Fail', Error: 'ClusterLockedError', Cause: 'held by someone else' },
      },
    };
    const parent: Definition = {
      StartAt: 'Start',
      States: {
        Start: {
          Type: 'Task',
          Resource: SYNC2,
          Parameters: { StateMachineArn: machineArn('child'), Input: {} },
          Catch: [{ ErrorEquals: ['States.TaskFailed'], ResultPath: '$.error', Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Pass', End: true },
      },
    };

    const result = await run(parent, { child: { definition: failing, handlers: {} } }, {});

    expect(result.status).toBe('SUCCEEDED');
    const error = (result.output as any).error;
    expect(error.Error).toBe('States.TaskFailed');
    expect(JSON.parse(error.Cause)).toMatchObject({
      Status: 'FAILED',
      Error: 'ClusterLockedError',
      Cause: 'held by someone else',
      StateMachineArn: machineArn('child'),
    });
    expect(result.executions!.map((e) => e.status)).toEqual(['SUCCEEDED', 'FAILED']);
  });

  it('fails only the child that passes its history quota; the parent catches it', async () => {
    const loop: Definition = {
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
    const parent: Definition = {
      StartAt: 'Start',
      States: {
        Start: {
          Type: 'Task',
          Resource: SYNC2,
          Parameters: { StateMachineArn: machineArn('looper'), Input: {} },
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Pass', End: true },
      },
    };

    const result = await run(
      parent,
      { looper: { definition: loop, handlers: {}, historyEventLimit: 50 } },
      {},
    );

    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse((result.output as any).error.Cause)).toMatchObject({
      Error: 'States.Runtime',
      Cause: expect.stringContaining('maximum number of history events (50)'),
    });
    expect(result.executions![1]).toMatchObject({
      stateMachine: 'looper',
      status: 'FAILED',
      historyEvents: 50,
    });
    expect(result.maxHistoryEvents).toBe(50);
  });

  it('honours the Map MaxConcurrency: one child at a time with 1', async () => {
    let running = 0;
    let most = 0;
    const slow: Handler = async (input) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running -= 1;
      return input;
    };

    const result = await run(
      mapOfChildren('child', SYNC2, { MaxConcurrency: 1 }),
      { child: { definition: oneTask, handlers: { Work: slow } } },
      { items: [1, 2, 3] },
    );

    expect(result.status).toBe('SUCCEEDED');
    expect(most).toBe(1);
  });

  it('runs the children of a Map without MaxConcurrency side by side', async () => {
    let running = 0;
    let most = 0;
    const slow: Handler = async (input) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 50));
      running -= 1;
      return input;
    };

    await run(
      mapOfChildren('child'),
      { child: { definition: oneTask, handlers: { Work: slow } } },
      { items: [1, 2, 3] },
    );

    expect(most).toBe(3);
  });

  it('returns Input and Output as JSON strings for .sync', async () => {
    const result = await run(
      mapOfChildren('child', 'arn:aws:states:::states:startExecution.sync'),
      { child: { definition: oneTask, handlers: { Work: async () => ({ a: 1 }) } } },
      { items: [7] },
    );

    expect((result.output as any[])[0]).toMatchObject({
      Status: 'SUCCEEDED',
      Input: '{"item":7}',
      Output: '{"a":1}',
    });
  });

  it('returns ExecutionArn and StartDate at once for the fire-and-forget startExecution, and still runs the child to its end', async () => {
    let childRan = false;
    const parent: Definition = {
      StartAt: 'Start',
      States: {
        Start: {
          Type: 'Task',
          Resource: 'arn:aws:states:::states:startExecution',
          Parameters: { StateMachineArn: machineArn('child'), Input: {}, Name: 'fire' },
          End: true,
        },
      },
    };

    const result = await run(
      parent,
      { child: { definition: oneTask, handlers: { Work: async () => ((childRan = true), {}) } } },
      {},
    );

    expect(Object.keys(result.output as object).sort()).toEqual(['ExecutionArn', 'StartDate']);
    expect((result.output as any).ExecutionArn).toBe(
      'arn:aws:states:us-east-1:123456789012:execution:child:fire',
    );
    // ExecutionStarted; TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded (no TaskSubmitted), TaskStateExited; ExecutionSucceeded.
    expect(result.executions![0]!.historyEvents).toBe(1 + 5 + 1);
    expect(childRan).toBe(true);
    expect(result.executions![1]).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('refuses a second child with the same Name with StepFunctions.ExecutionAlreadyExistsException', async () => {
    const named = mapOfChildren('child');
    ((named.States.Each as any).Iterator.States.Start.Parameters as any).Name = 'same';
    (named.States.Each as any).MaxConcurrency = 1;

    const result = await run(
      named,
      { child: { definition: oneTask, handlers: { Work: async (i) => i } } },
      { items: [1, 2] },
    );

    expect(result).toMatchObject({
      status: 'FAILED',
      error: {
        name: 'StepFunctions.ExecutionAlreadyExistsException',
        cause: expect.stringContaining('execution:child:same'),
      },
    });
  });

  it('answers a second start of a running execution with the same name and input with that execution, as StartExecution does for a retried start', async () => {
    const named = mapOfChildren('child');
    ((named.States.Each as any).Iterator.States.Start.Parameters as any).Name = 'same';
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const work = async (i: any) => {
      runs += 1;
      setImmediate(release);
      await gate;
      return i;
    };

    const result = await run(
      named,
      { child: { definition: oneTask, handlers: { Work: work } } },
      { items: [7, 7] },
    );

    expect(result.status).toBe('SUCCEEDED');
    expect(runs).toBe(1);
    expect(result.executions!.filter((e) => e.stateMachine === 'child')).toHaveLength(1);
    const outputs = result.output as Array<{ ExecutionArn: string; Output: unknown }>;
    expect(outputs.map((o) => o.ExecutionArn)).toEqual([
      'arn:aws:states:us-east-1:123456789012:execution:child:same',
      'arn:aws:states:us-east-1:123456789012:execution:child:same',
    ]);
    expect(outputs.map((o) => o.Output)).toEqual([{ item: 7 }, { item: 7 }]);
  });

  it('refuses a running name started again with another input with ExecutionAlreadyExists', async () => {
    const named = mapOfChildren('child');
    ((named.States.Each as any).Iterator.States.Start.Parameters as any).Name = 'same';
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const work = async (i: any) => {
      setImmediate(release);
      await gate;
      return i;
    };

    const result = await run(
      named,
      { child: { definition: oneTask, handlers: { Work: work } } },
      { items: [1, 2] },
    );

    expect(result).toMatchObject({
      status: 'FAILED',
      error: { name: 'StepFunctions.ExecutionAlreadyExistsException' },
    });
  });

  it('refuses a name of a closed execution with ExecutionAlreadyExists, even with the same input', async () => {
    const named = mapOfChildren('child');
    ((named.States.Each as any).Iterator.States.Start.Parameters as any).Name = 'same';
    (named.States.Each as any).MaxConcurrency = 1;

    const result = await run(
      named,
      { child: { definition: oneTask, handlers: { Work: async (i) => i } } },
      { items: [3, 3] },
    );

    expect(result).toMatchObject({
      status: 'FAILED',
      error: {
        name: 'StepFunctions.ExecutionAlreadyExistsException',
        cause: expect.stringContaining('execution:child:same'),
      },
    });
    expect(result.executions!.filter((e) => e.stateMachine === 'child')).toHaveLength(1);
  });

  it.each([
    ['with a space', 'two words'],
    ['with a slash', 'a/b'],
    ['longer than 80 characters', 'n'.repeat(81)],
  ])('refuses a child name %s with InvalidName, before any child runs', async (_what, name) => {
    const named = mapOfChildren('child');
    ((named.States.Each as any).Iterator.States.Start.Parameters as any).Name = name;

    const result = await run(
      named,
      { child: { definition: oneTask, handlers: { Work: async (i) => i } } },
      { items: [1] },
    );

    expect(result).toMatchObject({
      status: 'FAILED',
      error: { name: 'StepFunctions.InvalidNameException' },
    });
    expect(result.executions).toHaveLength(1);
  });

  it('fails the Task with the resolver error when the state machine does not exist', async () => {
    const result = await run(mapOfChildren('nothing'), {}, { items: [1] });

    expect(result).toMatchObject({
      status: 'FAILED',
      error: { name: 'StepFunctions.StateMachineDoesNotExistException' },
    });
  });

  it('reports a child state to onProgress with the child execution and state machine', async () => {
    const events: ProgressEvent[] = [];

    const result = await run(
      mapOfChildren('child'),
      { child: { definition: oneTask, handlers: { Work: async (i) => i } } },
      { items: [1] },
      { onProgress: (e) => events.push(e) },
    );

    const work = events.find((e) => e.state === 'Work' && e.kind === 'exited');
    expect(work).toMatchObject({
      stateMachine: 'child',
      execution: result.executions![1]!.executionArn,
    });
    expect(events.find((e) => e.state === 'Each')?.execution).toBeUndefined();
  });

  it('refuses a definition with a startExecution Task when nothing resolves state machines', async () => {
    const attempt = runDefinition(mapOfChildren('child'), {
      input: { items: [] },
      handlers: {},
      stateMachineName: 'parent',
    });

    await expect(attempt).rejects.toThrow(
      'state Start: no way to start child executions (options.stateMachines)',
    );
  });
});

describe('state machine ARNs in ASL files', () => {
  it('replaces ${XStateMachineArn} with the kopsless state machine ARN and ${XFunctionArn} with the function ARN', () => {
    const text = '{"a":"${RollingUpdateGroupStateMachineArn}","b":"${WriteStateFunctionArn}"}';

    const replaced = JSON.parse(substituteArns(text, 'eu-west-1'));

    expect(replaced).toEqual({
      a: 'arn:aws:states:eu-west-1:123456789012:stateMachine:kopsless-rolling-update-group',
      b: 'arn:aws:lambda:eu-west-1:123456789012:function:kopsless-WriteStateFunction',
    });
  });
});
