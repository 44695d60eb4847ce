import { HISTORY_EVENT_LIMIT } from '../../planning/rolling-update.js';

/**
 * The execution history Step Functions Standard would record for a local run, counted from
 * the events aws-local-stepfunctions emits and the Task invocations the runner makes, and the
 * two quotas AWS enforces on it: 25,000 history events per execution, 256 KiB per state input
 * or output. Locally nothing else would stop a poll loop that runs for a day, or a handler that
 * returns a megabyte, both of which fail on AWS.
 *
 * Event types per state kind, as GetExecutionHistory reports them:
 * - execution: ExecutionStarted, then ExecutionSucceeded / ExecutionFailed / ExecutionAborted / ExecutionTimedOut
 * - Task (a Lambda function ARN as Resource): TaskStateEntered; per attempt LambdaFunctionScheduled,
 *   LambdaFunctionStarted, LambdaFunctionSucceeded or LambdaFunctionFailed; TaskStateExited unless
 *   the error ends the execution (an optimized `arn:aws:states:::` integration reports Task* instead of LambdaFunction*)
 * - Task running a child execution and waiting for it (`states:startExecution.sync` and `.sync:2`):
 *   TaskStateEntered, TaskScheduled, TaskStarted, TaskSubmitted (the child has started), then
 *   TaskSucceeded or TaskFailed when the child ends, TaskStateExited; the child's own events are in
 *   its own history. Fire-and-forget `states:startExecution`: TaskScheduled, TaskStarted,
 *   TaskSucceeded. (A .sync task whose start call itself fails reports TaskFailed without TaskSubmitted.)
 * - Pass, Wait, Choice, Succeed: <Kind>StateEntered, <Kind>StateExited
 * - Fail: FailStateEntered (no exit event: ExecutionFailed follows)
 * - Map: MapStateEntered, MapStateStarted, per iteration MapIterationStarted ... MapIterationSucceeded/Failed,
 *   then MapStateSucceeded (or MapStateFailed), MapStateExited
 * - Parallel: ParallelStateEntered, ParallelStateStarted, the branches' states, ParallelStateSucceeded
 *   (or ParallelStateFailed), ParallelStateExited; branches have no events of their own
 *
 * State transitions, as billed: one per state entered (inside Map iterations and Parallel
 * branches too) and one per retry.
 */

/** Step Functions Standard: history events per execution (a hard quota; the roll's planner bounds its children by it). */
export { HISTORY_EVENT_LIMIT };
/** Step Functions: bytes of a state's input or output, and of an execution's input, as UTF-8 JSON. */
export const PAYLOAD_LIMIT_BYTES = 256 * 1024;

/** The event shapes of aws-local-stepfunctions' `eventLogs` that the count reads. */
export interface EngineEvent {
  type: string;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
}

export interface HistoryFailure {
  name: string;
  cause: string;
}

/** UTF-8 bytes of a value as Step Functions serializes it. */
export function payloadBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
}

/** The error Step Functions ends the execution with when a payload is over the quota; no Catch sees it. */
export function dataLimitFailure(what: string, bytes: number): HistoryFailure {
  return {
    name: 'States.DataLimitExceeded',
    cause: `${what} is ${bytes} bytes, more than the ${PAYLOAD_LIMIT_BYTES} bytes (256 KiB) Step Functions allows`,
  };
}

export class ExecutionHistory {
  /** History events recorded so far (what GetExecutionHistory would page through). */
  events = 0;
  /** State transitions, as billed. */
  transitions = 0;
  /** Events by AWS type, for reports and tests. */
  readonly byType = new Map<string, number>();
  /** Bytes of the largest state input or output seen (Task inputs after Parameters and results included). */
  maxStateBytes = 0;
  /** Set once a quota ends the execution; later engine events are not part of the history. */
  failure: HistoryFailure | undefined;
  private ended = false;
  // Map/Parallel states whose error a Catch took: they exit without a <Kind>StateSucceeded.
  private readonly caught = new Set<string>();

  constructor(private readonly limit = HISTORY_EVENT_LIMIT) {}

  private record(...types: string[]): void {
    for (const type of types) {
      if (this.failure) return;
      const ends = type.startsWith('Execution') && type !== 'ExecutionStarted';
      // The last event of a full history is the ExecutionFailed that the quota causes.
      if (!ends && this.events + 1 >= this.limit) {
        this.fail({
          name: 'States.Runtime',
          cause: `The execution reached the maximum number of history events (${this.limit}) that Step Functions allows`,
        });
        return;
      }
      this.count(type);
      if (ends) this.ended = true;
    }
  }

