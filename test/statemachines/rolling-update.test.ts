import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { LAMBDA_TIMEOUT_ERROR, TASK_RETRY } from '../../src/errors.js';
// For its Promise.withResolvers stand-in on Node 20, which aws-local-stepfunctions needs.
import '../../src/local/sfn/step-functions.js';
import {
  CHILD_HISTORY,
  childBatchLimit,
  HISTORY_EVENT_LIMIT,
  PARENT_HISTORY,
  parentHistoryBound,
  WAVE_VALIDATION_POLL_SECONDS,
} from '../../src/planning/rolling-update.js';
import { CHILD_RETRY, START_EXECUTION_SYNC } from '../../src/statemachines/asl.js';
import { ROOT } from '../helpers.js';

/**
 * The shape of the parent/child rolling update, checked on the files, and run through
 * aws-local-stepfunctions with a fake per Task (by state name): the real handlers and the
 * local runner's child executions arrive from other branches, so here every Lambda answers as
 * its contract says and RollGroup runs the child machine itself, as `.sync:2` would.
 */

type State = Record<string, any>;
type Asl = { StartAt: string; States: Record<string, State>; TimeoutSeconds?: number };

const ACCOUNT = '123456789012';
const CHILD_ARN = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:kopsless-rolling-update-group`;
const CHILD_EXECUTION = CHILD_ARN.replace(':stateMachine:', ':execution:');
const PARENT_ID = `arn:aws:states:us-east-1:${ACCOUNT}:execution:kopsless-rolling-update:roll-1`;

/** The file with its substitutions made, as SAM (and the local runner) would. */
function load(name: string): Asl {
  const text = readFileSync(join(ROOT, 'statemachines', `${name}.asl.json`), 'utf8')
    .replace(/\$\{RollingUpdateGroupStateMachineArn\}/g, CHILD_ARN)
    .replace(
      /\$\{(\w+)Arn\}/g,
      (_, id: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:kopsless-${id}`,
    );
  return JSON.parse(text) as Asl;
}
const parent = load('rolling-update');
const child = load('rolling-update-group');
const VALIDATION = { validationOptions: { checkPaths: true, checkArn: false } } as const;

/** Every Map's processor, depth first. */
function processors(asl: Asl): Asl[] {
  return Object.values(asl.States).flatMap((s) =>
    s.ItemProcessor ? [s.ItemProcessor as Asl, ...processors(s.ItemProcessor as Asl)] : [],
  );
}
/** State names reachable from `from` without leaving `states` and without passing `blocked`. */
function reachable(states: Record<string, State>, from: string, blocked: string): Set<string> {
  const seen = new Set<string>();
  const todo = [from];
  while (todo.length) {
    const name = todo.pop()!;
    if (seen.has(name) || name === blocked) continue;
    seen.add(name);
    const s = states[name]!;
    todo.push(
      ...[
        s.Next,
        s.Default,
        ...(s.Choices ?? []).map((c: State) => c.Next),
        ...(s.Catch ?? []).map((c: State) => c.Next),
      ].filter(Boolean),
    );
  }
  return seen;
}

