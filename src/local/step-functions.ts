import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { executionArn as executionArnOf, stateMachineArn, stateMachineNameOf } from '../aws/sfn.js';
import { ALL_STATE_MACHINES, deployedStateMachineName, FUNCTIONS, stateMachineOfDeployedName, type AnyStateMachineName, type FunctionLogicalId, type StateMachineName } from '../functions-registry.js';
import { InvalidInputError } from '../errors.js';
import { inFunction } from './aws-calls.js';
import { faultsFromEnv, withinHandler } from './faults.js';
import { dataLimitFailure, ExecutionHistory, PAYLOAD_LIMIT_BYTES, payloadBytes, type EngineEvent } from './history.js';
import { lambdaContext, localHandler, localSettingsFromEnv, type LocalSettings } from './handlers.js';
import type { LockHolder } from './holder.js';
import type { SimClock } from './sim-clock.js';
import { now, useClock } from '../clock.js';

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
  (Promise as unknown as { withResolvers: () => unknown }).withResolvers = function withResolvers<T>() {
    let resolve!: (value: T) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  };
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const ACCOUNT = '123456789012';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type State = { Type: string; Resource?: string; [key: string]: unknown };
export type Definition = { StartAt: string; States: Record<string, State>; [key: string]: unknown };

export function definitionPath(name: AnyStateMachineName): string {
  return join(ROOT, 'statemachines', `${name}.asl.json`);
}

/**
 * The ASL text with every `${...Arn}` substitution replaced as SAM would, with local ARNs: a
 * function's (`${XFunctionArn}`) or a state machine's (`${RollingUpdateGroupStateMachineArn}` →
 * `...:stateMachine:kopsless-rolling-update-group`, the name template.yaml gives it).
 */
export function loadDefinition(name: AnyStateMachineName, region: string): Definition {
  return JSON.parse(substituteArns(readFileSync(definitionPath(name), 'utf8'), region)) as Definition;
}

/** ASL text with its `${XFunctionArn}` and `${XStateMachineArn}` substitutions replaced by local ARNs (see loadDefinition). */
export function substituteArns(text: string, region: string): string {
  return text.replace(/\$\{(\w+)Arn\}/g, (_, id: string) => {
    const machine = ALL_STATE_MACHINES[id as keyof typeof ALL_STATE_MACHINES];
    if (machine) return stateMachineArn(region, ACCOUNT, deployedStateMachineName(machine));
    if (id.endsWith('StateMachine')) throw new Error(`\${${id}Arn}: ${id} is no state machine of src/functions-registry.ts`);
    return `arn:aws:lambda:${region}:${ACCOUNT}:function:kopsless-${id}`;
  });
}

export interface ProgressEvent {
  kind: 'entered' | 'exited' | 'retried' | 'caught' | 'failed';
  state: string;
  stateType: string;
  at: number;
  output?: Json;
  error?: { name: string; cause: string };
  /** The child execution's ARN when the state is a child's (absent for the execution the caller started). */
  execution?: string;
  /** The child execution's state machine name (e.g. kopsless-rolling-update-group), with `execution`. */
  stateMachine?: string;
}

/** One execution of a local run: the one the caller started, or a child it (or a child) started. */
export interface ExecutionSummary {
  executionArn: string;
  /** The state machine's name (kopsless-<name> for the real ones). */
  stateMachine: string;
  /** The execution whose Task started it; absent for the execution the caller started. */
  parentExecutionArn?: string;
  /** ABORTED: stopped because the parent execution, or the Map or Parallel state that waited for it, ended first (as Step Functions stops a .sync child). */
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  /** History events of this execution alone (what its own 25,000 quota counts). */
  historyEvents: number;
  /** State transitions of this execution alone. */
  transitions: number;
  /** Lambda invocations of this execution alone (every attempt). */
  lambdaInvocations: number;
  /** When it started and stopped, on the run's clock (simulated time under `RunOptions.clock`). */
  startedAt: string;
  stoppedAt?: string;
}

