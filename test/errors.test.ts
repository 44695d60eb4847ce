import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  AwsRequestError,
  ClusterLockedError,
  classifyAwsError,
  KubernetesApiError,
  LAMBDA_SERVICE_ERROR_NAMES,
  namedError,
  TransientAwsError,
  TransientKubeError,
} from '../src/errors.js';

/** An error shaped as the AWS SDK throws it: a service code as `name`, `$metadata`, `$fault`. */
function sdkError(name: string, status: number): Error {
  return Object.assign(new Error(name), {
    name,
    $metadata: { httpStatusCode: status, attempts: 3 },
    $fault: status >= 500 ? 'server' : 'client',
  });
}

describe('namedError', () => {
  it('sorts an AWS SDK throttle into TransientAwsError', () => {
    expect(namedError(sdkError('ThrottlingException', 400))).toBeInstanceOf(TransientAwsError);
  });

  it('sorts an AWS SDK 5xx into TransientAwsError', () => {
    expect(namedError(sdkError('InternalError', 503))).toBeInstanceOf(TransientAwsError);
  });

  it('sorts an AWS SDK access denial into the permanent AwsRequestError, naming the code', () => {
    const named = namedError(sdkError('AccessDenied', 403));

    expect(named).toBeInstanceOf(AwsRequestError);
    expect(named.message).toMatch(/^AccessDenied: /);
  });

  it('keeps a TypeError (a bug) under its own name', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'spec')");

    expect(namedError(bug)).toBe(bug);
    expect(namedError(bug).name).toBe('TypeError');
  });

  it('names a Kubernetes 403 KubernetesApiError with its status, not an AWS error', () => {
    const named = namedError(new ApiException(403, 'forbidden', { reason: 'Forbidden' }, {}));

    expect(named).toBeInstanceOf(KubernetesApiError);
    expect((named as KubernetesApiError).statusCode).toBe(403);
  });

  it('names a Kubernetes 503 TransientKubeError, which the ASL retries', () => {
    expect(namedError(new ApiException(503, 'unavailable', {}, {}))).toBeInstanceOf(
      TransientKubeError,
    );
  });

  it('leaves a kopsless error as it is', () => {
    const locked = new ClusterLockedError('c', 'exec-1', '2999-01-01T00:00:00Z');

    expect(namedError(locked)).toBe(locked);
  });

  it('turns a thrown string into an Error carrying it', () => {
    expect(namedError('boom').message).toBe('boom');
  });
});

describe('classifyAwsError', () => {
  for (const code of [
    'ScalingActivityInProgress',
    'BandwidthLimitExceeded',
    'TransactionInProgressException',
  ]) {
    it(`sorts the ${code} answer (a 400) into TransientAwsError, which the ASL retries`, () => {
      expect(classifyAwsError(sdkError(code, 400))).toBeInstanceOf(TransientAwsError);
    });
  }

  for (const code of ['EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'EPROTO', 'ECONNRESET']) {
    it(`sorts the network fault ${code} into TransientAwsError`, () => {
      const fault = Object.assign(new Error(`connect ${code}`), {
        code,
        $metadata: { attempts: 3 },
      });

      expect(classifyAwsError(fault)).toBeInstanceOf(TransientAwsError);
    });
  }

  it('returns a non-SDK error unchanged instead of calling it an AWS error', () => {
    const bug = new RangeError('Invalid array length');

    expect(classifyAwsError(bug)).toBe(bug);
  });
});

describe('LAMBDA_SERVICE_ERROR_NAMES', () => {
  it('includes the Lambda client execution timeout', () => {
    expect(LAMBDA_SERVICE_ERROR_NAMES).toContain('Lambda.ClientExecutionTimeoutException');
  });
});