describe('the rolling update machines, as files', () => {
  it('are valid for aws-local-stepfunctions with path checks, each Map processor too', () => {
    const definitions = [parent, child, ...processors(parent)].map(
      ({ ProcessorConfig: _, ...d }: State) => d,
    );

    // structuredClone: the constructor adds QueryLanguage to the definition it is given.
    for (const d of definitions)
      expect(
        () => new StateMachine(structuredClone(d) as never, VALIDATION as never),
      ).not.toThrow();
  });

  it('use nothing the local runner cannot run: no Assign, no JSONata, no distributed Map, no "ResultPath": "$"', () => {
    const text = JSON.stringify([parent, child]);

    expect(text).not.toMatch(/"Assign"|"QueryLanguage"|\{%|"DISTRIBUTED"|"ResultPath":"\$"/);
  });

  it('route every failure after the lock to RecordFailure: each top-level Task and Map catches States.ALL, nested states leave it to their Map', () => {
    const locked = Object.entries(parent.States).filter(
      ([name, s]) =>
        ['Task', 'Map'].includes(s.Type) &&
        !['ValidateInput', 'AcquireLock', 'RecordFailure'].includes(name),
    );
    const nested = processors(parent).flatMap((p) => Object.entries(p.States));

    expect(
      locked
        .filter(
          ([, s]) =>
            !(s.Catch ?? []).some(
              (c: State) => c.ErrorEquals.includes('States.ALL') && c.Next === 'RecordFailure',
            ),
        )
        .map(([n]) => n),
    ).toEqual([]);
    expect(nested.filter(([, s]) => s.Catch).map(([n]) => n)).toEqual([]);
    expect(parent.States.RecordFailure!.Next).toBe('RollingUpdateFailed');
  });

  it('roll the waves one at a time and the groups of a wave side by side', () => {
    const waves = parent.States.RollWaves!;
    const groups = waves.ItemProcessor.States.RollGroups;

    expect(waves).toMatchObject({ Type: 'Map', ItemsPath: '$.plan.waves', MaxConcurrency: 1 });
    expect(groups).toMatchObject({ Type: 'Map', ItemsPath: '$.groups', MaxConcurrency: 0 });
    expect(waves.ItemSelector['lockOwner.$']).toBe('$$.Execution.Id');
  });

  it('start the child again while it reports continue, and end the group when it does not', () => {
    const loop = parent.States.RollWaves!.ItemProcessor.States.RollGroups.ItemProcessor.States;

    expect(loop.RollGroup).toMatchObject({
      Resource: START_EXECUTION_SYNC,
      ResultSelector: { 'continue.$': '$.Output.continue' },
      Retry: CHILD_RETRY,
    });
    expect(loop.RollGroup.Parameters).toMatchObject({
      StateMachineArn: CHILD_ARN,
      Input: {
        'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id',
        'lockOwner.$': '$.lockOwner',
      },
    });
    expect(loop.RollGroup.Parameters['Name.$']).toBe('$.reservation.name');
    expect(loop.GroupContinues).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.child.continue', BooleanEquals: true, Next: 'NextChild' }],
      Default: 'GroupRolled',
    });
    expect(loop.NextChild).toMatchObject({ ResultPath: '$.turn', Next: 'ReserveChild' });
    expect(loop.GroupRolled.Type).toBe('Succeed');
  });

  it('reserves each child name in the lock before it starts the child', () => {
    const rollGroups = parent.States.RollWaves!.ItemProcessor.States.RollGroups;
    const loop = rollGroups.ItemProcessor.States;

    expect(rollGroups.ItemSelector.turn).toEqual({ sequence: 1 });
    expect(rollGroups.ItemProcessor.StartAt).toBe('ReserveChild');
    expect(loop.ReserveChild).toMatchObject({
      Parameters: {
        action: 'reserveChild',
        'owner.$': '$.lockOwner',
        'instanceGroup.$': '$.instanceGroup',
        'sequence.$': '$.turn.sequence',
      },
      ResultPath: '$.reservation',
      Next: 'RollGroup',
    });
  });

  it('end every wave and group iteration with a few bytes, whatever options it carries: the Maps collect iteration outputs before ResultPath null drops them', async () => {
    const machineOf = (processor: Asl) => {
      const { ProcessorConfig: _mode, ...definition } = structuredClone(processor) as Asl & {
        ProcessorConfig?: unknown;
      };
      return new StateMachine(definition as never, VALIDATION as never);
    };
    const wave = parent.States.RollWaves!.ItemProcessor as Asl;
    const roster = Array.from({ length: 100 }, (_, i) => ({
      instanceGroup: `nodes-${i}`,
      role: 'Node',
      asgName: `kopsless-nodes-${i}.c.example.com-0123456789abcdef`,
      minSize: 10,
      maxSize: 10,
      zones: [`us-east-1${'abc'[i % 3]}`],
      rollingUpdate: {},
    }));
    const options = {
      roster,
      forceIds: Array.from({ length: 1000 }, (_, i) => `i-${String(i).padStart(17, '0')}`),
    };
    const input = {
      groups: ['nodes-0', 'nodes-1', 'nodes-2'],
      cluster: 'c.example.com',
      cloudOnly: false,
      options,
      batchLimit: 7,
      validationDeadline: '2030-01-01T00:00:00Z',
      lockOwner: PARENT_ID,
    };
    const seen: unknown[] = [];
    const handlers = {
      BeginWave: async () => ({ owner: PARENT_ID, wave: input.groups }),
      ReserveChild: async () => ({ name: 'nodes-0-1-0123456789abcdef' }),
      RollGroup: async () => ({ Output: { continue: false } }),
      StartWaveValidation: async () => ({
        ready: true,
        validationDeadline: '2030-01-01T00:00:00Z',
      }),
      ValidateWave: async (i: { deadline: string }) => ({
        valid: true,
        deadline: i.deadline,
        failures: [],
      }),
    };
    const groupMachine = machineOf(wave.States.RollGroups!.ItemProcessor as Asl);

    const groupOutput = await groupMachine.run(
      {
        cluster: 'c.example.com',
        instanceGroup: 'nodes-0',
        options,
        cloudOnly: false,
        lockOwner: PARENT_ID,
        batchLimit: 7,
        turn: { sequence: 1 },
      },
      {
        overrides: { taskResourceLocalHandlers: handlers as never },
        context: { Execution: { Id: PARENT_ID } } as never,
      },
    ).result;
    const waveOutput = await machineOf(wave).run(input, {
      overrides: { taskResourceLocalHandlers: handlers as never },
      context: { Execution: { Id: PARENT_ID } } as never,
    }).result;
    seen.push(groupOutput, waveOutput);

    expect(JSON.stringify(input).length).toBeGreaterThan(35_000);
    for (const output of seen) expect(JSON.stringify(output).length).toBeLessThan(100);
  });

  it('check the lock before anything else in the child, and give every child Task the one retry policy', () => {
    const tasks = Object.values(child.States).filter((s) => s.Type === 'Task');

    expect(child.StartAt).toBe('RequireLock');
    expect(child.States.RequireLock!.Parameters).toEqual({
      action: 'requireLock',
      'cluster.$': '$.cluster',
      'owner.$': '$.lockOwner',
      'instanceGroup.$': '$.instanceGroup',
      'execution.$': '$$.Execution.Id',
      plan: {
        'options.$': '$.options',
        'cloudOnly.$': '$.cloudOnly',
        'batchLimit.$': '$.batchLimit',
      },
    });
    expect(tasks.filter((s) => JSON.stringify(s.Retry) !== JSON.stringify(TASK_RETRY))).toEqual([]);
  });

  it('bound the child: the only way back to NextStep counts the step first, and NextStep alone decides to continue as new', () => {
    expect(reachable(child.States, 'StepKind', 'ValidateAfterStep').has('NextStep')).toBe(false);
    expect(reachable(child.States, 'ValidateAfterStep', 'none').has('NextStep')).toBe(true);
    expect(child.States.ValidateAfterStep!.Parameters['count.$']).toBe(
      'States.MathAdd($.batches.count, 1)',
    );
    expect(child.States.NextStep!.Parameters.history).toEqual({
      'steps.$': '$.batches.count',
      'batchLimit.$': '$.batchLimit',
      'startedAt.$': '$$.Execution.StartTime',
    });
    expect(child.States.StepKind!.Choices[0]).toEqual({
      And: [
        { Variable: '$.next.continueAsNew', IsPresent: true },
        { Variable: '$.next.continueAsNew', BooleanEquals: true },
      ],
      Next: 'ContinueAsNew',
    });
    expect(child.States.ContinueAsNew).toEqual({
      Type: 'Pass',
      Parameters: { continue: true },
      End: true,
    });
    expect(child.States.GroupDone).toEqual({
      Type: 'Pass',
      Parameters: { continue: false },
      End: true,
    });
  });
});