export interface LocalExecutionResult {
  executionArn: string;
  status: 'SUCCEEDED' | 'FAILED';
  output?: Json;
  error?: { name: string; cause: string };
  startedAt: string;
  stoppedAt: string;
  /** History events Step Functions Standard would have recorded for this execution (local runs only). */
  historyEvents?: number;
  /** State transitions as Step Functions bills them, this execution's and every child's (local runs only). */
  transitions?: number;
  /** The execution and every child execution it started, recursively, in the order they started (local runs only). */
  executions?: ExecutionSummary[];
  /** The largest history of any execution of the run: the figure the 25,000-event quota limits (local runs only). */
  maxHistoryEvents?: number;
  /** Lambda invocations of the execution and its children (local runs only). */
  lambdaInvocations?: number;
}

export interface RunOptions {
  input: Json;
  executionName?: string;
  region?: string;
  /** Milliseconds each Wait state lasts locally (moto needs no real waiting). Ignored with `clock`. */
  waitMs?: number;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * The process running this execution, written into the cluster lock when the execution takes
   * it, so that a later command on this machine can tell that the holder is gone (kill -9) and
   * take the lock over instead of waiting out the lease. Only local runs have one.
   */
  lockHolder?: LockHolder;
  /** Awaited after every Task, before the execution moves on: lets a test look at the world between steps. */
  afterTask?: (state: string, output: Json) => Promise<void>;
  /**
   * Called after every Lambda attempt (children's included) with the real milliseconds its
   * handler ran here: what the bench prices as Lambda GB-seconds. Under a simulated clock a
   * handler takes no simulated time, so progress events cannot tell this.
   */
  onInvocation?: (invocation: LambdaInvocation) => void;
  /**
   * Runs the execution in simulated time: Wait states, retry intervals and the execution's
   * TimeoutSeconds elapse on this clock (see sim-clock.ts), and `now()` (src/clock.ts) reads it
   * while the run lasts. Without it, Waits last `waitMs` and retries 20 ms of real time.
   */
  clock?: SimClock;
  /**
   * What the handlers are built from (configuration, endpoint, credentials). Without it, they
   * are built from process.env as it is when the run starts, as a Lambda's are from its environment.
   */
  settings?: LocalSettings;
}

/** One Lambda attempt of a local run, as `RunOptions.onInvocation` reports it. */
export interface LambdaInvocation {
  /** The function's logical ID (from `function:kopsless-<id>`), or the Resource when it names none. */
  functionId: string;
  state: string;
  /** The state machine of the execution that ran it (kopsless-<name>). */
  stateMachine: string;
  /** Real milliseconds the handler ran (failed attempts included, as Lambda bills them). */
  ms: number;
}

type TaskHandler = (input: Json) => Promise<Json>;

/** A state machine a startExecution Task may start, as the run resolves it from its ARN. */
export interface ChildStateMachine {
  definition: Definition;
  /** The function each of its Task states runs (startExecution Tasks excepted). */
  handlers: Record<string, TaskHandler>;
  /** Its name in ARNs. */
  stateMachineName: string;
  /** History events allowed in each of its executions (Step Functions' quota by default). */
  historyEventLimit?: number;
}

export interface DefinitionRunOptions extends RunOptions {
  /** The function each Task state runs, by state name (Tasks inside Map and Parallel included; not startExecution Tasks). */
  handlers: Record<string, TaskHandler>;
  /** The state machine's name in ARNs (kopsless-<name> for the real ones). */
  stateMachineName: string;
  /** History events allowed (Step Functions' quota unless a test asks for fewer). */
  historyEventLimit?: number;
  /**
   * The state machine a startExecution Task's `StateMachineArn` names; throw (e.g. an error
   * named `StepFunctions.StateMachineDoesNotExistException`) for one that does not exist.
   * Required when the definition has startExecution Tasks.
   */
  stateMachines?: (stateMachineArn: string) => ChildStateMachine | Promise<ChildStateMachine>;
}