  private count(type: string): void {
    this.events += 1;
    this.byType.set(type, (this.byType.get(type) ?? 0) + 1);
  }

  /** Sizes a state input or output and keeps the largest; returns its bytes. */
  measure(value: unknown): number {
    const bytes = payloadBytes(value);
    if (bytes > this.maxStateBytes) this.maxStateBytes = bytes;
    return bytes;
  }

  /** Ends the history with ExecutionFailed (or `type`) for a quota; returns false when it had already ended. */
  fail(
    failure: HistoryFailure,
    type: 'ExecutionFailed' | 'ExecutionTimedOut' = 'ExecutionFailed',
  ): boolean {
    if (this.failure || this.ended) return false;
    this.failure = failure;
    this.ended = true;
    this.count(type);
    return true;
  }

  /** A Task invocation begins: scheduled and started. */
  taskStarted(resource: string): void {
    const prefix = taskPrefix(resource);
    this.record(`${prefix}Scheduled`, `${prefix}Started`);
  }

  /** A `.sync` integration's request was accepted (the child execution started); the Task now waits for it. */
  taskSubmitted(): void {
    this.record('TaskSubmitted');
  }

  /** A retry of a failed state, counted by the runner when it retries (simulated clock): a billed transition. */
  retried(): void {
    if (!this.failure) this.transitions += 1;
  }

  /** Lambda invocations made (every attempt, retries included). */
  get lambdaInvocations(): number {
    return this.byType.get('LambdaFunctionStarted') ?? 0;
  }

  /** A Task invocation ended. */
  taskEnded(resource: string, succeeded: boolean): void {
    this.record(`${taskPrefix(resource)}${succeeded ? 'Succeeded' : 'Failed'}`);
  }

  /**
   * One engine event. Returns a quota failure the event causes (a state input or output over
   * 256 KiB), which the runner then ends the execution with.
   */
  onEngineEvent(event: EngineEvent): HistoryFailure | undefined {
    const kind = event.state?.type ?? '';
    const name = event.state?.name ?? '';
    switch (event.type) {
      case 'ExecutionStarted':
      case 'ExecutionSucceeded':
      case 'ExecutionFailed':
      case 'ExecutionAborted':
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        this.record(event.type);
        return undefined;
      case 'ExecutionTimeout':
        this.record('ExecutionTimedOut');
        return undefined;
      case 'StateEntered': {
        if (this.failure) return undefined;
        this.transitions += 1;
        this.caught.delete(name);
        this.record(
          `${kind}StateEntered`,
          ...(kind === 'Map' || kind === 'Parallel' ? [`${kind}StateStarted`] : []),
        );
        const bytes = this.measure(event.state?.input);
        return bytes > PAYLOAD_LIMIT_BYTES
          ? dataLimitFailure(`the input of state ${name}`, bytes)
          : undefined;
      }
      case 'StateExited': {
        if (this.failure) return undefined;
        const containers =
          (kind === 'Map' || kind === 'Parallel') && !this.caught.has(name)
            ? [`${kind}StateSucceeded`]
            : [];
        this.record(...containers, `${kind}StateExited`);
        const bytes = this.measure(event.state?.output);
        return bytes > PAYLOAD_LIMIT_BYTES
          ? dataLimitFailure(`the output of state ${name}`, bytes)
          : undefined;
      }
      case 'StateFailed':
        // A Task's failure is its LambdaFunctionFailed, counted where the handler ran.
        if (kind === 'Map' || kind === 'Parallel') this.record(`${kind}StateFailed`);
        return undefined;
      case 'StateCaught':
        this.caught.add(name);
        return undefined;
      case 'StateRetried':
        if (!this.failure) this.transitions += 1;
        return undefined;
      default:
        // ParallelBranchStarted/Succeeded/Failed: AWS records no event per branch.
        return undefined;
    }
  }
}

/** Lambda function ARNs as Resource report LambdaFunction* events; service integrations Task*. */
function taskPrefix(resource: string): string {
  return resource.startsWith('arn:aws:states:::') ? 'Task' : 'LambdaFunction';
}
