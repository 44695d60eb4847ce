/**
 * Errors that cross the Lambda / Step Functions boundary.
 *
 * Step Functions matches `ErrorEquals` against the error's `name`, so every name is a string
 * literal: bundling minifies class names and must not change what the state machines see.
 * Two families: transient errors are retried by the ASL (Retry), permanent errors are caught
 * and compensated (Catch -> record the failure, release the lock).
 */

/** A field-path validation problem, in kOps's `field.ErrorList` shape. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Base class: every kopsless error says whether retrying it can help. */
export abstract class KopslessError extends Error {
  abstract readonly transient: boolean;
}

/** A throttle, a 5xx or a network fault from AWS that outlived the SDK's own retries. */
export class TransientAwsError extends KopslessError {
  override readonly name = 'TransientAwsError';
  readonly transient = true;
}

/** The manifest is invalid; `issues` carry field paths. */
export class SpecInvalidError extends KopslessError {
  override readonly name = 'SpecInvalidError';
  readonly transient = false;
  constructor(
    readonly issues: FieldIssue[],
    options?: ErrorOptions,
  ) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('; '), options);
  }
}

/** The manifest asks for a kOps feature kopsless does not build. */
export class SpecUnsupportedError extends KopslessError {
  override readonly name = 'SpecUnsupportedError';
  readonly transient = false;
  constructor(
    readonly issues: FieldIssue[],
    options?: ErrorOptions,
  ) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('; '), options);
  }
}

/** Another execution holds the cluster lock (a live lease). */
export class ClusterLockedError extends KopslessError {
  override readonly name = 'ClusterLockedError';
  readonly transient = false;
  constructor(
    readonly cluster: string,
    readonly holder: string,
    readonly expiresAt: string,
  ) {
    super(`cluster "${cluster}" is locked by execution ${holder} until ${expiresAt}`);
  }
}

/**
 * The execution no longer holds the cluster lock (its lease ran out and another execution took
 * it, or it was released): it must stop writing the cluster's state, or two executions run at once.
 */
export class LockLostError extends KopslessError {
  override readonly name = 'LockLostError';
  readonly transient = false;
  constructor(
    readonly cluster: string,
    readonly owner: string,
    readonly holder: string | undefined,
  ) {
    super(
      `execution ${owner} no longer holds the lock of cluster "${cluster}" (${holder ? `held by execution ${holder}` : 'released'}); it stops without writing state`,
    );
  }
}

/**
 * A child execution of a roll may not roll its instance group: the group is not in the wave its
 * parent is rolling now, or another live execution has claimed it (two rolls of one group would
 * surge and terminate twice). Refused before anything is touched.
 */
export class InstanceGroupClaimError extends KopslessError {
  override readonly name = 'InstanceGroupClaimError';
  readonly transient = false;
  constructor(
    readonly cluster: string,
    readonly instanceGroup: string,
    /** The execution that holds the group's claim, or the parent whose wave does not include the group. */
    readonly holder: string,
    reason: string,
  ) {
    super(
      `instance group "${instanceGroup}" of cluster "${cluster}" may not be rolled by this execution: ${reason}`,
    );
  }
}

/** The cluster exists in the state store already (create), or does not (every other verb). */
export class ClusterExistsError extends KopslessError {
  override readonly name = 'ClusterExistsError';
  readonly transient = false;
}

export class ClusterNotFoundError extends KopslessError {
  override readonly name = 'ClusterNotFoundError';
  readonly transient = false;
  /** `detail` says where it was looked for (default: in the state store). */
  constructor(
    readonly cluster: string,
    detail = ' in the state store',
  ) {
    super(`cluster "${cluster}" not found${detail}`);
  }
}

/** A conditional write lost a race (HTTP 412): somebody else wrote first. */
export class StateConflictError extends KopslessError {
  override readonly name = 'StateConflictError';
  readonly transient = false;
}

/** The CloudFormation stack ended in a failed or rolled-back status. */
export class StackFailedError extends KopslessError {
  override readonly name = 'StackFailedError';
  readonly transient = false;
}

/** Waited past the deadline for instances, DNS or a stack. */
export class WaitTimeoutError extends KopslessError {
  override readonly name = 'WaitTimeoutError';
  readonly transient = false;
}

/** The Kubernetes API answered 5xx or did not answer; worth another try. */
export class TransientKubeError extends KopslessError {
  override readonly name = 'TransientKubeError';
  readonly transient = true;
}

/** A node could not be drained before the drain timeout (PodDisruptionBudgets, stuck pods). */
export class DrainTimeoutError extends KopslessError {
  override readonly name = 'DrainTimeoutError';
  readonly transient = false;
}

/** The cluster did not pass validation within the validation timeout (rolling update). */
export class ClusterNotValidError extends KopslessError {
  override readonly name = 'ClusterNotValidError';
  readonly transient = false;
}

/**
 * A roll whose parent execution could not fit Step Functions' history quota (too many waves and
 * child executions): refused at the plan, before anything is replaced.
 */