/** The execution ARN a local run of `name` named `executionName` has (the lock's owner). */
export function localExecutionArn(name: StateMachineName, executionName: string, region = process.env.AWS_REGION ?? 'us-east-1'): string {
  return executionArnOf(stateMachineArn(region, ACCOUNT, deployedStateMachineName(name)), executionName);
}

async function boundHandler(logicalId: FunctionLogicalId, settings: LocalSettings, lockHolder?: LockHolder): Promise<TaskHandler> {
  const handler = await localHandler(logicalId, settings);
  // Inside inFunction, the AWS calls the handler makes are attributed to it (see aws-calls.ts); inside
  // withinHandler, they are the only calls fault injection (KOPSLESS_FAULTS) may touch.
  const invoke = async (input: Json) =>
    (await inFunction(logicalId, () => withinHandler(logicalId, () => handler(input, lambdaContext(`kopsless-${logicalId}`))))) as Json;
  if (!lockHolder || logicalId !== 'WriteStateFunction') return invoke;
  // The holder rides along with the acquireLock request only here: on AWS no process holds it.
  return async (input: Json) =>
    invoke(input && typeof input === 'object' && !Array.isArray(input) && input.action === 'acquireLock' ? { ...input, holder: lockHolder as unknown as Json } : input);
}

function nestedDefinitions(state: State): Array<Pick<Definition, 'States'>> {
  return [state.Iterator, state.ItemProcessor, ...((state.Branches as unknown[]) ?? [])].filter(Boolean) as Array<Pick<Definition, 'States'>>;
}

/** Every Task state of a definition, those inside Map iterations and Parallel branches included. */
export function taskStates(definition: Pick<Definition, 'States'>): Array<[string, State]> {
  return Object.entries(definition.States).flatMap(([name, state]): Array<[string, State]> => {
    if (state.Type === 'Task') return [[name, state]];
    return nestedDefinitions(state).flatMap(taskStates);
  });
}

/** Every Wait state, nested ones included. */
function waitStates(definition: Pick<Definition, 'States'>): Array<[string, State]> {
  return Object.entries(definition.States).flatMap(([name, state]): Array<[string, State]> => {
    if (state.Type === 'Wait') return [[name, state]];
    return nestedDefinitions(state).flatMap(waitStates);
  });
}

/** The definition with `transform` applied to every state, nested ones included (a copy; the original is untouched). */
function mapStates<D extends Pick<Definition, 'States'>>(definition: D, transform: (name: string, state: State) => State): D {
  const States: Record<string, State> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    const copy: State = { ...state };
    if (state.Iterator) copy.Iterator = mapStates(state.Iterator as Definition, transform);
    if (state.ItemProcessor) copy.ItemProcessor = mapStates(state.ItemProcessor as Definition, transform);
    if (Array.isArray(state.Branches)) copy.Branches = (state.Branches as Definition[]).map((branch) => mapStates(branch, transform));
    States[name] = transform(name, copy);
  }
  return { ...definition, States };
}

const START_EXECUTION = 'arn:aws:states:::states:startExecution';
type StartMode = 'async' | 'sync' | 'sync:2';

/** How a Task starts a child execution, when its Resource is Step Functions' StartExecution integration. */
function startExecutionMode(resource: string | undefined): StartMode | undefined {
  if (resource === START_EXECUTION) return 'async';
  if (resource === `${START_EXECUTION}.sync`) return 'sync';
  if (resource === `${START_EXECUTION}.sync:2`) return 'sync:2';
  return undefined;
}

/** The Task states inside each Map and Parallel state, however deep. */
function tasksWithin(definition: Pick<Definition, 'States'>, into = new Map<string, Set<string>>()): Map<string, Set<string>> {
  for (const [name, state] of Object.entries(definition.States)) {
    const nested = nestedDefinitions(state);
    if (nested.length === 0) continue;
    into.set(name, new Set(nested.flatMap(taskStates).map(([task]) => task)));
    for (const inner of nested) tasksWithin(inner, into);
  }
  return into;
}

