import type { LockHolder } from '../../state/holder.js';
import type { Definition, Json, State } from './asl-definition.js';
import type { LocalSettings } from './handlers.js';
import type { SimClock } from './sim-clock.js';

/**
 * What a local run takes and reports (options, progress, results), and the rules of Step
 * Functions it follows: Task timeouts, terminal errors, retry delays, Wait seconds.
 */

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
  /** Bytes of this execution's largest state input or output (the 256 KiB quota's figure). */
  maxStateBytes: number;
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
  /** The largest state input or output of any execution of the run, in bytes (local runs only). */
  maxStateBytes?: number;
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

export type TaskHandler = (input: Json) => Promise<Json>;

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

/**
 * The engine's own timeout for a Task without TimeoutSeconds is 60 s of real time; Step
 * Functions' is 99,999,999 s. A child execution, or a Task that sleeps in simulated time, may
 * well take longer than a minute for real, so such Tasks get this instead: as long as a Node
 * timer can be (2^31 ms is 24.8 days).
 */
export const LONG_TASK_TIMEOUT_SECONDS = 2_000_000;
/** Resource of the Task a Wait state becomes under a simulated clock (never invoked on AWS). */
export const SIMULATED_WAIT = 'arn:aws:states:::kopsless:simulatedWait';

/** An error Step Functions ends the execution with: no Retry or Catch matches it (aws-local-stepfunctions reads these two flags). */
export function terminalError(failure: { name: string; cause: string }): Error {
  return Object.assign(new Error(failure.cause), {
    name: failure.name,
    isRetryable: false,
    isCatchable: false,
  });
}

export function namedError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

/** Lets the event pump read every event emitted so far (it runs on promise jobs only). */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export type Retrier = {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: string;
};

/**
 * Seconds before the next attempt if a retrier of `retriers` takes `error` (counting the attempt
 * in `attempts`), or undefined when none does: as Step Functions decides, the first retrier whose
 * ErrorEquals matches decides alone; IntervalSeconds × BackoffRate^(retries so far), capped at
 * MaxDelaySeconds, FULL jitter drawing from [0, that).
 */
export function retryDelay(
  retriers: Retrier[],
  attempts: number[],
  error: unknown,
  random: () => number,
): number | undefined {
  const e = error as { name?: string; isRetryable?: boolean };
  if (e?.isRetryable === false) return undefined;
  const name = e?.name ?? 'Error';
  for (const [i, retrier] of retriers.entries()) {
    const matches = retrier.ErrorEquals.some(
      (want) =>
        want === name ||
        want === 'States.ALL' ||
        (want === 'States.TaskFailed' && name !== 'States.Timeout'),
    );
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
export function waitSeconds(
  stateName: string,
  state: State,
  value: Json | undefined,
  at: Date,
): number {
  if (typeof state.Seconds === 'number') return state.Seconds;
  if (state.SecondsPath !== undefined) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
      throw namedError(
        'States.Runtime',
        `Wait state ${stateName}: SecondsPath ${String(state.SecondsPath)} is ${JSON.stringify(value)}, not an integer >= 0`,
      );
    return value;
  }
  const timestamp = state.Timestamp ?? value;
  const time = typeof timestamp === 'string' ? Date.parse(timestamp) : Number.NaN;
  if (Number.isNaN(time))
    throw namedError(
      'States.Runtime',
      `Wait state ${stateName}: ${state.Timestamp !== undefined ? 'Timestamp' : `TimestampPath ${String(state.TimestampPath)}`} is ${JSON.stringify(timestamp)}, not an RFC 3339 timestamp`,
    );
  return Math.max(0, (time - at.getTime()) / 1000);
}
