import { randomUUID } from 'node:crypto';
import {
  executionArn as executionArnOf,
  executionNameProblem,
  stateMachineArn,
} from '../../aws/sfn.js';
import { now } from '../../clock.js';
import {
  ACCOUNT,
  type Definition,
  type Json,
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
import {
  type ChildStateMachine,
  type DefinitionRunOptions,
  type ExecutionSummary,
  LONG_TASK_TIMEOUT_SECONDS,
  type LocalExecutionResult,
  namedError,
  type ProgressEvent,
  type Retrier,
  retryDelay,
  SIMULATED_WAIT,
  settle,
  type TaskHandler,
  terminalError,
  waitSeconds,
} from './execution-model.js';
import {
  dataLimitFailure,
  type EngineEvent,
  ExecutionHistory,
  PAYLOAD_LIMIT_BYTES,
} from './history.js';
import type { SimClock } from './sim-clock.js';
import { emitExecutionStatusChange } from './status-events.js';

/**
 * One execution of an ASL definition on aws-local-stepfunctions, as a sequence of steps: open
 * it (its summary and RUNNING event), bind its Tasks and Waits, rewrite the definition the
 * engine runs, start the engine, follow its events into the history, and close it.
 */

/** What one local run (an execution and its children) shares. */
export interface RunTree {
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

/** The options of one execution: the run's, with its region and name settled. */
export type ExecutionOptions = DefinitionRunOptions & { region: string; executionName: string };

/** A child a .sync Task waits for, by Task state. */
interface WaitedChild {
  state: string;
  stop: AbortController;
}

/** What the steps of one execution share. */
interface ExecutionRun {
  definition: Definition;
  options: ExecutionOptions;
  tree: RunTree;
  clock: SimClock | undefined;
  parentExecutionArn: string | undefined;
  executionArn: string;
  machineArn: string;
  summary: ExecutionSummary;
  history: ExecutionHistory;
  /** Ends this execution's simulated sleeps (Waits, retry pauses, its timeout) when it ends. */
  sleeps: AbortController;
  /** Children a .sync Task waits for: stopped when the Map/Parallel around it fails or the execution ends. */
  waitingFor: Set<WaitedChild>;
}

/** What the engine is given besides the definition: the runner's Task and Wait bindings. */
interface EngineOverrides {
  taskResourceLocalHandlers: Record<string, TaskHandler>;
  waitTimeOverrides: Record<string, number>;
  retryIntervalOverrides: Record<string, number>;
}

/** How an execution was stopped before its end, if it was. */
interface Stopping {
  /** The parent stopped waiting for it (ABORTED). */
  stopped: boolean;
  /** Its TimeoutSeconds passed (TIMED_OUT). */
  timedOut: boolean;
  abort(): void;
  /** Stops listening for the parent's stop (set once the listener is added). */
  detach(): void;
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
 * One execution (the caller's or a child), its summary added to the run's list. `parentStop`
 * aborts when the parent stops waiting for this child: the execution is then stopped (ABORTED).
 */
export async function execute(
  definition: Definition,
  options: ExecutionOptions,
  tree: RunTree,
  parentExecutionArn: string | undefined,
  parentStop?: AbortSignal,
): Promise<LocalExecutionResult> {
  // Held: a child may start while its siblings sleep, and the clock must not move before it runs.
  const { StateMachine } = await hold(tree.clock, () => import('aws-local-stepfunctions'));
  const children = startExecutionStates(definition);
  if (children.length > 0 && !options.stateMachines)
    throw new Error(
      `state ${children[0]}: no way to start child executions (options.stateMachines)`,
    );
  const run = openExecution(definition, options, tree, parentExecutionArn);
  const overrides = engineOverrides(run);
  const machine = engineMachine(StateMachine, engineDefinition(definition, run.clock));
  const execution = machine.run(options.input as never, {
    overrides: overrides as never,
    context: executionContext(run) as never,
  });
  const stopping = stoppingOf(execution);
  keepTimeout(run, stopping);
  const pump = followEvents(run, execution, stopping);
  stopping.detach = listenForParentStop(parentStop, stopping);
  return awaitOutcome(run, execution.result as Promise<Json>, pump, stopping);
}

/** Engine definitions (as JSON) that passed the engine's validation in this process. */
const validDefinitions = new Set<string>();

/**
 * The engine's state machine for `engine`, checked by asl-validator (paths checked, ARNs not: a
 * Task's Resource is a local binding) the first time this process runs that definition, not again
 * once it passed: the validator builds and compiles its JSON schemas on every call, which costs
 * more than a short execution, and the same text gets the same verdict.
 */
function engineMachine<M>(
  StateMachine: new (definition: never, options: never) => M,
  engine: Definition,
): M {
  const text = JSON.stringify(engine);
  if (validDefinitions.has(text))
    return new StateMachine(engine as never, { validationOptions: { noValidate: true } } as never);
  const validationOptions = { checkPaths: true, checkArn: false };
  const machine = new StateMachine(engine as never, { validationOptions } as never);
  // It passed (the engine throws otherwise), as given and as the validator left it (it writes
  // each state's default QueryLanguage into the object).
  validDefinitions.add(text).add(JSON.stringify(engine));
  return machine;
}

/** `work`, holding the simulated clock while it runs (when there is one). */
function hold<T>(clock: SimClock | undefined, work: () => Promise<T>): Promise<T> {
  return clock ? clock.hold(work) : work();
}

/** The time on the run's clock, in milliseconds. */
function at(run: ExecutionRun): number {
  return run.clock ? run.clock.now().getTime() : now().getTime();
}

/** Reports progress; a child's events name the child. */
function progress(run: ExecutionRun, event: ProgressEvent): void {
  run.options.onProgress?.(
    run.parentExecutionArn
      ? { ...event, execution: run.executionArn, stateMachine: run.options.stateMachineName }
      : event,
  );
}

/** Records the execution in the run (summary, name) and announces it RUNNING. */
function openExecution(
  definition: Definition,
  options: ExecutionOptions,
  tree: RunTree,
  parentExecutionArn: string | undefined,
): ExecutionRun {
  const { region, executionName } = options;
  const history = new ExecutionHistory(options.historyEventLimit);
  const machineArn = stateMachineArn(region, ACCOUNT, options.stateMachineName);
  const executionArn = executionArnOf(machineArn, executionName);
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
  emitExecutionStatusChange({
    executionArn,
    stateMachineArn: machineArn,
    name: executionName,
    status: 'RUNNING',
    startedAt: summary.startedAt,
    input: options.input,
    region,
  });
  return {
    definition,
    options,
    tree,
    clock: tree.clock,
    parentExecutionArn,
    executionArn,
    machineArn,
    summary,
    history,
    sleeps: new AbortController(),
    waitingFor: new Set(),
  };
}

/** The runner's bindings of every Task and Wait state of the definition. */
function engineOverrides(run: ExecutionRun): EngineOverrides {
  const overrides: EngineOverrides = {
    taskResourceLocalHandlers: {},
    waitTimeOverrides: {},
    retryIntervalOverrides: {},
  };
  for (const [stateName, state] of taskStates(run.definition))
    bindTask(run, overrides, stateName, state);
  bindWaits(run, overrides);
  if (run.clock) {
    // A Retry on a Map or Parallel state stays the engine's, which pauses in real time: no pause
    // here rather than a real one the simulated clock cannot see (none of the kopsless machines has one).
    for (const name of retriedContainers(run.definition))
      overrides.retryIntervalOverrides[name] = 0;
  }
  return overrides;
}

/** Map and Parallel states (nested ones too) that carry a Retry. */
function retriedContainers(definition: Pick<Definition, 'States'>): string[] {
  return Object.entries(definition.States).flatMap(([name, state]) => [
    ...(state.Retry && state.Type !== 'Task' ? [name] : []),
    ...nestedDefinitions(state).flatMap(retriedContainers),
  ]);
}

/** Binds one Task state: its handler (or a child start), the history around it, and, under a simulated clock, its retries. */
function bindTask(run: ExecutionRun, overrides: EngineOverrides, stateName: string, state: State) {
  const mode = startExecutionMode(state.Resource);
  const handler = mode ? undefined : run.options.handlers[stateName];
  if (!mode && !handler)
    throw new Error(`state ${stateName}: no local handler for ${state.Resource}`);
  const attempt = taskAttempt(run, stateName, state, mode, handler);
  if (!run.clock) {
    overrides.taskResourceLocalHandlers[stateName] = attempt;
    overrides.retryIntervalOverrides[stateName] = 20;
    return;
  }
  overrides.taskResourceLocalHandlers[stateName] = simulatedRetries(
    run,
    run.clock,
    stateName,
    state,
    mode,
    attempt,
  );
}

/** One attempt of a Task: history and payload limits checked around its handler or child start. */
function taskAttempt(
  run: ExecutionRun,
  stateName: string,
  state: State,
  mode: StartMode | undefined,
  handler: TaskHandler | undefined,
): TaskHandler {
  const { history, options } = run;
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
  return async (input: Json): Promise<Json> => {
    // Held from the start: the engine has reached this Task, the clock must wait for it.
    await hold(run.clock, async () => {
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
        ? await startChild(run, stateName, mode, input, () => history.taskSubmitted())
        : await hold(run.clock, () => timed(input));
    } catch (error) {
      history.taskEnded(resource, false);
      throw error;
    }
    history.taskEnded(resource, true);
    const outBytes = history.measure(output);
    if (outBytes > PAYLOAD_LIMIT_BYTES)
      history.fail(dataLimitFailure(`the result of state ${stateName}`, outBytes));
    if (history.failure) throw terminalError(history.failure);
    if (options.afterTask) await hold(run.clock, () => options.afterTask!(stateName, output));
    return output;
  };
}

/**
 * Under a simulated clock the runner retries, so that the pause is simulated time: the engine
 * only knows real sleeps. The Task's Retry is taken out of the definition it runs.
 */
function simulatedRetries(
  run: ExecutionRun,
  clock: SimClock,
  stateName: string,
  state: State,
  mode: StartMode | undefined,
  attempt: TaskHandler,
): TaskHandler {
  const retriers = (state.Retry as Retrier[] | undefined) ?? [];
  return async (input: Json) => {
    const attempts: number[] = [];
    for (;;) {
      try {
        // A Lambda attempt holds the clock from its start (the engine has reached it); a child's does not, so that the child's Waits can pass.
        return mode ? await attempt(input) : await clock.hold(() => attempt(input));
      } catch (error) {
        const delay = retryDelay(retriers, attempts, error, () => clock.random());
        if (delay === undefined) throw error;
        const e = error as { name?: string; message?: string };
        progress(run, {
          kind: 'failed',
          state: stateName,
          stateType: 'Task',
          at: at(run),
          error: { name: e.name ?? 'Error', cause: e.message ?? String(error) },
        });
        await clock.sleep(delay, run.sleeps.signal);
        if (run.history.failure) throw terminalError(run.history.failure);
        run.history.retried();
        progress(run, { kind: 'retried', state: stateName, stateType: 'Task', at: at(run) });
      }
    }
  };
}

/** Waits: shortened in real time, or slept on the simulated clock (as Tasks of the rewritten definition). */
function bindWaits(run: ExecutionRun, overrides: EngineOverrides) {
  const { clock } = run;
  for (const [stateName, state] of waitStates(run.definition)) {
    if (!clock) {
      overrides.waitTimeOverrides[stateName] = run.options.waitMs ?? 100;
      continue;
    }
    overrides.taskResourceLocalHandlers[stateName] = async (request: Json) => {
      const { input, value } = request as { input: Json; value?: Json };
      await clock.sleep(waitSeconds(stateName, state, value, clock.now()), run.sleeps.signal);
      if (run.history.failure) throw terminalError(run.history.failure);
      return input;
    };
  }
}

/** What a startExecution Task does: starts (or finds, for a retried start) the child and, for .sync, waits for it. */
async function startChild(
  run: ExecutionRun,
  stateName: string,
  mode: StartMode,
  input: Json,
  submitted: () => void,
): Promise<Json> {
  const { tree, options } = run;
  const params = (
    input && typeof input === 'object' && !Array.isArray(input) ? input : {}
  ) as Record<string, Json>;
  const arn = params.StateMachineArn;
  if (typeof arn !== 'string')
    throw namedError(
      'States.Runtime',
      `state ${stateName}: the Parameters have no StateMachineArn string`,
    );
  const machine = await hold(run.clock, async () => options.stateMachines!(arn));
  const childInput = childInputOf(stateName, params.Input);
  const childName = typeof params.Name === 'string' ? params.Name : randomUUID();
  const childArn = executionArnOf(
    stateMachineArn(options.region, ACCOUNT, machine.stateMachineName),
    childName,
  );
  const inputText = JSON.stringify(childInput);
  const describe = (result: LocalExecutionResult, startedAt: number) =>
    describedChild(run, mode, { arn, childArn, childName, childInput }, result, startedAt);
  const same = startedExecution(tree, childArn, childName, inputText);
  if (same) {
    // The same execution, as StartExecution answers a retried start: no second child runs.
    if (mode === 'async') return { ExecutionArn: childArn, StartDate: same.startDate };
    submitted();
    return describe(await same.run!, same.startDate);
  }
  const startDate = at(run);
  const started: StartedExecution = { input: inputText, startDate, closed: false };
  tree.names.set(childArn, started);
  const child: WaitedChild = { state: stateName, stop: new AbortController() };
  if (mode !== 'async') run.waitingFor.add(child);
  const childRun = execute(
    machine.definition,
    childOptions(options, machine, childInput, childName),
    tree,
    run.executionArn,
    mode === 'async' ? undefined : child.stop.signal,
  );
  started.run = childRun;
  if (mode === 'async') {
    // A request-response integration: no TaskSubmitted, the Task succeeds once the child has started.
    tree.detached.push(childRun);
    return { ExecutionArn: childArn, StartDate: startDate };
  }
  submitted();
  return describe(await childRun.finally(() => run.waitingFor.delete(child)), startDate);
}

/** The child's input: JSON, or a string holding JSON. */
function childInputOf(stateName: string, input: Json | undefined): Json {
  if (typeof input !== 'string') return input ?? {};
  try {
    return JSON.parse(input) as Json;
  } catch (error) {
    throw namedError(
      'StepFunctions.InvalidExecutionInputException',
      `state ${stateName}: Input is not JSON: ${(error as Error).message}`,
    );
  }
}

/** A child's options: its machine's, with what the parent's run passes down. */
function childOptions(
  options: ExecutionOptions,
  machine: ChildStateMachine,
  input: Json,
  executionName: string,
): ExecutionOptions {
  return {
    input,
    executionName,
    region: options.region,
    handlers: machine.handlers,
    stateMachineName: machine.stateMachineName,
    ...(machine.historyEventLimit ? { historyEventLimit: machine.historyEventLimit } : {}),
    ...(options.stateMachines ? { stateMachines: options.stateMachines } : {}),
    ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.afterTask ? { afterTask: options.afterTask } : {}),
    ...(options.onInvocation ? { onInvocation: options.onInvocation } : {}),
  };
}

/** What DescribeExecution answers; .sync:2 gives Input and Output as JSON, .sync as strings. */
function describedChild(
  run: ExecutionRun,
  mode: StartMode,
  child: { arn: string; childArn: string; childName: string; childInput: Json },
  result: LocalExecutionResult,
  startedAt: number,
): Json {
  const encode = (value: Json | undefined) =>
    mode === 'sync:2' ? (value ?? null) : JSON.stringify(value ?? null);
  const description: Record<string, Json> = {
    ExecutionArn: child.childArn,
    StateMachineArn: child.arn,
    Name: child.childName,
    Status: result.status,
    StartDate: startedAt,
    StopDate: at(run),
    Input: encode(child.childInput),
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

/**
 * The definition the engine runs. Tasks without a timeout that may take long get one as long as
 * a timer can be. Under a simulated clock each Wait becomes a Task the runner sleeps in (the
 * history still counts it as a Wait), Task retries are left to the runner, and the execution's
 * TimeoutSeconds is kept by the runner in simulated time.
 */
function engineDefinition(definition: Definition, clock: SimClock | undefined): Definition {
  const timed = mapStates(definition, (_stateName, state) => {
    const longTimeout =
      state.Type === 'Task' &&
      state.TimeoutSeconds === undefined &&
      state.TimeoutSecondsPath === undefined &&
      (clock || startExecutionMode(state.Resource));
    return longTimeout ? { ...state, TimeoutSeconds: LONG_TASK_TIMEOUT_SECONDS } : state;
  });
  if (!clock) return timed;
  const simulated = mapStates(timed, (_stateName, state) => {
    if (state.Type === 'Task') {
      const { Retry: _retry, ...rest } = state;
      return rest as State;
    }
    return state.Type === 'Wait' ? waitAsTask(state) : state;
  });
  delete simulated.TimeoutSeconds;
  return simulated;
}

/** A Wait state as the Task the runner sleeps in, given the input and the Wait's path value. */
function waitAsTask(state: State): State {
  const { Type: _type, Seconds: _s, SecondsPath, Timestamp: _t, TimestampPath, ...rest } = state;
  const path = (SecondsPath ?? TimestampPath) as string | undefined;
  return {
    ...rest,
    Type: 'Task',
    Resource: SIMULATED_WAIT,
    TimeoutSeconds: LONG_TASK_TIMEOUT_SECONDS,
    Parameters: { 'input.$': '$', ...(path ? { 'value.$': path } : {}) },
  } as State;
}

/** The context object (`$$`) of the execution. */
function executionContext(run: ExecutionRun) {
  return {
    Execution: {
      Id: run.executionArn,
      Name: run.options.executionName,
      Input: run.options.input,
      StartTime: run.summary.startedAt,
    },
    StateMachine: { Id: run.options.stateMachineName, Name: run.options.stateMachineName },
  };
}

/** How the engine's execution is stopped, at most once. */
function stoppingOf(execution: { abort(): void }): Stopping {
  let aborted = false;
  return {
    stopped: false,
    timedOut: false,
    abort() {
      if (aborted) return;
      aborted = true;
      execution.abort();
    },
    detach() {},
  };
}

/** Under a simulated clock, the execution's TimeoutSeconds: past it, it fails with States.Timeout. */
function keepTimeout(run: ExecutionRun, stopping: Stopping) {
  const timeout = run.definition.TimeoutSeconds;
  if (!run.clock || typeof timeout !== 'number') return;
  void run.clock.sleep(timeout, run.sleeps.signal).then(() => {
    if (run.sleeps.signal.aborted) return;
    if (
      run.history.fail(
        {
          name: 'States.Timeout',
          cause: `The execution ran longer than its TimeoutSeconds (${timeout} s)`,
        },
        'ExecutionTimedOut',
      )
    ) {
      stopping.timedOut = true;
      stopping.abort();
    }
  });
}

/** The parent stopping: the execution is aborted. Returns what removes the listener. */
function listenForParentStop(parentStop: AbortSignal | undefined, stopping: Stopping): () => void {
  const onParentStop = () => {
    stopping.stopped = true;
    stopping.abort();
  };
  if (parentStop?.aborted) onParentStop();
  else parentStop?.addEventListener('abort', onParentStop, { once: true });
  return () => parentStop?.removeEventListener('abort', onParentStop);
}

/** Reads the engine's events into the history (ending the execution at a quota) and the progress. */
async function followEvents(
  run: ExecutionRun,
  execution: { eventLogs: unknown },
  stopping: Stopping,
): Promise<void> {
  const waitNames = new Set(run.clock ? waitStates(run.definition).map(([name]) => name) : []);
  const containers = tasksWithin(run.definition);
  for await (const raw of execution.eventLogs as AsyncIterable<Record<string, any>>) {
    // A Wait the engine runs as a Task (simulated clock) is a Wait in the history and the progress.
    const event =
      raw.state && waitNames.has(raw.state.name)
        ? { ...raw, state: { ...raw.state, type: 'Wait' } }
        : raw;
    // A quota that a Pass, Choice or Wait state breaks ends the execution here; a Task's is thrown from its handler.
    const failure = run.history.onEngineEvent(event as EngineEvent);
    if (failure) run.history.fail(failure);
    if (run.history.failure) stopping.abort();
    // A failed Map or Parallel state stops its other iterations and branches, and with them the children they wait for.
    if (event.type === 'StateFailed' && containers.has(event.state?.name)) {
      for (const child of run.waitingFor)
        if (containers.get(event.state.name)!.has(child.state)) child.stop.abort();
    }
    reportEvent(run, event);
  }
}

/** An engine event as progress. */
function reportEvent(run: ExecutionRun, event: Record<string, any>) {
  const state = event.state?.name as string | undefined;
  if (!state || !run.options.onProgress) return;
  const base = {
    state,
    stateType: (event.state?.type as string | undefined) ?? 'Unknown',
    at: run.clock ? at(run) : (event.timestamp as number),
  };
  if (event.type === 'StateEntered') progress(run, { ...base, kind: 'entered' });
  else if (event.type === 'StateExited')
    progress(run, { ...base, kind: 'exited', output: event.state.output as Json });
  else if (event.type === 'StateRetried') progress(run, { ...base, kind: 'retried' });
  else if (event.type === 'StateCaught') progress(run, { ...base, kind: 'caught' });
  else if (event.type === 'StateFailed')
    progress(run, {
      ...base,
      kind: 'failed',
      error: { name: String(event.Error), cause: String(event.Cause) },
    });
}

/** Waits for the engine's result and closes the execution with it. */
async function awaitOutcome(
  run: ExecutionRun,
  result: Promise<Json>,
  pump: Promise<void>,
  stopping: Stopping,
): Promise<LocalExecutionResult> {
  try {
    const output = await result;
    await pump.catch(() => undefined);
    // A Pass or Choice state's output over 256 KiB with no Task after it: the pump saw it, the engine did not.
    if (run.history.failure)
      return closeExecution(run, stopping, { status: 'FAILED', error: run.history.failure });
    return closeExecution(run, stopping, { status: 'SUCCEEDED', output });
  } catch (error) {
    await pump.catch(() => undefined);
    const e = error as { name?: string; message?: string; cause?: unknown };
    // An ExecutionError wraps what the Fail state (or the last failed state) reported.
    const inner = (e.cause ?? e) as { name?: string; message?: string };
    if (stopping.stopped)
      return closeExecution(run, stopping, {
        status: 'FAILED',
        error: {
          name: 'States.Aborted',
          cause: 'The parent execution stopped waiting for this execution',
        },
      });
    return closeExecution(run, stopping, {
      status: 'FAILED',
      error: run.history.failure ?? {
        name: inner.name ?? 'Error',
        cause: inner.message ?? String(error),
      },
    });
  }
}

/** Ends the execution: its sleeps and children stopped, its summary completed, its status announced. */
function closeExecution(
  run: ExecutionRun,
  stopping: Stopping,
  result: Omit<LocalExecutionResult, 'startedAt' | 'stoppedAt' | 'executionArn'>,
): LocalExecutionResult {
  const { history, summary, executionArn, options } = run;
  run.sleeps.abort();
  const started = run.tree.names.get(executionArn);
  if (started) started.closed = true;
  stopping.detach();
  for (const child of run.waitingFor) child.stop.abort();
  const stoppedAt = now().toISOString();
  const startedAt = summary.startedAt;
  Object.assign(summary, {
    status: stopping.stopped ? 'ABORTED' : result.status,
    historyEvents: history.events,
    transitions: history.transitions,
    lambdaInvocations: history.lambdaInvocations,
    maxStateBytes: history.maxStateBytes,
    stoppedAt,
  });
  emitExecutionStatusChange({
    executionArn,
    stateMachineArn: run.machineArn,
    name: options.executionName,
    status: stopping.stopped ? 'ABORTED' : stopping.timedOut ? 'TIMED_OUT' : result.status,
    startedAt,
    stoppedAt,
    input: options.input,
    ...(result.output !== undefined ? { output: result.output } : {}),
    ...(result.error ? { error: result.error } : {}),
    region: options.region,
  });
  return {
    executionArn,
    ...result,
    startedAt,
    stoppedAt,
    historyEvents: history.events,
    transitions: history.transitions,
  };
}