/**
 * History events on AWS (Standard) per state entered: a Lambda Task 5 (entered, scheduled,
 * started, succeeded, exited), a .sync child start 6 (entered, scheduled, started, submitted,
 * succeeded, exited), any other state 2. A transition is a state entered.
 */
function pathCost(
  states: Record<string, State>,
  path: string[],
): { events: number; transitions: number } {
  path.slice(1).forEach((to, i) => {
    const s = states[path[i]!]!;
    const next = [s.Next, s.Default, ...(s.Choices ?? []).map((c: State) => c.Next)];
    expect(next, `${path[i]} -> ${to}`).toContain(to);
  });
  const events = path.reduce((sum, name) => {
    const s = states[name]!;
    return sum + (s.Type === 'Task' ? (s.Resource === START_EXECUTION_SYNC ? 6 : 5) : 2);
  }, 0);
  return { events, transitions: path.length };
}

describe('history of the child, counted from the machine', () => {
  const surge = [
    'NextStep',
    'StepKind',
    'Surge',
    'WaitForBoot',
    'CheckReplacements',
    'ReplacementsReady',
    'ValidateAfterStep',
    'Validated',
    'ValidateCluster',
    'ClusterValid',
  ];
  const replace = [
    'NextStep',
    'StepKind',
    'Drain',
    'Drained',
    'Terminate',
    'WaitForBoot',
    'CheckReplacements',
    'ReplacementsReady',
    'ValidateAfterStep',
    'Validated',
    'ValidateCluster',
    'ClusterValid',
  ];

  it('costs 32 events (10 transitions) for a surge step and 39 (12) for a replace step that never waits twice and validates in the poll, each back at NextStep', () => {
    expect(pathCost(child.States, surge)).toEqual({ events: 32, transitions: 10 });
    expect(pathCost(child.States, replace)).toEqual({ events: 39, transitions: 12 });
    expect(pathCost(child.States, ['ClusterValid', 'NextStep']).transitions).toBe(2);
  });

  it('costs 27 events (9 transitions) for a replace step whose look validates and answers the next step, back at StepKind', () => {
    const folded = [
      'StepKind',
      'Drain',
      'Drained',
      'Terminate',
      'WaitForBoot',
      'CheckReplacements',
      'ReplacementsReady',
      'ValidateAfterStep',
      'Validated',
      'StepKind',
    ];

    expect(pathCost(child.States, folded.slice(0, -1))).toEqual({ events: 27, transitions: 9 });
    expect(pathCost(child.States, folded.slice(-2)).transitions).toBe(2);
  });

  it('costs 9 events (3 transitions) per further turn of each poll', () => {
    expect(
      pathCost(child.States, ['ReplacementsReady', 'WaitForReplacements', 'CheckReplacements']),
    ).toEqual({ events: 9, transitions: 3 });
    expect(pathCost(child.States, ['Drained', 'WaitForDrain', 'Drain'])).toEqual({
      events: 9,
      transitions: 3,
    });
    expect(
      pathCost(child.States, ['ClusterValid', 'WaitForValidation', 'ValidateCluster']),
    ).toEqual({ events: 9, transitions: 3 });
  });

  it('costs at most 18 events per execution besides its batches (start, lock check, counter, the last next, the end)', () => {
    const start = pathCost(child.States, ['RequireLock', 'StartBatches']).events;
    const done = pathCost(child.States, ['NextStep', 'StepKind', 'GroupDone']).events;

    expect(2 + start + done).toBe(18);
  });

  it('is what the planner counts when it bounds a child: CHILD_HISTORY matches the machine', () => {
    const deregistration = pathCost(child.States, ['Deregister', 'WaitForDeregistration']).events;
    const dns = pathCost(child.States, [
      'UpsertApiRecords',
      'WaitForDns',
      'CheckDns',
      'DnsReady',
    ]).events;
    const start = pathCost(child.States, ['RequireLock', 'StartBatches']).events;
    const done = pathCost(child.States, ['NextStep', 'StepKind', 'GroupDone']).events;

    expect(CHILD_HISTORY).toEqual({
      surgeStep: pathCost(child.States, surge).events,
      replaceStep: pathCost(child.States, replace).events,
      controlPlaneDns: deregistration + dns,
      pollTurn: pathCost(child.States, ['DnsReady', 'WaitForDns', 'CheckDns']).events,
      perExecution: 2 + start + done,
    });
  });

  it("stays under the quota with kOps's 15-minute timeouts when every poll of every batch runs to its deadline", () => {
    const timeouts = {
      replacementTimeoutSeconds: 900,
      drainTimeoutSeconds: 900,
      validationTimeoutSeconds: 900,
      dnsTimeoutSeconds: 600,
    };
    const limit = childBatchLimit(timeouts);
    // A batch at worst: both steps wait out the replacement timeout (20 s turns) and validate to
    // the validation timeout (15 s turns); the drain runs to its timeout (10 s), the DNS to its (10 s).
    const turns = 2 * (45 + 1) + (90 + 1) + 2 * (60 + 1) + (60 + 1);
    const worstBatch = 34 + 43 + 14 + 9 * turns;

    expect(limit).toBeGreaterThanOrEqual(1);
    expect(18 + limit * worstBatch).toBeLessThan(HISTORY_EVENT_LIMIT);
    expect(18 + (limit + 1) * worstBatch).toBeGreaterThan(HISTORY_EVENT_LIMIT * 0.8);
  });
});

