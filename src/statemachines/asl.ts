import { TASK_RETRY } from '../errors.js';
import type { FunctionLogicalId } from '../functions-registry.js';

/**
 * A small builder for the ASL in statemachines/: the retry policy, the failure catch, the Lambda
 * Task, the Wait/Check/Choice poll and the child execution are each written once here, and every
 * machine module composes them. `npm run build:asl` writes the files SAM and the console read;
 * a test fails when a file differs from what the builder makes.
 *
 * JSONPath only (no Assign, no JSONata, no distributed Map, never `"ResultPath": "$"`): the local
 * runner, aws-local-stepfunctions, does not run the rest.
 */

/** One ASL state, as JSON. */
export type State = Record<string, unknown>;
/** State name -> state. */
export type States = Record<string, State>;
/** A whole state machine definition (or a Map's item processor, without the top-level keys). */
export interface Machine {
  Comment?: string;
  StartAt: string;
  TimeoutSeconds?: number;
  States: States;
}

/** A Choice rule without its `Next` (`{Variable, BooleanEquals}`, `{And: [...]}`...). */
export type Condition = Record<string, unknown>;

/** The state every failure of a machine's locked part goes to: it records the error and releases the lock. */
export const RECORD_FAILURE = 'RecordFailure';

/** The Resource of a Task that starts a child execution and waits for it, output as parsed JSON. */
/**
 * What a roll's parent gives each child besides its group, at the same paths in the wave's state
 * and in the child's input: BeginWave records its digest in the lock, and a child's RequireLock
 * must present the same (see ClusterStore.claimGroup).
 */
export const CHILD_PLAN = {
  'options.$': '$.options',
  'cloudOnly.$': '$.cloudOnly',
  'batchLimit.$': '$.batchLimit',
} as const;

export const START_EXECUTION_SYNC = 'arn:aws:states:::states:startExecution.sync:2';

/**
 * Retries for starting a child execution: Step Functions' own service errors and throttling.
 * A child that ran and failed is never retried here (its failure is the roll's).
 */
export const CHILD_RETRY = [
  {
    ErrorEquals: [
      'StepFunctions.ExecutionLimitExceededException',
      'StepFunctions.SdkClientException',
      'StepFunctions.AWSStepFunctionsException',
    ],
    IntervalSeconds: 2,
    MaxAttempts: 6,
    BackoffRate: 2,
    JitterStrategy: 'FULL',
  },
] as const;

/** The error names CHILD_RETRY retries: the ASL test accepts them besides the code's own. */
export const STEP_FUNCTIONS_SERVICE_ERROR_NAMES: readonly string[] = CHILD_RETRY.flatMap(
  (r) => r.ErrorEquals,
);

/** A fresh, mutable copy (JSON.stringify would share nothing anyway; the copy keeps callers honest). */
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** The one retry policy of every Lambda Task (TASK_RETRY in src/errors.ts). */
export function taskRetry(): State[] {
  return copy(TASK_RETRY) as unknown as State[];
}

/** The one catch: any error, kept at `$.error`, to `next` (RecordFailure unless said). */
export function catchAll(next = RECORD_FAILURE): State[] {
  return [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: next }];
}

/** `${<LogicalId>Arn}`: the substitution template.yaml gives a function's ARN. */
export function functionArn(fn: FunctionLogicalId): string {
  return `\${${fn}Arn}`;
}

export interface TaskOptions {
  comment?: string;
  /** Omitted: the result replaces the input (ResultPath defaults to `$`; never written as `"$"`). */
  resultPath?: string | null;
  resultSelector?: Record<string, unknown>;
  /** The next state, or `end: true`. */
  next?: string;
  end?: boolean;
  /** `false`: no Catch (before the lock, or the failure path itself); default catchAll(). */
  catch?: State[] | false;
}

function flow(state: State, options: TaskOptions): State {
  if (options.resultSelector !== undefined) state.ResultSelector = options.resultSelector;
  if (options.resultPath !== undefined) state.ResultPath = options.resultPath;
  return state;
}

function finish(state: State, options: TaskOptions): State {
  const caught = options.catch === undefined ? catchAll() : options.catch;
  if (caught) state.Catch = caught;
  if (options.end) state.End = true;
  else if (options.next) state.Next = options.next;
  else throw new Error('a Task needs next or end');
  return state;
}