/** Every Task state that starts a child execution. */
function startExecutionStates(definition: Pick<Definition, 'States'>): string[] {
  return taskStates(definition)
    .filter(([, state]) => startExecutionMode(state.Resource))
    .map(([name]) => name);
}

/**
 * The engine's own timeout for a Task without TimeoutSeconds is 60 s of real time; Step
 * Functions' is 99,999,999 s. A child execution, or a Task that sleeps in simulated time, may
 * well take longer than a minute for real, so such Tasks get this instead: as long as a Node
 * timer can be (2^31 ms is 24.8 days).
 */
const LONG_TASK_TIMEOUT_SECONDS = 2_000_000;
/** Resource of the Task a Wait state becomes under a simulated clock (never invoked on AWS). */
const SIMULATED_WAIT = 'arn:aws:states:::kopsless:simulatedWait';

/** An error Step Functions ends the execution with: no Retry or Catch matches it (aws-local-stepfunctions reads these two flags). */
function terminalError(failure: { name: string; cause: string }): Error {
  return Object.assign(new Error(failure.cause), { name: failure.name, isRetryable: false, isCatchable: false });
}

function namedError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

/** Lets the event pump read every event emitted so far (it runs on promise jobs only). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

type Retrier = { ErrorEquals: string[]; IntervalSeconds?: number; MaxAttempts?: number; BackoffRate?: number; MaxDelaySeconds?: number; JitterStrategy?: string };

/**
 * Seconds before the next attempt if a retrier of `retriers` takes `error` (counting the attempt
 * in `attempts`), or undefined when none does: as Step Functions decides, the first retrier whose
 * ErrorEquals matches decides alone; IntervalSeconds × BackoffRate^(retries so far), capped at
 * MaxDelaySeconds, FULL jitter drawing from [0, that).
 */
function retryDelay(retriers: Retrier[], attempts: number[], error: unknown, random: () => number): number | undefined {
  const e = error as { name?: string; isRetryable?: boolean };
  if (e?.isRetryable === false) return undefined;
  const name = e?.name ?? 'Error';
  for (const [i, retrier] of retriers.entries()) {
    const matches = retrier.ErrorEquals.some((want) => want === name || want === 'States.ALL' || (want === 'States.TaskFailed' && name !== 'States.Timeout'));
    if (!matches) continue;
    const done = attempts[i] ?? 0;
    if (done >= (retrier.MaxAttempts ?? 3)) return undefined;
    attempts[i] = done + 1;
    let delay = (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** done;
    if (retrier.MaxDelaySeconds !== undefined) delay = Math.min(delay, retrier.MaxDelaySeconds);
    return retrier.JitterStrategy === 'FULL' ? delay * random() : delay;
  }
  return undefined;
}

/** Seconds a Wait state waits, read from its definition and (for the *Path fields) its input's value. */
function waitSeconds(stateName: string, state: State, value: Json | undefined, at: Date): number {
  if (typeof state.Seconds === 'number') return state.Seconds;
  if (state.SecondsPath !== undefined) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
      throw namedError('States.Runtime', `Wait state ${stateName}: SecondsPath ${String(state.SecondsPath)} is ${JSON.stringify(value)}, not an integer >= 0`);
    return value;
  }
  const timestamp = state.Timestamp ?? value;
  const time = typeof timestamp === 'string' ? Date.parse(timestamp) : Number.NaN;
  if (Number.isNaN(time)) throw namedError('States.Runtime', `Wait state ${stateName}: ${state.Timestamp !== undefined ? 'Timestamp' : `TimestampPath ${String(state.TimestampPath)}`} is ${JSON.stringify(timestamp)}, not an RFC 3339 timestamp`);
  return Math.max(0, (time - at.getTime()) / 1000);
}

