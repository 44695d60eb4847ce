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

/** The cluster exists in the state store already (create), or does not (every other verb). */
export class ClusterExistsError extends KopslessError {
  override readonly name = 'ClusterExistsError';
  readonly transient = false;
}

export class ClusterNotFoundError extends KopslessError {
  override readonly name = 'ClusterNotFoundError';
  readonly transient = false;
  /** `detail` says where it was looked for (default: in the state store). */
  constructor(readonly cluster: string, detail = ' in the state store') {
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
  'ClusterExistsError',
  'ClusterNotFoundError',
  'StateConflictError',
  'StackFailedError',
  'WaitTimeoutError',
  'AwsRequestError',
  'ConfigError',
  'DrainTimeoutError',
  'ClusterNotValidError',
  'DeleteStuckError',
  'ResourceOwnedError',
] as const;

/** The Lambda service's own errors, retried on every Task (Step Functions best practice). */
export const LAMBDA_SERVICE_ERROR_NAMES = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
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
]);

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'TimeoutError']);

/**
 * Sorts an error thrown by an AWS SDK call into the two families. The SDK has already retried
 * throttles a few times; what reaches here is handed to Step Functions, which retries with a
 * longer backoff than a Lambda invocation can afford.
 */
export function classifyAwsError(error: unknown): KopslessError {
  if (error instanceof KopslessError) return error;
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? 'Error';
  const status = e?.$metadata?.httpStatusCode;
  const message = `${name}: ${e?.message ?? String(error)}`;
  if (TRANSIENT_AWS_CODES.has(name) || (status !== undefined && status >= 500) || NETWORK_CODES.has(e?.code ?? name)) {
    return new TransientAwsError(message, { cause: error });
  }
  return new AwsRequestError(message, { cause: error });
}

/** Rethrows an SDK error as one of the two families (the adapters' catch-all). */
export function rethrowAws(error: unknown): never {
  throw classifyAwsError(error);
}

/** True when the SDK error has the given error code (AWS reports it as `name`). */
export function isAwsErrorCode(error: unknown, ...codes: string[]): boolean {
  const e = error as { name?: string; Code?: string };
  return codes.includes(e?.name ?? '') || codes.includes(e?.Code ?? '');
}