export class RollTooLargeError extends KopslessError {
  override readonly name = 'RollTooLargeError';
  readonly transient = false;
}

/** Delete made no progress: resources still exist that depend on each other or on something outside. */
export class DeleteStuckError extends KopslessError {
  override readonly name = 'DeleteStuckError';
  readonly transient = false;
}

/**
 * A resource kopsless would create, change or delete is tagged for another cluster, or for
 * none: it is left alone, whatever its name.
 */
export class ResourceOwnedError extends KopslessError {
  override readonly name = 'ResourceOwnedError';
  readonly transient = false;
}

/** A permanent AWS error (access denied, bad parameter, limit exceeded). */
export class AwsRequestError extends KopslessError {
  override readonly name = 'AwsRequestError';
  readonly transient = false;
}

/** The Kubernetes API refused a request for good (4xx other than 429): RBAC, a bad object, a missing resource. */
export class KubernetesApiError extends KopslessError {
  override readonly name = 'KubernetesApiError';
  readonly transient = false;
  constructor(
    message: string,
    readonly statusCode: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A cluster's kubeconfig in the state store holds something other than inline credentials and
 * the cluster's own API server (a command, a file path, a proxy, a foreign server): refused
 * before any request is made with it.
 */
export class StoredKubeconfigError extends KopslessError {
  override readonly name = 'StoredKubeconfigError';
  readonly transient = false;
}

/** An execution's input is missing a field or has one of the wrong type; nothing was touched. */
export class InvalidInputError extends KopslessError {
  override readonly name = 'InvalidInputError';
  readonly transient = false;
  constructor(
    readonly issues: FieldIssue[],
    options?: ErrorOptions,
  ) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('; '), options);
  }
}

/** A handler was sent an `action` it does not have (a misspelt ASL state, a stale caller). */
export class UnknownActionError extends KopslessError {
  override readonly name = 'UnknownActionError';
  readonly transient = false;
}

/** A required setting is missing from the environment (fails at cold start). */
export class ConfigError extends KopslessError {
  override readonly name = 'ConfigError';
  readonly transient = false;
}

/** Names the ASL retries with backoff. */
export const TRANSIENT_ERROR_NAMES = ['TransientAwsError', 'TransientKubeError'] as const;

/** Names the ASL may catch; anything a handler throws is one of these or a transient one. */
export const PERMANENT_ERROR_NAMES = [
  'SpecInvalidError',
  'SpecUnsupportedError',
  'ClusterLockedError',
  'InstanceGroupClaimError',
  'ClusterExistsError',
  'ClusterNotFoundError',
  'StateConflictError',
  'StackFailedError',
  'WaitTimeoutError',
  'AwsRequestError',
  'ConfigError',
  'DrainTimeoutError',
  'ClusterNotValidError',
  'RollTooLargeError',
  'DeleteStuckError',
  'ResourceOwnedError',
  'KubernetesApiError',
  'StoredKubeconfigError',
  'InvalidInputError',
  'UnknownActionError',
] as const;

/** The Lambda service's own errors, retried on every Task (Step Functions best practice). */
export const LAMBDA_SERVICE_ERROR_NAMES = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
] as const;

/**
 * What Step Functions sees when Lambda stops an invocation at the function's Timeout: the
 * `errorType` Lambda returns, with the cause `RequestId: <id> Error: Task timed out after
 * <Timeout>.00 seconds` (AWS Lambda Developer Guide, "Troubleshoot invocation issues in Lambda").
 * Not a Lambda service error: none of LAMBDA_SERVICE_ERROR_NAMES covers it.
 */
export const LAMBDA_TIMEOUT_ERROR = 'Sandbox.Timedout';

/** What Step Functions sees when the function's process runs out of its MemorySize. */
export const LAMBDA_OUT_OF_MEMORY_ERROR = 'Runtime.OutOfMemory';

/** The function's process exited during an invocation (a crash, `process.exit`). */
export const LAMBDA_EXIT_ERROR = 'Runtime.ExitError';

/**
 * What Step Functions reports for an unhandled Lambda failure that carries no error type; its
 * guide ("Handle Lambda service exceptions") lists time-outs and out-of-memory among them, so
 * a Retry meant for a time-out names this one as well as LAMBDA_TIMEOUT_ERROR.
 */
export const LAMBDA_UNKNOWN_ERROR = 'Lambda.Unknown';

/** Failures of the function's runtime rather than of its code or of the Lambda service. */
export const LAMBDA_RUNTIME_ERROR_NAMES = [
  LAMBDA_TIMEOUT_ERROR,
  LAMBDA_OUT_OF_MEMORY_ERROR,
  LAMBDA_EXIT_ERROR,
  LAMBDA_UNKNOWN_ERROR,
] as const;