/** A Task that invokes one of kopsless's Lambdas with the retry policy and (unless told) the catch. */
export function lambdaTask(
  fn: FunctionLogicalId,
  parameters: Record<string, unknown>,
  options: TaskOptions,
): State {
  const state: State = { Type: 'Task', Resource: functionArn(fn), Parameters: parameters };
  if (options.comment) state.Comment = options.comment;
  flow(state, options);
  state.Retry = taskRetry();
  return finish(state, options);
}

/**
 * A Task that starts a child state machine and waits for it (`startExecution.sync:2`: the output
 * arrives as JSON under `Output`). The child learns its parent through
 * `AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID`, as AWS recommends for nested executions (the
 * console links the two). Its execution name is read from `namePath`: a start retried after a
 * lost answer then asks for the same name with the same input, which Step Functions answers with
 * the execution already running instead of a second one.
 */
export function startChild(
  stateMachineArn: string,
  namePath: string,
  input: Record<string, unknown>,
  options: TaskOptions,
): State {
  const state: State = {
    Type: 'Task',
    Resource: START_EXECUTION_SYNC,
    Parameters: {
      StateMachineArn: stateMachineArn,
      'Name.$': namePath,
      Input: { ...input, 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id' },
    },
  };
  if (options.comment) state.Comment = options.comment;
  flow(state, options);
  state.Retry = copy(CHILD_RETRY) as unknown as State[];
  return finish(state, options);
}

/** `{Variable: path, BooleanEquals: true}`: the usual "ready" test of a poll. */
export function isTrue(path: string): Condition {
  return { Variable: path, BooleanEquals: true };
}

/** True only when the field is there and true (an optional flag: a missing path would be States.Runtime). */
export function isPresentAndTrue(path: string): Condition {
  return {
    And: [
      { Variable: path, IsPresent: true },
      { Variable: path, BooleanEquals: true },
    ],
  };
}

/** A Choice: each condition goes to its state, anything else to `otherwise`. */
export function choice(
  rules: Array<[Condition, string]>,
  otherwise: string,
  comment?: string,
): State {
  const state: State = { Type: 'Choice' };
  if (comment) state.Comment = comment;
  state.Choices = rules.map(([condition, next]) => ({ ...condition, Next: next }));
  state.Default = otherwise;
  return state;
}

export function wait(seconds: number, next: string): State {
  return { Type: 'Wait', Seconds: seconds, Next: next };
}

export interface PollOptions {
  /** Names of the three states. */
  wait: string;
  check: string;
  choice: string;
  seconds: number;
  /** The check Task; its handler throws a timeout error past the deadline it is given, so the loop ends. */
  fn: FunctionLogicalId;
  parameters: Record<string, unknown>;
  resultPath: string;
  checkComment?: string;
  /** The loop ends (to `next`) when any of these holds; otherwise it waits again. */
  until: Condition | Condition[];
  next: string;
  /** The check's Catch (default catchAll(); `false` in a machine whose failures end the execution). */
  catch?: State[] | false;
}

/**
 * The poll: Wait → Check (a Lambda Task, which fails past its deadline) → Choice (done: `next`,
 * else Wait). Enter it at `wait` (the thing was just started) or at `check` (it may be done
 * already). Each turn costs 9 history events on AWS (Wait 2, Task 5, Choice 2).
 */
export function pollUntil(options: PollOptions): States {
  if (
    !Object.values(options.parameters).length ||
    !JSON.stringify(options.parameters).includes('deadline')
  ) {
    throw new Error(`poll ${options.check}: its check must be given a deadline`);
  }
  const until = Array.isArray(options.until) ? options.until : [options.until];
  return {
    [options.wait]: wait(options.seconds, options.check),
    [options.check]: lambdaTask(options.fn, options.parameters, {
      comment: options.checkComment,
      resultPath: options.resultPath,
      next: options.choice,
      catch: options.catch,
    }),
    [options.choice]: choice(
      until.map((c) => [c, options.next]),
      options.wait,
    ),
  };
}

/**
 * The roll's cluster validation as a poll: `validate` every 15 s until the cluster is valid or
 * its deadline (at `$.validation.deadline`) passes. The cluster name is at `cluster`.
 */
export function validateClusterPoll(
  names: { wait: string; check: string; choice: string },
  cluster: string,
  next: string,
  options: {
    catch?: boolean;
    checkComment?: string;
    seconds?: number;
    /** Where the deadline is (default `$.validation.deadline`, which each check's answer repeats). */
    deadlinePath?: string;
    /** A roll child's claim, passed to each check (its spec cache then reads no lock). */
    claim?: Record<string, unknown>;
  } = {},
): States {
  return pollUntil({
    ...names,
    seconds: options.seconds ?? 15,
    fn: 'RollingUpdateFunction',
    parameters: {
      action: 'validate',
      'cluster.$': cluster,
      'deadline.$': options.deadlinePath ?? '$.validation.deadline',
      'cloudOnly.$': '$.cloudOnly',
      ...(options.claim ? { claim: options.claim } : {}),
    },
    ...(options.checkComment ? { checkComment: options.checkComment } : {}),
    resultPath: '$.validation',
    until: isTrue('$.validation.valid'),
    next,
    ...(options.catch === false ? { catch: false } : {}),
  });
}

/** A Pass that sets `resultPath` to `parameters` (a fresh deadline, a counter). */
export function pass(
  parameters: Record<string, unknown>,
  resultPath: string | null,
  next: string,
  comment?: string,
): State {
  const state: State = { Type: 'Pass' };
  if (comment) state.Comment = comment;
  state.Parameters = parameters;
  state.ResultPath = resultPath;
  state.Next = next;
  return state;
}

/** A Fail that reports the caught error (`$.error`) as the execution's. */
export function failWithError(): State {
  return { Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' };
}

export interface UpdateFlowNames {
  applyStack: string;
  applyStackComment?: string;
  waitForStack: string;
  checkStack: string;
  stackReady: string;
  applyGroups: string;
  applyGroupsComment?: string;
  waitForGroups: string;
  checkGroups: string;
  groupsReady: string;
}

/**
 * The update flow shared by create, update and the roll's `update: true`: the cluster stack
 * (only when its template changed), then the instance groups' launch templates and settings,
 * each followed by its poll. Entered at `names.applyStack`, leaves to `next`.
 */
export function updateFlow(cluster: string, names: UpdateFlowNames, next: string): States {
  return {
    [names.applyStack]: lambdaTask(
      'LaunchClusterFunction',
      { action: 'ensureStack', 'cluster.$': cluster, 'owner.$': '$$.Execution.Id' },
      { comment: names.applyStackComment, resultPath: '$.stack', next: names.waitForStack },
    ),
    ...pollUntil({
      wait: names.waitForStack,
      check: names.checkStack,
      choice: names.stackReady,
      seconds: 15,
      fn: 'LaunchClusterFunction',
      parameters: {
        action: 'describeStack',
        'cluster.$': cluster,
        'deadline.$': '$.stack.deadline',
        'created.$': '$.stack.created',
      },
      resultPath: '$.stack',
      until: isTrue('$.stack.ready'),
      next: names.applyGroups,
    }),
    [names.applyGroups]: lambdaTask(
      'LaunchClusterFunction',
      { action: 'ensureGroups', 'cluster.$': cluster, 'owner.$': '$$.Execution.Id' },
      { comment: names.applyGroupsComment, resultPath: '$.groups', next: names.waitForGroups },
    ),
    ...pollUntil({
      wait: names.waitForGroups,
      check: names.checkGroups,
      choice: names.groupsReady,
      seconds: 20,
      fn: 'LaunchClusterFunction',
      parameters: {
        action: 'describeGroups',
        'cluster.$': cluster,
        'deadline.$': '$.groups.deadline',
      },
      resultPath: '$.instances',
      until: isTrue('$.instances.ready'),
      next,
    }),
  };
}

/** The API's DNS records follow the control plane's addresses: upsert, then poll the change. */
export function upsertApiRecords(cluster: string, next: string, caught?: State[] | false): States {
  return {
    UpsertApiRecords: lambdaTask(
      'VerifyDnsFunction',
      { action: 'upsert', 'cluster.$': cluster },
      { resultPath: '$.dns', next: 'WaitForDns', catch: caught },
    ),
    ...pollUntil({
      wait: 'WaitForDns',
      check: 'CheckDns',
      choice: 'DnsReady',
      seconds: 10,
      fn: 'VerifyDnsFunction',
      parameters: {
        action: 'check',
        'cluster.$': cluster,
        'changeId.$': '$.dns.changeId',
        'deadline.$': '$.dns.deadline',
      },
      resultPath: '$.dns',
      until: isTrue('$.dns.ready'),
      next,
      catch: caught,
    }),
  };
}

const VALIDATE_INPUT_COMMENT =
  'Before the lock, nothing read or written: the input completed with its defaults (the result replaces the input: no ResultPath, which defaults to $), or InvalidInputError naming the field (a path missing from a console input would otherwise fail with States.Runtime, which no Catch sees).';

/** First state of every machine a person starts: the input checked and completed, no Catch (no lock yet). */
export function validateInput(stateMachine: string, next: string): State {
  return lambdaTask(
    'WriteStateFunction',
    { action: 'validateInput', stateMachine, 'input.$': '$' },
    { comment: VALIDATE_INPUT_COMMENT, next, catch: false },
  );
}

/** Takes the lock for this execution; no Catch: a lock held by another execution must not be released by this one. */
export function acquireLock(cluster: string, operation: string, next: string): State {
  return lambdaTask(
    'WriteStateFunction',
    { action: 'acquireLock', 'cluster.$': cluster, 'owner.$': '$$.Execution.Id', operation },
    {
      comment: 'No Catch: a lock held by another execution must not be released by this one.',
      resultPath: '$.lock',
      next,
      catch: false,
    },
  );
}

/** Records the phase in status.json (and renews the lease). */
export function markPhase(cluster: string, phase: string, next: string): State {
  return lambdaTask(
    'WriteStateFunction',
    { action: 'phase', 'cluster.$': cluster, 'owner.$': '$$.Execution.Id', phase },
    { resultPath: null, next },
  );
}

/** Success: status Ready, lock released. */
export function recordSuccess(cluster: string, next: string): State {
  return lambdaTask(
    'WriteStateFunction',
    { action: 'finish', 'cluster.$': cluster, 'owner.$': '$$.Execution.Id', phase: 'Ready' },
    { resultPath: '$.status', next },
  );
}

/**
 * The failure path: the error in status.json, the lock released; then `next` (a Fail). The
 * error it records replaces `$.error`: a child execution's failure arrives as States.TaskFailed
 * with the child's error inside its cause, and the Fail reports the child's own (e.g.
 * DrainTimeoutError), as the execution did before the roll had children.
 */
export function recordFailure(cluster: string, next: string, comment: string): State {
  return lambdaTask(
    'WriteStateFunction',
    { action: 'fail', 'cluster.$': cluster, 'owner.$': '$$.Execution.Id', 'error.$': '$.error' },
    {
      comment,
      resultSelector: { 'Error.$': '$.error.Error', 'Cause.$': '$.error.Cause' },
      resultPath: '$.error',
      next,
      catch: false,
    },
  );
}

// ---- Writing ----------------------------------------------------------------------------

/** The order keys are written in, so that a file changes only when its meaning does. */
const KEY_ORDER = [
  'Comment',
  'StartAt',
  'TimeoutSeconds',
  'Type',
  'Resource',
  'ItemsPath',
  'ItemSelector',
  'MaxConcurrency',
  'ItemProcessor',
  'ProcessorConfig',
  'Parameters',
  'Seconds',
  'Choices',
  'ResultSelector',
  'ResultPath',
  'OutputPath',
  'Retry',
  'Catch',
  'Default',
  'Next',
  'End',
  'ErrorPath',
  'CausePath',
  'States',
];
const rank = (key: string) => {
  const i = KEY_ORDER.indexOf(key);
  return i < 0 ? KEY_ORDER.length : i;
};

/** Orders the ASL keys of a machine and each state (Parameters and rules keep the builder's order). */
function ordered(machine: Machine): Machine {
  const sortKeys = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).sort(([a], [b]) => rank(a) - rank(b)));
  const orderState = (state: State): State => {
    const out = sortKeys(state);
    if (out.ItemProcessor) out.ItemProcessor = ordered(out.ItemProcessor as Machine);
    return out;
  };
  const top = sortKeys(machine as unknown as Record<string, unknown>) as unknown as Machine;
  top.States = Object.fromEntries(
    Object.entries(machine.States).map(([name, s]) => [name, orderState(s)]),
  );
  return top;
}

/** The file's text: pretty JSON, two spaces, a final newline. */
export function render(machine: Machine): string {
  return `${JSON.stringify(ordered(machine), null, 2)}\n`;
}