describe('history of the parent, counted from the machine', () => {
  const waveStates = (parent.States.RollWaves as State).ItemProcessor.States as Record<
    string,
    State
  >;
  const groupStates = (waveStates.RollGroups as State).ItemProcessor.States as Record<
    string,
    State
  >;

  it('is what the planner counts when it refuses a roll too large for one parent: PARENT_HISTORY matches the machine', () => {
    const mapIteration = 2; // MapIterationStarted, MapIterationSucceeded
    const mapState = 4; // MapStateEntered, MapStateStarted, MapStateSucceeded, MapStateExited
    const wave =
      mapIteration +
      mapState +
      pathCost(waveStates, ['BeginWave']).events +
      pathCost(waveStates, ['StartWaveValidation', 'ValidateWave', 'WaveValid']).events +
      2;
    const group = mapIteration + 2;

    expect({
      perWave: wave,
      perGroup: group,
      // Its name reserved, the child run, the Choice, and the sequence counted (the last child's turn counted too: a bound).
      perChild: pathCost(groupStates, ['ReserveChild', 'RollGroup', 'GroupContinues', 'NextChild'])
        .events,
    }).toEqual({
      perWave: PARENT_HISTORY.perWave,
      perGroup: PARENT_HISTORY.perGroup,
      perChild: PARENT_HISTORY.perChild,
    });
    expect(waveStates.WaitForWaveValidation!.Seconds).toBe(WAVE_VALIDATION_POLL_SECONDS);
  });

  it("fits 1,000 nodes in 10 groups rolled one at a time at kOps's surge of 1, and not 100 groups of 100", () => {
    const waves = (n: number) => Array.from({ length: n }, (_, i) => [`nodes-${i}`]);
    const bound = (groups: number, batches: number) =>
      parentHistoryBound({
        waves: waves(groups),
        batchesOf: () => batches,
        batchLimit: 5,
        validationTimeoutSeconds: 900,
      });

    expect(bound(10, 100)).toBeLessThan(HISTORY_EVENT_LIMIT * 0.9);
    expect(bound(100, 100)).toBeGreaterThan(HISTORY_EVENT_LIMIT * 0.9);
  });
});

