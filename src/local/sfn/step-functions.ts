import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  executionArn as executionArnOf,
  executionNameProblem,
  stateMachineArn,
  stateMachineNameOf,
} from '../../aws/sfn.js';
import { now, useClock } from '../../clock.js';
import { InvalidInputError } from '../../errors.js';
import {
  deployedStateMachineName,
  type StateMachineName,
  stateMachineOfDeployedName,
} from '../../functions-registry.js';
import { faultsFromEnv } from '../instrument/faults.js';
import {
  ACCOUNT,
  type Definition,
  definitionPath,
  type Json,
  loadDefinition,
  mapStates,
  nestedDefinitions,
  type StartMode,
  type State,
  startExecutionMode,
  startExecutionStates,
  taskStates,
  tasksWithin,
  waitStates,
} from './asl-definition.js';
import { boundHandlers } from './bound-handlers.js';
import { type BundlePool, bundleMode, startBundlePool } from './bundles.js';
import {
  type ChildStateMachine,
  type DefinitionRunOptions,
  type ExecutionSummary,
  LONG_TASK_TIMEOUT_SECONDS,
  type LocalExecutionResult,
  namedError,
  type ProgressEvent,
  type Retrier,
  type RunOptions,
  retryDelay,
  SIMULATED_WAIT,
  settle,
  type TaskHandler,
  terminalError,
  waitSeconds,
} from './execution-model.js';
import { type LocalSettings, localSettingsFromEnv } from './handlers.js';
import {
  dataLimitFailure,
  type EngineEvent,
  ExecutionHistory,
  PAYLOAD_LIMIT_BYTES,
  payloadBytes,
} from './history.js';
import type { SimClock } from './sim-clock.js';
import { emitExecutionStatusChange } from './status-events.js';

export {
  type Definition,
  definitionPath,
  loadDefinition,
  substituteArns,
  taskStates,
} from './asl-definition.js';
export type {
  ChildStateMachine,
  DefinitionRunOptions,
  ExecutionSummary,
  LambdaInvocation,
  LocalExecutionResult,
  ProgressEvent,
  RunOptions,
} from './execution-model.js';

/**
 * Runs the real ASL files in-process with aws-local-stepfunctions, each Task bound to the real
 * handler (built by the factory its functions/ entry calls, from `RunOptions.settings`; invoked,
 * not over the network), Waits and retry pauses shortened (or, with `RunOptions.clock`, slept in
 * simulated time). A Task that starts another state machine
 * (`arn:aws:states:::states:startExecution[.sync[:2]]`) runs it as a child execution with its
 * own history. Everything else about the execution is what Step Functions would do.
 */

// aws-local-stepfunctions uses Promise.withResolvers (Node 22); Node 20 needs this stand-in.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  (Promise as unknown as { withResolvers: () => unknown }).withResolvers = function withResolvers<
    T,
  >() {
    let resolve!: (value: T) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  };
}

/** The execution ARN a local run of `name` named `executionName` has (the lock's owner). */
export function localExecutionArn(
  name: StateMachineName,
  executionName: string,
  region = process.env.AWS_REGION ?? 'us-east-1',
): string {
  return executionArnOf(
    stateMachineArn(region, ACCOUNT, deployedStateMachineName(name)),
    executionName,
  );
}

/** What one local run (an execution and its children) shares. */
interface RunTree {
  region: string;
  clock?: SimClock;
  executions: ExecutionSummary[];
  /** Every execution started, by ARN: a name is unique per state machine (see startedExecution). */
  names: Map<string, StartedExecution>;
  /** Fire-and-forget children still running: the run ends when they do. */
  detached: Array<Promise<unknown>>;
}

/** An execution of the run, as StartExecution judges a second start of its name. */
interface StartedExecution {
  /** Its input as StartExecution received it (JSON text). */
  input: string;
  startDate: number;
  closed: boolean;
  /** The run (children only: the execution the caller started is not started again). */
  run?: Promise<LocalExecutionResult>;
}

/**
 * What StartExecution does with a name already taken in the state machine (Standard workflows):
 * the same input while that execution still runs is the same execution (a retried start after a
 * lost answer), anything else ExecutionAlreadyExists. A name Step Functions does not accept is
 * InvalidName.
 */