/** What one local run (an execution and its children) shares. */
interface RunTree {
  region: string;
  clock?: SimClock;
  executions: ExecutionSummary[];
  /** Execution ARNs taken (a name is unique per state machine). */
  names: Set<string>;
  /** Fire-and-forget children still running: the run ends when they do. */
  detached: Array<Promise<unknown>>;
}

/**
 * Runs one execution of any ASL definition to its end with the given Task handlers, counting
 * its history as Step Functions would and failing it where Step Functions would: past the
 * history quota, or on a state input or output over 256 KiB. Child executions that its
 * startExecution Tasks start run too, each with its own history and quotas; the result lists
 * them all in `executions`.
 */
export async function runDefinition(definition: Definition, options: DefinitionRunOptions): Promise<LocalExecutionResult> {
  faultsFromEnv();
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const inputBytes = payloadBytes(options.input);
  if (inputBytes > PAYLOAD_LIMIT_BYTES) {
    // StartExecution itself refuses such an input: there is no execution.
    throw new InvalidInputError([{ path: '(input)', message: `Too long: ${inputBytes} bytes, more than the ${PAYLOAD_LIMIT_BYTES} bytes (256 KiB) Step Functions accepts` }]);
  }
  if (options.input === null) {
    // On AWS the first state, ValidateInput, would refuse it; the local engine cannot even pass
    // `$` of a null input to it (States.Runtime), so the refusal comes before the execution.
    throw new InvalidInputError([{ path: '(input)', message: 'expected object, got null' }]);
  }
  const tree: RunTree = { region, executions: [], names: new Set(), detached: [], ...(options.clock ? { clock: options.clock } : {}) };
  const previousClock = options.clock ? useClock(options.clock) : undefined;
  try {
    const executionName = options.executionName ?? `${options.stateMachineName}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const result = await execute(definition, { ...options, region, executionName }, tree, undefined);
    while (tree.detached.length > 0) await Promise.allSettled(tree.detached.splice(0));
    return {
      ...result,
      executions: tree.executions,
      transitions: tree.executions.reduce((sum, e) => sum + e.transitions, 0),
      maxHistoryEvents: Math.max(...tree.executions.map((e) => e.historyEvents)),
      lambdaInvocations: tree.executions.reduce((sum, e) => sum + e.lambdaInvocations, 0),
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
  const { StateMachine } = await (clock ? clock.hold(() => import('aws-local-stepfunctions')) : import('aws-local-stepfunctions'));
  const { region, executionName, onProgress: report } = options;
  const children = startExecutionStates(definition);
  if (children.length > 0 && !options.stateMachines) throw new Error(`state ${children[0]}: no way to start child executions (options.stateMachines)`);
  const history = new ExecutionHistory(options.historyEventLimit);
  const executionArn = executionArnOf(stateMachineArn(region, ACCOUNT, options.stateMachineName), executionName);
  const summary: ExecutionSummary = {
    executionArn,
    stateMachine: options.stateMachineName,
    ...(parentExecutionArn ? { parentExecutionArn } : {}),
    status: 'RUNNING',
    historyEvents: 0,
    transitions: 0,
    lambdaInvocations: 0,
    startedAt: now().toISOString(),
  };
  tree.executions.push(summary);
  tree.names.add(executionArn);
  // Ends this execution's simulated sleeps (Waits, retry pauses, its timeout) when it ends.
  const sleeps = new AbortController();
  const at = () => (clock ? clock.now().getTime() : Date.now());
  const hold = <T>(work: () => Promise<T>): Promise<T> => (clock ? clock.hold(work) : work());
  const progress = (event: ProgressEvent) => report?.(parentExecutionArn ? { ...event, execution: executionArn, stateMachine: options.stateMachineName } : event);

  // Children a .sync Task waits for, by Task state: stopped when the Map/Parallel around it fails or the execution ends.
  const waitingFor = new Set<{ state: string; stop: AbortController }>();
  const containers = tasksWithin(definition);
  const taskResourceLocalHandlers: Record<string, TaskHandler> = {};
  const waitTimeOverrides: Record<string, number> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  const startChild = (stateName: string, mode: StartMode) => async (input: Json, submitted: () => void): Promise<Json> => {
    const params = (input && typeof input === 'object' && !Array.isArray(input) ? input : {}) as Record<string, Json>;
    const arn = params.StateMachineArn;
    if (typeof arn !== 'string') throw namedError('States.Runtime', `state ${stateName}: the Parameters have no StateMachineArn string`);
    const machine = await hold(async () => options.stateMachines!(arn));
    let childInput: Json = params.Input ?? {};
    if (typeof childInput === 'string') {
      try {
        childInput = JSON.parse(childInput) as Json;
      } catch (error) {
        throw namedError('StepFunctions.InvalidExecutionInputException', `state ${stateName}: Input is not JSON: ${(error as Error).message}`);
      }
    }
    const childName = typeof params.Name === 'string' ? params.Name : randomUUID();
    const childArn = executionArnOf(stateMachineArn(region, ACCOUNT, machine.stateMachineName), childName);
    if (tree.names.has(childArn)) throw namedError('StepFunctions.ExecutionAlreadyExistsException', `Execution Already Exists: '${childArn}'`);
    tree.names.add(childArn);
    const startDate = at();
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
    if (mode === 'async') {
      // A request-response integration: no TaskSubmitted, the Task succeeds once the child has started.
      tree.detached.push(run);
      return { ExecutionArn: childArn, StartDate: startDate };
    }
    submitted();
    const result = await run.finally(() => waitingFor.delete(child));
    // What DescribeExecution answers; .sync:2 gives Input and Output as JSON, .sync as strings.
    const encode = (value: Json | undefined) => (mode === 'sync:2' ? (value ?? null) : JSON.stringify(value ?? null));
    const described: Record<string, Json> = {
      ExecutionArn: childArn,
      StateMachineArn: arn,
      Name: childName,
      Status: result.status,
      StartDate: startDate,
      StopDate: at(),
      Input: encode(childInput),
      InputDetails: { Included: true },
    };
    if (result.status === 'SUCCEEDED') return { ...described, Output: encode(result.output), OutputDetails: { Included: true } };
    // As Step Functions reports a failed child: States.TaskFailed, the DescribeExecution response as the cause.
    throw namedError('States.TaskFailed', JSON.stringify({ ...described, Error: result.error?.name ?? 'Error', Cause: result.error?.cause ?? '' }));
  };

  for (const [stateName, state] of taskStates(definition)) {
    const mode = startExecutionMode(state.Resource);
    const handler = mode ? undefined : options.handlers[stateName];
    if (!mode && !handler) throw new Error(`state ${stateName}: no local handler for ${state.Resource}`);
    const resource = state.Resource ?? '';
    const functionId = /function:kopsless-(\w+)$/.exec(resource)?.[1] ?? resource;
    const timed = async (input: Json): Promise<Json> => {
      const began = performance.now();
      try {
        return await handler!(input);
      } finally {
        options.onInvocation?.({ functionId, state: stateName, stateMachine: options.stateMachineName, ms: performance.now() - began });
      }
    };
    const attempt = async (input: Json): Promise<Json> => {
      // Held from the start: the engine has reached this Task, the clock must wait for it.
      await hold(async () => {
        await settle();
        if (history.failure) throw terminalError(history.failure);
        const inBytes = payloadBytes(input);
        if (inBytes > PAYLOAD_LIMIT_BYTES) history.fail(dataLimitFailure(`the input of state ${stateName} (after Parameters)`, inBytes));
        else history.taskStarted(resource);
        if (history.failure) throw terminalError(history.failure);
      });
      let output: Json;
      try {
        output = mode ? await startChild(stateName, mode)(input, () => history.taskSubmitted()) : await hold(() => timed(input));
      } catch (error) {
        history.taskEnded(resource, false);
        throw error;
      }
      history.taskEnded(resource, true);
      const outBytes = payloadBytes(output);
      if (outBytes > PAYLOAD_LIMIT_BYTES) history.fail(dataLimitFailure(`the result of state ${stateName}`, outBytes));
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
          progress({ kind: 'failed', state: stateName, stateType: 'Task', at: at(), error: { name: e.name ?? 'Error', cause: e.message ?? String(error) } });
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
  let engineDefinition: Definition = mapStates(definition, (stateName, state) => {
    const longTimeout = state.Type === 'Task' && state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined && (clock || startExecutionMode(state.Resource));
    return longTimeout ? { ...state, TimeoutSeconds: LONG_TASK_TIMEOUT_SECONDS } : state;
  });
  if (clock) {
    engineDefinition = mapStates(engineDefinition, (stateName, state) => {
      if (state.Type === 'Task') {
        const { Retry: _retry, ...rest } = state;
        return rest as State;
      }
      if (state.Type !== 'Wait') return state;
      const { Type: _type, Seconds: _s, SecondsPath, Timestamp: _t, TimestampPath, ...rest } = state;
      const path = (SecondsPath ?? TimestampPath) as string | undefined;
      return { ...rest, Type: 'Task', Resource: SIMULATED_WAIT, TimeoutSeconds: LONG_TASK_TIMEOUT_SECONDS, Parameters: { 'input.$': '$', ...(path ? { 'value.$': path } : {}) } };
    });
    delete engineDefinition.TimeoutSeconds;
    // A Retry on a Map or Parallel state stays the engine's, which pauses in real time: no pause
    // here rather than a real one the simulated clock cannot see (none of the kopsless machines has one).
    const retriedContainers = (d: Pick<Definition, 'States'>): string[] =>
      Object.entries(d.States).flatMap(([name, state]) => [...(state.Retry && state.Type !== 'Task' ? [name] : []), ...nestedDefinitions(state).flatMap(retriedContainers)]);
    for (const name of retriedContainers(definition)) retryIntervalOverrides[name] = 0;
  }

  const machine = new StateMachine(engineDefinition as never, { validationOptions: { checkPaths: true, checkArn: false } } as never);
  const startedAt = summary.startedAt;
  const execution = machine.run(options.input as never, {
    overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides } as never,
    context: { Execution: { Id: executionArn, Name: executionName, Input: options.input, StartTime: startedAt }, StateMachine: { Id: options.stateMachineName, Name: options.stateMachineName } } as never,
  });
  let aborted = false;
  const abort = () => {
    if (aborted) return;
    aborted = true;
    execution.abort();
  };
  const timeout = definition.TimeoutSeconds;
  if (clock && typeof timeout === 'number') {
    void clock.sleep(timeout, sleeps.signal).then(() => {
      if (sleeps.signal.aborted) return;
      if (history.fail({ name: 'States.Timeout', cause: `The execution ran longer than its TimeoutSeconds (${timeout} s)` }, 'ExecutionTimedOut')) abort();
    });
  }
  const pump = (async () => {
    for await (const raw of execution.eventLogs as AsyncIterable<Record<string, any>>) {
      // A Wait the engine runs as a Task (simulated clock) is a Wait in the history and the progress.
      const event = raw.state && waitNames.has(raw.state.name) ? { ...raw, state: { ...raw.state, type: 'Wait' } } : raw;
      // A quota that a Pass, Choice or Wait state breaks ends the execution here; a Task's is thrown from its handler above.
      const failure = history.onEngineEvent(event as EngineEvent);
      if (failure) history.fail(failure);
      if (history.failure) abort();
      // A failed Map or Parallel state stops its other iterations and branches, and with them the children they wait for.
      if (event.type === 'StateFailed' && containers.has(event.state?.name)) {
        for (const child of waitingFor) if (containers.get(event.state.name)!.has(child.state)) child.stop.abort();
      }
      const state = event.state?.name as string | undefined;
      if (!state || !report) continue;
      const base = { state, stateType: (event.state?.type as string | undefined) ?? 'Unknown', at: clock ? at() : (event.timestamp as number) };
      if (event.type === 'StateEntered') progress({ ...base, kind: 'entered' });
      else if (event.type === 'StateExited') progress({ ...base, kind: 'exited', output: event.state.output as Json });
      else if (event.type === 'StateRetried') progress({ ...base, kind: 'retried' });
      else if (event.type === 'StateCaught') progress({ ...base, kind: 'caught' });
      else if (event.type === 'StateFailed') progress({ ...base, kind: 'failed', error: { name: String(event.Error), cause: String(event.Cause) } });
    }
  })();
  let stopped = false;
  const onParentStop = () => {
    stopped = true;
    abort();
  };
  if (parentStop?.aborted) onParentStop();
  else parentStop?.addEventListener('abort', onParentStop, { once: true });
  const finish = (result: Omit<LocalExecutionResult, 'startedAt' | 'stoppedAt' | 'executionArn'>): LocalExecutionResult => {
    sleeps.abort();
    parentStop?.removeEventListener('abort', onParentStop);
    for (const child of waitingFor) child.stop.abort();
    const stoppedAt = now().toISOString();
    Object.assign(summary, { status: stopped ? 'ABORTED' : result.status, historyEvents: history.events, transitions: history.transitions, lambdaInvocations: history.lambdaInvocations, stoppedAt });
    return { executionArn, ...result, startedAt, stoppedAt, historyEvents: history.events, transitions: history.transitions };
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
    if (stopped) return finish({ status: 'FAILED', error: { name: 'States.Aborted', cause: 'The parent execution stopped waiting for this execution' } });
    return finish({ status: 'FAILED', error: history.failure ?? { name: inner.name ?? 'Error', cause: inner.message ?? String(error) } });
  }
}

/** The function each Task of a kopsless definition runs: its real handler (startExecution Tasks excepted). */
async function boundHandlers(definition: Definition, settings: LocalSettings, lockHolder: LockHolder | undefined): Promise<Record<string, TaskHandler>> {
  const handlers: Record<string, TaskHandler> = {};
  for (const [stateName, state] of taskStates(definition)) {
    if (startExecutionMode(state.Resource)) continue;
    const logicalId = /function:kopsless-(\w+)$/.exec(state.Resource ?? '')?.[1] as FunctionLogicalId | undefined;
    if (!logicalId || !(logicalId in FUNCTIONS)) throw new Error(`state ${stateName}: no local handler for ${state.Resource}`);
    handlers[stateName] = await boundHandler(logicalId, settings, lockHolder);
  }
  return handlers;
}

/** Runs one execution of a kopsless state machine to its end, each Task bound to its real handler, children included. */
export async function runStateMachine(name: StateMachineName, options: RunOptions): Promise<LocalExecutionResult> {
  // One settings object for the run and its children: one warm handler per function.
  const settings = options.settings ?? localSettingsFromEnv(process.env);
  const region = options.region ?? settings.config.region;
  const definition = loadDefinition(name, region);
  const handlers = await boundHandlers(definition, settings, options.lockHolder);
  // A child is a kopsless state machine of this region and account: statemachines/<name>.asl.json.
  const stateMachines = async (arn: string): Promise<ChildStateMachine> => {
    const child = stateMachineOfDeployedName(stateMachineNameOf(arn, region, ACCOUNT) ?? '');
    if (!child || !existsSync(definitionPath(child))) throw namedError('StepFunctions.StateMachineDoesNotExistException', `State Machine Does Not Exist: '${arn}'`);
    const childDefinition = loadDefinition(child, region);
    return { definition: childDefinition, handlers: await boundHandlers(childDefinition, settings, options.lockHolder), stateMachineName: deployedStateMachineName(child) };
  };
  return runDefinition(definition, { ...options, settings, region, handlers, stateMachineName: deployedStateMachineName(name), stateMachines });
}