/**
 * The one Retry policy of every Task in every ASL file (a test holds each file to it): the Lambda
 * service's errors quickly, our transient errors with a longer, capped backoff, a Lambda timeout
 * a few times. Never
 * `States.ALL` or `States.TaskFailed`: a permanent error must reach the Catch at once.
 */
export const TASK_RETRY = [
  {
    ErrorEquals: [...LAMBDA_SERVICE_ERROR_NAMES],
    IntervalSeconds: 2,
    MaxAttempts: 6,
    BackoffRate: 2,
    JitterStrategy: 'FULL',
  },
  {
    ErrorEquals: [...TRANSIENT_ERROR_NAMES],
    IntervalSeconds: 5,
    MaxAttempts: 5,
    BackoffRate: 2,
    MaxDelaySeconds: 60,
    JitterStrategy: 'FULL',
  },
  // Every Task is idempotent (a poll observes; an action finds its own work done), and a long one
  // (a drain) returns before its Timeout with what is left: a timed-out attempt is run again.
  {
    ErrorEquals: [LAMBDA_TIMEOUT_ERROR, LAMBDA_UNKNOWN_ERROR],
    IntervalSeconds: 2,
    MaxAttempts: 3,
    BackoffRate: 2,
    JitterStrategy: 'FULL',
  },
] as const;

const TRANSIENT_AWS_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'PriorRequestNotComplete',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'InternalFailure',
  'RequestTimeout',
  'RequestTimeoutException',
  'EC2ThrottledException',
  // Auto Scaling: another scaling activity on the group, or a transient quota on the API.
  'ScalingActivityInProgress',
  // EC2's bandwidth quota on its API, and Route 53's "a change to this zone is still in progress".
  'BandwidthLimitExceeded',
  'TransactionInProgressException',
]);

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPROTO',
  'TimeoutError',
]);

/** True for an error the AWS SDK threw: a service answer or a network fault after its retries (both carry `$metadata`). */
export function isAwsSdkError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && ('$metadata' in error || '$fault' in error);
}

/**
 * Sorts an error thrown by an AWS SDK call into the two families. The SDK has already retried
 * throttles a few times; what reaches here is handed to Step Functions, which retries with a
 * longer backoff than a Lambda invocation can afford. Anything that is not an SDK error (a
 * TypeError in our own code, a Kubernetes error) is returned as it is: calling it an AWS error
 * would send whoever reads status.json to the wrong place.
 */
export function classifyAwsError(error: unknown): Error {
  if (error instanceof KopslessError) return error;
  if (!isAwsSdkError(error)) return error instanceof Error ? error : new Error(String(error));
  const e = error as {
    name?: string;
    code?: string;
    message?: string;
    $fault?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const message = `${name}: ${e.message ?? String(error)}`;
  if (
    TRANSIENT_AWS_CODES.has(name) ||
    (status !== undefined && status >= 500) ||
    e.$fault === 'server' ||
    NETWORK_CODES.has(e.code ?? name)
  ) {
    return new TransientAwsError(message, { cause: error });
  }
  return new AwsRequestError(message, { cause: error });
}

/** Rethrows an SDK error as one of the two families (the adapters' catch-all); any other error as it is. */
export function rethrowAws(error: unknown): never {
  throw classifyAwsError(error);
}

/** True for an HTTP error from `@kubernetes/client-node` (its ApiException: a numeric `code`, the response `body` and `headers`). */
export function isKubernetesApiError(error: unknown): error is Error & { code: number } {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === 'number' &&
    'body' in error &&
    'headers' in error
  );
}

/**
 * Sorts a Kubernetes API error: throttled (429), 5xx or unreachable becomes TransientKubeError
 * (retried by the ASL), any other HTTP answer KubernetesApiError with its status.
 */
export function classifyKubeError(error: unknown, what: string): Error {
  if (error instanceof KopslessError) return error;
  const status = isKubernetesApiError(error) ? error.code : undefined;
  const message = `Kubernetes API ${what}: ${(error as Error)?.message ?? String(error)}`;
  if (status === undefined || status >= 500 || status === 429)
    return new TransientKubeError(message, { cause: error });
  return new KubernetesApiError(message, status, { cause: error });
}

/**
 * The name an error leaves a handler with, which is what Step Functions matches and
 * status.json records: kopsless errors as they are, AWS SDK errors sorted into the AWS
 * families, Kubernetes HTTP errors into the Kubernetes ones, and anything else (TypeError,
 * RangeError: a bug) under its own name.
 */
export function namedError(error: unknown): Error {
  if (error instanceof KopslessError) return error;
  if (isAwsSdkError(error)) return classifyAwsError(error);
  if (isKubernetesApiError(error)) return classifyKubeError(error, 'request');
  return error instanceof Error ? error : new Error(String(error));
}

/** True when the SDK error has the given error code (AWS reports it as `name`). */
export function isAwsErrorCode(error: unknown, ...codes: string[]): boolean {
  const e = error as { name?: string; Code?: string };
  return codes.includes(e?.name ?? '') || codes.includes(e?.Code ?? '');
}