/** A cluster as the fakes see it: replace steps left per group, and what each Task was asked. */
function world(
  pending: Record<string, number>,
  options: {
    failDrainOf?: string;
    lockOwner?: string;
    /** Every Drain of this group fails with this error, its first `times` attempts (every attempt by default). */
    drainError?: { group: string; name: string; times?: number };
  } = {},
) {
  let drainErrors = 0;
  const calls: Array<{ state: string; input: any }> = [];
  const childRuns: Array<{ instanceGroup: string; output?: unknown; error?: string }> = [];
  const deadline = '2030-01-01T00:00:00.000Z';
  const lockOwner = options.lockOwner ?? PARENT_ID;
  const record = (state: string, answer: (input: any) => unknown) => (input: any) => {
    calls.push({ state, input });
    return answer(input) as never;
  };
  const failure = (name: string, message: string) => Object.assign(new Error(message), { name });

  const nextOf = (instanceGroup: string, history: { steps: number; batchLimit: number }) =>
    history.steps >= history.batchLimit
      ? { continueAsNew: true }
      : {
          step:
            pending[instanceGroup]! > 0
              ? {
                  kind: 'replace',
                  instanceGroup,
                  asgName: instanceGroup,
                  instanceIds: ['i-1'],
                  detachedIds: [],
                  controlPlane: false,
                }
              : { kind: 'done' },
          drainDeadline: deadline,
        };
  const childHandlers = {
    RequireLock: record('RequireLock', (i) => {
      if (i.owner !== lockOwner)
        throw failure(
          'ClusterLockedError',
          `cluster "${i.cluster}" is locked by execution ${lockOwner}`,
        );
      return { owner: i.owner };
    }),
    // The budget past batchLimit is the handler's (test/planning/child-history.test.ts): here
    // every child continues as new at its limit, the bound the parent's plan counts on.
    NextStep: record('NextStep', (i) => nextOf(i.instanceGroup, i.history)),
    Drain: record('Drain', (i) => {
      if (i.step.instanceGroup === options.failDrainOf)
        throw failure('DrainTimeoutError', `error draining node(s) in ${i.step.instanceGroup}`);
      const { drainError } = options;
      if (
        drainError &&
        drainError.group === i.step.instanceGroup &&
        drainErrors < (drainError.times ?? Number.POSITIVE_INFINITY)
      ) {
        drainErrors += 1;
        throw failure(drainError.name, 'Task timed out after 120.00 seconds');
      }
      return {
        drained: true,
        remaining: 0,
        blocked: 0,
        evicted: 0,
        outOfTime: false,
        waitSeconds: 0,
      };
    }),
    UncordonAfterFailure: record('UncordonAfterFailure', (i) => ({
      uncordoned: i.step.instanceIds,
    })),
    Terminate: record('Terminate', (i) => {
      pending[i.step.instanceGroup]! -= 1;
      return {
        deadline,
        terminated: i.step.instanceIds,
        boot: {
          startedAt: deadline,
          estimateSeconds: i.bootEstimateSeconds,
          waitSeconds: i.bootEstimateSeconds,
        },
      };
    }),
    // As the handler answers a child's look: ready, the cluster valid, and the following step.
    CheckReplacements: record('CheckReplacements', (i) => ({
      ready: true,
      validationDeadline: deadline,
      bootEstimateSeconds: i.boot.estimateSeconds,
      valid: true,
      ...nextOf(i.following.instanceGroup, i.following.history),
    })),
    ValidateCluster: record('ValidateCluster', (i) => ({
      valid: true,
      deadline: i.deadline,
      failures: [],
    })),
  };
  const waits = Object.fromEntries(
    [
      ...Object.entries(child.States),
      ...Object.entries(parent.States),
      ...processors(parent).flatMap((p) => Object.entries(p.States)),
    ]
      .filter(([, s]) => s.Type === 'Wait')
      .map(([n]) => [n, 0]),
  );

  /** `.sync:2`: the child runs to its end; its output comes back parsed, a failure as States.TaskFailed with the description. */
  async function runChild(parameters: { StateMachineArn: string; Name: string; Input: any }) {
    calls.push({ state: 'RollGroup', input: parameters });
    const input = parameters.Input;
    if (parameters.StateMachineArn !== CHILD_ARN)
      throw failure('StepFunctions.StateMachineDoesNotExistException', parameters.StateMachineArn);
    const run = { instanceGroup: input.instanceGroup } as (typeof childRuns)[number];
    childRuns.push(run);
    const executionArn = `${CHILD_ARN.replace(':stateMachine:', ':execution:')}:${parameters.Name}`;
    const machine = new StateMachine(structuredClone(child) as never, VALIDATION as never);
    try {
      const output = await machine.run(input, {
        overrides: {
          taskResourceLocalHandlers: childHandlers as never,
          waitTimeOverrides: waits,
          retryIntervalOverrides: { Drain: 0, Terminate: 0 },
        },
        context: { Execution: { Id: executionArn } } as never,
      }).result;
      run.output = output;
      return { ExecutionArn: executionArn, Status: 'SUCCEEDED', Output: output };
    } catch (error) {
      const cause =
        (error as { cause?: { name?: string; message?: string } }).cause ?? (error as Error);
      run.error = cause.name;
      throw failure(
        'States.TaskFailed',
        JSON.stringify({
          ExecutionArn: 'arn:child',
          Status: 'FAILED',
          Error: cause.name,
          Cause: cause.message,
        }),
      );
    }
  }

  const parentHandlers = {
    ValidateInput: record('ValidateInput', (i) => ({
      instanceGroups: [],
      force: false,
      cloudOnly: false,
      update: false,
      parallelGroups: 2,
      allowSameZone: false,
      ...i.input,
    })),
    AcquireLock: record('AcquireLock', (i) => ({ owner: i.owner })),
    MarkRolling: record('MarkRolling', () => ({})),
    PlanRollingUpdate: record('PlanRollingUpdate', () => ({
      options: { forceIds: [] },
      waves: [['bastions'], ['nodes-a', 'nodes-b']],
      batchLimit: 2,
      validationDeadline: deadline,
    })),
    ValidateCluster: record('ValidateCluster', (i) => ({
      valid: true,
      deadline: i.deadline,
      failures: [],
    })),
    BeginWave: record('BeginWave', (i) => ({ owner: i.owner, wave: i.instanceGroups })),
    ReserveChild: record('ReserveChild', (i) => ({
      name: `${i.instanceGroup}-${i.sequence}`,
    })),
    RollGroup: runChild,
    StartWaveValidation: record('StartWaveValidation', () => ({
      ready: true,
      validationDeadline: deadline,
    })),
    ValidateWave: record('ValidateWave', (i) => ({
      valid: true,
      deadline: i.deadline,
      failures: [],
    })),
    RecordSuccess: record('RecordSuccess', () => ({ phase: 'Ready' })),
    RecordFailure: record('RecordFailure', () => ({ phase: 'Failed' })),
  };

  async function roll() {
    const machine = new StateMachine(structuredClone(parent) as never, VALIDATION as never);
    const execution = machine.run(
      { cluster: 'c.example.com' },
      {
        overrides: { taskResourceLocalHandlers: parentHandlers as never, waitTimeOverrides: waits },
        context: { Execution: { Id: PARENT_ID } } as never,
      },
    );
    try {
      return { output: await execution.result, error: undefined };
    } catch (error) {
      return { output: undefined, error: error as Error & { cause?: Error } };
    }
  }
  return {
    calls,
    childRuns,
    pending,
    roll,
    of: (state: string) => calls.filter((c) => c.state === state),
  };
}