function startedExecution(
  tree: RunTree,
  executionArn: string,
  name: string,
  input: string,
): StartedExecution | undefined {
  const problem = executionNameProblem(name);
  if (problem)
    throw namedError('StepFunctions.InvalidNameException', `Invalid Name: '${name}': ${problem}`);
  const existing = tree.names.get(executionArn);
  if (!existing) return undefined;
  if (existing.closed || existing.input !== input || !existing.run)
    throw namedError(
      'StepFunctions.ExecutionAlreadyExistsException',
      `Execution Already Exists: '${executionArn}'`,
    );
  return existing;
}

/**
 * Runs one execution of any ASL definition to its end with the given Task handlers, counting
 * its history as Step Functions would and failing it where Step Functions would: past the
 * history quota, or on a state input or output over 256 KiB. Child executions that its
 * startExecution Tasks start run too, each with its own history and quotas; the result lists
 * them all in `executions`.
 */
export async function runDefinition(
  definition: Definition,
  options: DefinitionRunOptions,
): Promise<LocalExecutionResult> {
  faultsFromEnv();
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const inputBytes = payloadBytes(options.input);
  if (inputBytes > PAYLOAD_LIMIT_BYTES) {
    // StartExecution itself refuses such an input: there is no execution.
    throw new InvalidInputError([
      {
        path: '(input)',
        message: `Too long: ${inputBytes} bytes, more than the ${PAYLOAD_LIMIT_BYTES} bytes (256 KiB) Step Functions accepts`,
      },
    ]);
  }
  if (options.input === null) {
    // On AWS the first state, ValidateInput, would refuse it; the local engine cannot even pass
    // `$` of a null input to it (States.Runtime), so the refusal comes before the execution.
    throw new InvalidInputError([{ path: '(input)', message: 'expected object, got null' }]);
  }
  const tree: RunTree = {
    region,
    executions: [],
    names: new Map(),
    detached: [],
    ...(options.clock ? { clock: options.clock } : {}),
  };
  const previousClock = options.clock ? useClock(options.clock) : undefined;
  try {
    const executionName =
      options.executionName ??
      `${options.stateMachineName}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const result = await execute(
      definition,
      { ...options, region, executionName },
      tree,
      undefined,
    );
    while (tree.detached.length > 0) await Promise.allSettled(tree.detached.splice(0));
    return {
      ...result,
      executions: tree.executions,
      transitions: tree.executions.reduce((sum, e) => sum + e.transitions, 0),
      maxHistoryEvents: Math.max(...tree.executions.map((e) => e.historyEvents)),
      lambdaInvocations: tree.executions.reduce((sum, e) => sum + e.lambdaInvocations, 0),
      maxStateBytes: Math.max(...tree.executions.map((e) => e.maxStateBytes)),
    };
  } finally {
    if (options.clock) useClock(previousClock);
  }
}

/** One execution (the caller's or a child), its summary added to the run's list. */
async function execute(
  definition: Definition,
  options: DefinitionRunOptions & { region: string; executionName: string },
  tree: RunTree,
  parentExecutionArn: string | undefined,
  /** Aborts when the parent stops waiting for this child: the execution is then stopped (ABORTED). */
  parentStop?: AbortSignal,
): Promise<LocalExecutionResult> {
  const clock = tree.clock;
  // Held: a child may start while its siblings sleep, and the clock must not move before it runs.
  const { StateMachine } = await (clock
    ? clock.hold(() => import('aws-local-stepfunctions'))
    : import('aws-local-stepfunctions'));
  const { region, executionName, onProgress: report } = options;
  const children = startExecutionStates(definition);
  if (children.length > 0 && !options.stateMachines)
    throw new Error(
      `state ${children[0]}: no way to start child executions (options.stateMachines)`,
    );
  const history = new ExecutionHistory(options.historyEventLimit);
  const executionArn = executionArnOf(
    stateMachineArn(region, ACCOUNT, options.stateMachineName),
    executionName,
  );
  const summary: ExecutionSummary = {
    executionArn,
    stateMachine: options.stateMachineName,
    ...(parentExecutionArn ? { parentExecutionArn } : {}),
    status: 'RUNNING',
    historyEvents: 0,
    transitions: 0,
    lambdaInvocations: 0,
    maxStateBytes: 0,
    startedAt: now().toISOString(),
  };
  tree.executions.push(summary);
  if (!tree.names.has(executionArn))
    tree.names.set(executionArn, {
      input: JSON.stringify(options.input ?? null),
      startDate: Date.parse(summary.startedAt),
      closed: false,
    });
  const machineArn = stateMachineArn(region, ACCOUNT, options.stateMachineName);
  emitExecutionStatusChange({
    executionArn,
    stateMachineArn: machineArn,
    name: executionName,
    status: 'RUNNING',
    startedAt: summary.startedAt,
    input: options.input,
    region,
  });
  // Ends this execution's simulated sleeps (Waits, retry pauses, its timeout) when it ends.
  const sleeps = new AbortController();
  const at = () => (clock ? clock.now().getTime() : Date.now());
  const hold = <T>(work: () => Promise<T>): Promise<T> => (clock ? clock.hold(work) : work());
  const progress = (event: ProgressEvent) =>
    report?.(
      parentExecutionArn
        ? { ...event, execution: executionArn, stateMachine: options.stateMachineName }
        : event,
    );

  // Children a .sync Task waits for, by Task state: stopped when the Map/Parallel around it fails or the execution ends.
  const waitingFor = new Set<{ state: string; stop: AbortController }>();
  const containers = tasksWithin(definition);
  const taskResourceLocalHandlers: Record<string, TaskHandler> = {};
  const waitTimeOverrides: Record<string, number> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  const startChild =
    (stateName: string, mode: StartMode) =>
    async (input: Json, submitted: () => void): Promise<Json> => {
      const params = (
        input && typeof input === 'object' && !Array.isArray(input) ? input : {}
      ) as Record<string, Json>;
      const arn = params.StateMachineArn;
      if (typeof arn !== 'string')
        throw namedError(
          'States.Runtime',
          `state ${stateName}: the Parameters have no StateMachineArn string`,
        );
      const machine = await hold(async () => options.stateMachines!(arn));
      let childInput: Json = params.Input ?? {};
      if (typeof childInput === 'string') {
        try {
          childInput = JSON.parse(childInput) as Json;
        } catch (error) {
          throw namedError(
            'StepFunctions.InvalidExecutionInputException',
            `state ${stateName}: Input is not JSON: ${(error as Error).message}`,
          );
        }
      }
      const childName = typeof params.Name === 'string' ? params.Name : randomUUID();
      const childArn = executionArnOf(
        stateMachineArn(region, ACCOUNT, machine.stateMachineName),
        childName,
      );
      const inputText = JSON.stringify(childInput);
      const same = startedExecution(tree, childArn, childName, inputText);
      if (same) {
        // The same execution, as StartExecution answers a retried start: no second child runs.
        if (mode === 'async') return { ExecutionArn: childArn, StartDate: same.startDate };
        submitted();
        return described(await same.run!, same.startDate);
      }
      const startDate = at();
      const started: StartedExecution = { input: inputText, startDate, closed: false };
      tree.names.set(childArn, started);
      const child = { state: stateName, stop: new AbortController() };
      if (mode !== 'async') waitingFor.add(child);
      const run = execute(
        machine.definition,
        {
          input: childInput,
          executionName: childName,
          region,
          handlers: machine.handlers,
          stateMachineName: machine.stateMachineName,
          ...(machine.historyEventLimit ? { historyEventLimit: machine.historyEventLimit } : {}),
          ...(options.stateMachines ? { stateMachines: options.stateMachines } : {}),
          ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}),
          ...(report ? { onProgress: report } : {}),
          ...(options.afterTask ? { afterTask: options.afterTask } : {}),
          ...(options.onInvocation ? { onInvocation: options.onInvocation } : {}),
        },
        tree,
        executionArn,
        mode === 'async' ? undefined : child.stop.signal,
      );
      started.run = run;
      if (mode === 'async') {
        // A request-response integration: no TaskSubmitted, the Task succeeds once the child has started.
        tree.detached.push(run);
        return { ExecutionArn: childArn, StartDate: startDate };
      }
      submitted();
      return described(await run.finally(() => waitingFor.delete(child)), startDate);

      /** What DescribeExecution answers; .sync:2 gives Input and Output as JSON, .sync as strings. */
      function described(result: LocalExecutionResult, startedAt: number): Json {
        const encode = (value: Json | undefined) =>
          mode === 'sync:2' ? (value ?? null) : JSON.stringify(value ?? null);
        const description: Record<string, Json> = {
          ExecutionArn: childArn,
          StateMachineArn: arn as string,
          Name: childName,
          Status: result.status,
          StartDate: startedAt,
          StopDate: at(),
          Input: encode(childInput),
          InputDetails: { Included: true },
        };
        if (result.status === 'SUCCEEDED')
          return {
            ...description,
            Output: encode(result.output),
            OutputDetails: { Included: true },
          };
        // As Step Functions reports a failed child: States.TaskFailed, the DescribeExecution response as the cause.
        throw namedError(
          'States.TaskFailed',
          JSON.stringify({
            ...description,
            Error: result.error?.name ?? 'Error',
            Cause: result.error?.cause ?? '',
          }),
        );
      }
    };

  for (const [stateName, state] of taskStates(definition)) {
    const mode = startExecutionMode(state.Resource);
    const handler = mode ? undefined : options.handlers[stateName];
    if (!mode && !handler)
      throw new Error(`state ${stateName}: no local handler for ${state.Resource}`);
    const resource = state.Resource ?? '';
    const functionId = /function:kopsless-(\w+)$/.exec(resource)?.[1] ?? resource;
    const timed = async (input: Json): Promise<Json> => {
      const began = performance.now();
      try {
        return await handler!(input);
      } finally {
        options.onInvocation?.({
          functionId,
          state: stateName,
          stateMachine: options.stateMachineName,
          ms: performance.now() - began,
        });
      }
    };
    const attempt = async (input: Json): Promise<Json> => {
      // Held from the start: the engine has reached this Task, the clock must wait for it.
      await hold(async () => {
        await settle();
        if (history.failure) throw terminalError(history.failure);
        const inBytes = history.measure(input);
        if (inBytes > PAYLOAD_LIMIT_BYTES)
          history.fail(
            dataLimitFailure(`the input of state ${stateName} (after Parameters)`, inBytes),
          );
        else history.taskStarted(resource);
        if (history.failure) throw terminalError(history.failure);
      });
      let output: Json;
      try {
        output = mode
          ? await startChild(stateName, mode)(input, () => history.taskSubmitted())
          : await hold(() => timed(input));
      } catch (error) {
        history.taskEnded(resource, false);
        throw error;
      }
      history.taskEnded(resource, true);
      const outBytes = history.measure(output);
      if (outBytes > PAYLOAD_LIMIT_BYTES)
        history.fail(dataLimitFailure(`the result of state ${stateName}`, outBytes));
      if (history.failure) throw terminalError(history.failure);
      if (options.afterTask) await hold(() => options.afterTask!(stateName, output));
      return output;
    };
    if (!clock) {
      taskResourceLocalHandlers[stateName] = attempt;
      retryIntervalOverrides[stateName] = 20;
      continue;
    }
    // Under a simulated clock the runner retries, so that the pause is simulated time: the
    // engine only knows real sleeps. Its Retry is taken out of the definition it runs (below).
    const retriers = (state.Retry as Retrier[] | undefined) ?? [];
    taskResourceLocalHandlers[stateName] = async (input: Json) => {
      const attempts: number[] = [];
      for (;;) {
        try {
          // A Lambda attempt holds the clock from its start (the engine has reached it); a child's does not, so that the child's Waits can pass.
          return mode ? await attempt(input) : await clock.hold(() => attempt(input));
        } catch (error) {
          const delay = retryDelay(retriers, attempts, error, () => clock.random());
          if (delay === undefined) throw error;
          const e = error as { name?: string; message?: string };
          progress({
            kind: 'failed',
            state: stateName,
            stateType: 'Task',
            at: at(),
            error: { name: e.name ?? 'Error', cause: e.message ?? String(error) },
          });
          await clock.sleep(delay, sleeps.signal);
          if (history.failure) throw terminalError(history.failure);
          history.retried();
          progress({ kind: 'retried', state: stateName, stateType: 'Task', at: at() });
        }
      }
    };
  }

  const waits = waitStates(definition);
  const waitNames = new Set(clock ? waits.map(([name]) => name) : []);
  for (const [stateName, state] of waits) {
    if (!clock) {
      waitTimeOverrides[stateName] = options.waitMs ?? 100;
      continue;
    }
    taskResourceLocalHandlers[stateName] = async (request: Json) => {
      const { input, value } = request as { input: Json; value?: Json };
      await clock.sleep(waitSeconds(stateName, state, value, clock.now()), sleeps.signal);
      if (history.failure) throw terminalError(history.failure);
      return input;
    };
  }

  // Under a simulated clock the engine runs a rewritten definition: each Wait a Task the runner
  // sleeps in (the history still counts it as a Wait), Task retries left to the runner, and the
  // execution's TimeoutSeconds kept by the runner in simulated time.
  let engineDefinition: Definition = mapStates(definition, (_stateName, state) => {
    const longTimeout =
      state.Type === 'Task' &&
      state.TimeoutSeconds === undefined &&
      state.TimeoutSecondsPath === undefined &&
      (clock || startExecutionMode(state.Resource));
    return longTimeout ? { ...state, TimeoutSeconds: LONG_TASK_TIMEOUT_SECONDS } : state;
  });
  if (clock) {
    engineDefinition = mapStates(engineDefinition, (_stateName, state) => {
      if (state.Type === 'Task') {
        const { Retry: _retry, ...rest } = state;
        return rest as State;
      }
      if (state.Type !== 'Wait') return state;
      const {
        Type: _type,
        Seconds: _s,
        SecondsPath,
        Timestamp: _t,
        TimestampPath,
        ...rest
      } = state;
      const path = (SecondsPath ?? TimestampPath) as string | undefined;
      return {
        ...rest,
        Type: 'Task',
        Resource: SIMULATED_WAIT,
        TimeoutSeconds: LONG_TASK_TIMEOUT_SECONDS,
        Parameters: { 'input.$': '$', ...(path ? { 'value.$': path } : {}) },
      };
    });
    delete engineDefinition.TimeoutSeconds;
    // A Retry on a Map or Parallel state stays the engine's, which pauses in real time: no pause
    // here rather than a real one the simulated clock cannot see (none of the kopsless machines has one).
    const retriedContainers = (d: Pick<Definition, 'States'>): string[] =>
      Object.entries(d.States).flatMap(([name, state]) => [
        ...(state.Retry && state.Type !== 'Task' ? [name] : []),
        ...nestedDefinitions(state).flatMap(retriedContainers),
      ]);
    for (const name of retriedContainers(definition)) retryIntervalOverrides[name] = 0;
  }

  const machine = new StateMachine(
    engineDefinition as never,
    { validationOptions: { checkPaths: true, checkArn: false } } as never,
  );
  const startedAt = summary.startedAt;
  const execution = machine.run(options.input as never, {
    overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides } as never,
    context: {
      Execution: {
        Id: executionArn,
        Name: executionName,
        Input: options.input,
        StartTime: startedAt,
      },
      StateMachine: { Id: options.stateMachineName, Name: options.stateMachineName },
    } as never,
  });
  let aborted = false;
  let timedOut = false;
  const abort = () => {
    if (aborted) return;
    aborted = true;
    execution.abort();
  };
  const timeout = definition.TimeoutSeconds;
  if (clock && typeof timeout === 'number') {
    void clock.sleep(timeout, sleeps.signal).then(() => {
      if (sleeps.signal.aborted) return;
      if (
        history.fail(
          {
            name: 'States.Timeout',
            cause: `The execution ran longer than its TimeoutSeconds (${timeout} s)`,
          },
          'ExecutionTimedOut',
        )
      ) {
        timedOut = true;
        abort();
      }
    });
  }
  const pump = (async () => {
    for await (const raw of execution.eventLogs as AsyncIterable<Record<string, any>>) {
      // A Wait the engine runs as a Task (simulated clock) is a Wait in the history and the progress.
      const event =
        raw.state && waitNames.has(raw.state.name)
          ? { ...raw, state: { ...raw.state, type: 'Wait' } }
          : raw;
      // A quota that a Pass, Choice or Wait state breaks ends the execution here; a Task's is thrown from its handler above.
      const failure = history.onEngineEvent(event as EngineEvent);
      if (failure) history.fail(failure);
      if (history.failure) abort();
      // A failed Map or Parallel state stops its other iterations and branches, and with them the children they wait for.
      if (event.type === 'StateFailed' && containers.has(event.state?.name)) {
        for (const child of waitingFor)
          if (containers.get(event.state.name)!.has(child.state)) child.stop.abort();
      }
      const state = event.state?.name as string | undefined;
      if (!state || !report) continue;
      const base = {
        state,
        stateType: (event.state?.type as string | undefined) ?? 'Unknown',
        at: clock ? at() : (event.timestamp as number),
      };
      if (event.type === 'StateEntered') progress({ ...base, kind: 'entered' });
      else if (event.type === 'StateExited')
        progress({ ...base, kind: 'exited', output: event.state.output as Json });
      else if (event.type === 'StateRetried') progress({ ...base, kind: 'retried' });
      else if (event.type === 'StateCaught') progress({ ...base, kind: 'caught' });
      else if (event.type === 'StateFailed')
        progress({
          ...base,
          kind: 'failed',
          error: { name: String(event.Error), cause: String(event.Cause) },
        });
    }
  })();
  let stopped = false;
  const onParentStop = () => {
    stopped = true;
    abort();
  };
  if (parentStop?.aborted) onParentStop();
  else parentStop?.addEventListener('abort', onParentStop, { once: true });
  const finish = (
    result: Omit<LocalExecutionResult, 'startedAt' | 'stoppedAt' | 'executionArn'>,
  ): LocalExecutionResult => {
    sleeps.abort();
    const started = tree.names.get(executionArn);
    if (started) started.closed = true;
    parentStop?.removeEventListener('abort', onParentStop);
    for (const child of waitingFor) child.stop.abort();
    const stoppedAt = now().toISOString();
    Object.assign(summary, {
      status: stopped ? 'ABORTED' : result.status,
      historyEvents: history.events,
      transitions: history.transitions,
      lambdaInvocations: history.lambdaInvocations,
      maxStateBytes: history.maxStateBytes,
      stoppedAt,
    });
    emitExecutionStatusChange({
      executionArn,
      stateMachineArn: machineArn,
      name: executionName,
      status: stopped ? 'ABORTED' : timedOut ? 'TIMED_OUT' : result.status,
      startedAt,
      stoppedAt,
      input: options.input,
      ...(result.output !== undefined ? { output: result.output } : {}),
      ...(result.error ? { error: result.error } : {}),
      region,
    });
    return {
      executionArn,
      ...result,
      startedAt,
      stoppedAt,
      historyEvents: history.events,
      transitions: history.transitions,
    };
  };
  try {
    const output = (await execution.result) as Json;
    await pump.catch(() => undefined);
    // A Pass or Choice state's output over 256 KiB with no Task after it: the pump saw it, the engine did not.
    if (history.failure) return finish({ status: 'FAILED', error: history.failure });
    return finish({ status: 'SUCCEEDED', output });
  } catch (error) {
    await pump.catch(() => undefined);
    const e = error as { name?: string; message?: string; cause?: unknown };
    // An ExecutionError wraps what the Fail state (or the last failed state) reported.
    const inner = (e.cause ?? e) as { name?: string; message?: string };
    if (stopped)
      return finish({
        status: 'FAILED',
        error: {
          name: 'States.Aborted',
          cause: 'The parent execution stopped waiting for this execution',
        },
      });
    return finish({
      status: 'FAILED',
      error: history.failure ?? {
        name: inner.name ?? 'Error',
        cause: inner.message ?? String(error),
      },
    });
  }
}

/** The function each Task of a kopsless definition runs: its real handler (startExecution Tasks excepted). */
/** Runs one execution of a kopsless state machine to its end, each Task bound to its real handler, children included. */
export async function runStateMachine(
  name: StateMachineName,
  options: RunOptions,
): Promise<LocalExecutionResult> {
  // One settings object for the run and its children: one warm handler per function.
  const settings = options.settings ?? localSettingsFromEnv(process.env);
  const region = options.region ?? settings.config.region;
  const definition = loadDefinition(name, region);
  const bundles = bundleMode()
    ? await startBundlePool(settings, { simulatedClock: Boolean(options.clock) })
    : undefined;
  try {
    return await runWithHandlers(name, options, settings, region, definition, bundles);
  } finally {
    await bundles?.stop();
  }
}

async function runWithHandlers(
  name: StateMachineName,
  options: RunOptions,
  settings: LocalSettings,
  region: string,
  definition: Definition,
  bundles: BundlePool | undefined,
): Promise<LocalExecutionResult> {
  const handlers = await boundHandlers(definition, settings, options.lockHolder, bundles);
  // A child is a kopsless state machine of this region and account: statemachines/<name>.asl.json.
  const stateMachines = async (arn: string): Promise<ChildStateMachine> => {
    const child = stateMachineOfDeployedName(stateMachineNameOf(arn, region, ACCOUNT) ?? '');
    if (!child || !existsSync(definitionPath(child)))
      throw namedError(
        'StepFunctions.StateMachineDoesNotExistException',
        `State Machine Does Not Exist: '${arn}'`,
      );
    const childDefinition = loadDefinition(child, region);
    return {
      definition: childDefinition,
      handlers: await boundHandlers(childDefinition, settings, options.lockHolder, bundles),
      stateMachineName: deployedStateMachineName(child),
    };
  };
  return runDefinition(definition, {
    ...options,
    settings,
    region,
    handlers,
    stateMachineName: deployedStateMachineName(name),
    stateMachines,
  });
}