describe('the rolling update machines, run with fake Tasks', () => {
  it('rolls every group, restarting a child after batchLimit batches until it reports the group done', async () => {
    const w = world({ bastions: 1, 'nodes-a': 3, 'nodes-b': 2 });

    const { error } = await w.roll();

    expect(error).toBeUndefined();
    expect(w.pending).toEqual({ bastions: 0, 'nodes-a': 0, 'nodes-b': 0 });
    // batchLimit 2: nodes-a (3 batches) needs 2 children, nodes-b (2) one that stops at the limit and one that finds it done.
    expect(
      w.childRuns.map((r) => [r.instanceGroup, (r.output as { continue: boolean }).continue]),
    ).toEqual([
      ['bastions', false],
      ['nodes-a', true],
      ['nodes-b', true],
      ['nodes-a', false],
      ['nodes-b', false],
    ]);
    // Each child started under the name reserved for it just before: the group's 1st, 2nd, ...
    expect(w.of('ReserveChild').map((c) => `${c.input.instanceGroup} ${c.input.sequence}`)).toEqual(
      ['bastions 1', 'nodes-a 1', 'nodes-b 1', 'nodes-a 2', 'nodes-b 2'],
    );
    expect(w.of('RollGroup').map((c) => c.input.Name)).toEqual([
      'bastions-1',
      'nodes-a-1',
      'nodes-b-1',
      'nodes-a-2',
      'nodes-b-2',
    ]);
    expect(w.of('RecordSuccess')).toHaveLength(1);
    expect(w.of('RecordFailure')).toHaveLength(0);
  });

  it('hands each child the group, the options, the limit and the lock owner, and asks next for that group only', async () => {
    const w = world({ bastions: 1, 'nodes-a': 0, 'nodes-b': 0 });

    await w.roll();

    expect(w.of('RollGroup')[0]!.input.Input).toEqual({
      cluster: 'c.example.com',
      instanceGroup: 'bastions',
      options: { forceIds: [] },
      cloudOnly: false,
      lockOwner: PARENT_ID,
      batchLimit: 2,
      AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: PARENT_ID,
    });
    expect(w.of('RequireLock')[0]!.input).toEqual({
      action: 'requireLock',
      cluster: 'c.example.com',
      owner: PARENT_ID,
      instanceGroup: 'bastions',
      execution: `${CHILD_EXECUTION}:bastions-1`,
      plan: { options: { forceIds: [] }, cloudOnly: false, batchLimit: 2 },
    });
    expect(w.of('NextStep').map((c) => c.input.instanceGroup)).toEqual([
      'bastions',
      'nodes-a',
      'nodes-b',
    ]);
    // The step after bastions' one batch comes from the look that ended it.
    expect(w.of('CheckReplacements').map((c) => c.input.following.instanceGroup)).toEqual([
      'bastions',
    ]);
  });

  it("has every child's Drain, Terminate and look name the parent and the child itself, whose claim they must still hold", async () => {
    const w = world({ bastions: 1, 'nodes-a': 0, 'nodes-b': 0 });

    await w.roll();

    const claim = { owner: PARENT_ID, execution: `${CHILD_EXECUTION}:bastions-1` };
    expect(w.of('Drain').map((c) => c.input.claim)).toEqual([claim]);
    expect(w.of('Terminate').map((c) => c.input.claim)).toEqual([claim]);
    // The look validates the child's step; the parent's own validation holds the lock itself.
    expect(w.of('CheckReplacements').map((c) => c.input.claim)).toEqual([claim]);
    expect(w.of('ValidateCluster').map((c) => c.input.claim)).toEqual([undefined]);
  });

  it("gives every child's NextStep and look its steps so far (the finished one counted), its limit and its start time", async () => {
    const w = world({ bastions: 2, 'nodes-a': 0, 'nodes-b': 0 });

    await w.roll();

    // bastions: NextStep, two steps each ended by its look (the second at the limit), then a
    // fresh child that finds it done; the node groups' children find them done at once.
    expect(w.of('NextStep').map((c) => c.input.history.steps)).toEqual([0, 0, 0, 0]);
    expect(w.of('CheckReplacements').map((c) => c.input.following.history.steps)).toEqual([1, 2]);
    for (const c of [...w.of('NextStep'), ...w.of('CheckReplacements')]) {
      const history = c.input.history ?? c.input.following.history;
      expect(history.batchLimit).toBe(2);
      expect(Number.isFinite(Date.parse(history.startedAt))).toBe(true);
    }
    expect(w.of('ValidateCluster')).toHaveLength(1);
  });

  it("records each wave's groups in the lock, with the plan its children get, before the wave's children start", async () => {
    const w = world({ bastions: 1, 'nodes-a': 1, 'nodes-b': 1 });

    await w.roll();

    const order = w.calls
      .filter((c) => c.state === 'BeginWave' || c.state === 'RollGroup')
      .map((c) =>
        c.state === 'BeginWave'
          ? `wave ${c.input.instanceGroups.join(',')}`
          : `child ${c.input.Input.instanceGroup}`,
      );
    expect(order.slice(0, 4)).toEqual([
      'wave bastions',
      'child bastions',
      'wave nodes-a,nodes-b',
      expect.stringMatching(/^child nodes-/),
    ]);
    expect(w.of('BeginWave').map((c) => c.input)).toEqual([
      {
        action: 'beginWave',
        cluster: 'c.example.com',
        owner: PARENT_ID,
        instanceGroups: ['bastions'],
        plan: { options: { forceIds: [] }, cloudOnly: false, batchLimit: 2 },
      },
      {
        action: 'beginWave',
        cluster: 'c.example.com',
        owner: PARENT_ID,
        instanceGroups: ['nodes-a', 'nodes-b'],
        plan: { options: { forceIds: [] }, cloudOnly: false, batchLimit: 2 },
      },
    ]);
  });

  it('validates the cluster after each wave, with a fresh deadline', async () => {
    const w = world({ bastions: 1, 'nodes-a': 1, 'nodes-b': 1 });

    await w.roll();

    expect(w.of('StartWaveValidation')).toHaveLength(2);
    expect(w.of('ValidateWave')).toHaveLength(2);
  });

  it("records a child's failure through RecordFailure with the child's error, and fails the roll", async () => {
    const w = world({ bastions: 0, 'nodes-a': 2, 'nodes-b': 1 }, { failDrainOf: 'nodes-b' });

    const { error } = await w.roll();

    expect(error).toBeDefined();
    const recorded = w.of('RecordFailure');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.input.error.Error).toBe('States.TaskFailed');
    expect(JSON.parse(recorded[0]!.input.error.Cause)).toMatchObject({
      Status: 'FAILED',
      Error: 'DrainTimeoutError',
    });
    expect(w.of('RecordSuccess')).toHaveLength(0);
  });

  it('runs a drain again after a Lambda timeout, and the roll goes on', async () => {
    const w = world(
      { bastions: 0, 'nodes-a': 1, 'nodes-b': 0 },
      { drainError: { group: 'nodes-a', name: LAMBDA_TIMEOUT_ERROR, times: 2 } },
    );

    const { error } = await w.roll();

    expect(error).toBeUndefined();
    expect(w.of('Drain').filter((c) => c.input.step.instanceGroup === 'nodes-a')).toHaveLength(3);
    expect(w.of('UncordonAfterFailure')).toHaveLength(0);
    expect(w.of('RecordSuccess')).toHaveLength(1);
  });

  it("uncordons the step's nodes when a drain keeps timing out, then fails the child with the timeout", async () => {
    const w = world(
      { bastions: 0, 'nodes-a': 1, 'nodes-b': 0 },
      { drainError: { group: 'nodes-a', name: LAMBDA_TIMEOUT_ERROR } },
    );

    const { error } = await w.roll();

    expect(error).toBeDefined();
    const retries = TASK_RETRY.find((r) =>
      (r.ErrorEquals as readonly string[]).includes(LAMBDA_TIMEOUT_ERROR),
    )!;
    expect(w.of('Drain')).toHaveLength(1 + retries.MaxAttempts);
    const uncordon = w.of('UncordonAfterFailure');
    expect(uncordon).toHaveLength(1);
    expect(uncordon[0]!.input).toMatchObject({
      action: 'uncordon',
      step: { instanceGroup: 'nodes-a', instanceIds: ['i-1'] },
      claim: { owner: PARENT_ID },
    });
    expect(w.of('Terminate')).toHaveLength(0);
    expect(w.childRuns.find((r) => r.instanceGroup === 'nodes-a')?.error).toBe(
      LAMBDA_TIMEOUT_ERROR,
    );
    const recorded = w.of('RecordFailure');
    expect(JSON.parse(recorded[0]!.input.error.Cause)).toMatchObject({
      Error: LAMBDA_TIMEOUT_ERROR,
    });
  });

  it('does nothing in a child whose parent does not hold the lock', async () => {
    const w = world({ bastions: 1, 'nodes-a': 0, 'nodes-b': 0 }, { lockOwner: 'someone-else' });

    await w.roll();

    expect(w.childRuns[0]).toMatchObject({
      instanceGroup: 'bastions',
      error: 'ClusterLockedError',
    });
    expect(w.of('NextStep')).toHaveLength(0);
    expect(w.of('RecordFailure')).toHaveLength(1);
  });
});
