import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { awsError, body, HANDLER_ENV, lambdaContext } from './support.js';

const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
let handler: (event: unknown, context: unknown) => Promise<unknown>;

beforeAll(async () => {
  for (const [k, v] of Object.entries(HANDLER_ENV)) vi.stubEnv(k, v);
  // As the Lambda runtime sets it: only there are lock owners Step Functions executions.
  vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'kopsless-WriteStateFunction');
  ({ handler } = (await import('../../functions/write-state.js')) as unknown as {
    handler: typeof handler;
  });
});
beforeEach(() => {
  s3.reset();
  sfn.reset();
});

const lock = (owner: string, expiresAt: string) =>
  JSON.stringify({ owner, operation: 'create', acquiredAt: '2026-01-01T00:00:00Z', expiresAt });

describe('write-state handler', () => {
  it('takes a free lock with a create-only write', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });

    const lease = await handler(
      { action: 'acquireLock', cluster: 'a.example.com', owner: 'exec-1', operation: 'create' },
      lambdaContext,
    );

    expect(lease).toMatchObject({ owner: 'exec-1', operation: 'create' });
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({
      Bucket: 'state-bucket',
      Key: 'a.example.com/lock',
      IfNoneMatch: '*',
    });
  });

  it('refuses a live lock held by another execution with ClusterLockedError naming it', async () => {
    s3.on(PutObjectCommand).rejects(awsError('PreconditionFailed', 412));
    s3.on(GetObjectCommand).resolves({
      Body: body(lock('exec-other', '2999-01-01T00:00:00Z')) as never,
      ETag: '"e0"',
    });

    const attempt = handler(
      { action: 'acquireLock', cluster: 'a.example.com', owner: 'exec-1', operation: 'create' },
      lambdaContext,
    );

    await expect(attempt).rejects.toMatchObject({
      name: 'ClusterLockedError',
      message: expect.stringContaining('exec-other'),
    });
  });

  it('turns S3 throttling into TransientAwsError, which the ASL retries', async () => {
    s3.on(PutObjectCommand).rejects(awsError('SlowDown', 503));

    await expect(
      handler(
        { action: 'acquireLock', cluster: 'a.example.com', owner: 'exec-1', operation: 'create' },
        lambdaContext,
      ),
    ).rejects.toMatchObject({ name: 'TransientAwsError' });
  });

  it('turns access denied into the permanent AwsRequestError', async () => {
    s3.on(PutObjectCommand).rejects(awsError('AccessDenied', 403));

    await expect(
      handler(
        { action: 'acquireLock', cluster: 'a.example.com', owner: 'exec-1', operation: 'create' },
        lambdaContext,
      ),
    ).rejects.toMatchObject({ name: 'AwsRequestError' });
  });

  it('lets a bug (TypeError) leave the handler under its own name, not as an AWS error', async () => {
    s3.on(PutObjectCommand).rejects(
      new TypeError("Cannot read properties of undefined (reading 'ETag')"),
    );

    await expect(
      handler(
        { action: 'acquireLock', cluster: 'a.example.com', owner: 'exec-1', operation: 'create' },
        lambdaContext,
      ),
    ).rejects.toMatchObject({ name: 'TypeError' });
  });

  it('records a failure with the Lambda error message and releases its own lock', async () => {
    s3.on(GetObjectCommand, { Key: 'a.example.com/status.json' }).resolves({
      Body: body('{"phase":"Creating","updatedAt":""}') as never,
      ETag: '"s1"',
    });
    s3.on(GetObjectCommand, { Key: 'a.example.com/lock' }).resolves({
      Body: body(lock('exec-1', '2999-01-01T00:00:00Z')) as never,
      ETag: '"l1"',
    });
    s3.on(PutObjectCommand).resolves({ ETag: '"s2"' });
    const cause = JSON.stringify({
      errorType: 'StackFailedError',
      errorMessage: 'stack kopsless-a is ROLLBACK_COMPLETE',
    });

    await handler(
      {
        action: 'fail',
        cluster: 'a.example.com',
        owner: 'exec-1',
        error: { Error: 'StackFailedError', Cause: cause },
      },
      lambdaContext,
    );

    const written = JSON.parse(String(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.Body));
    expect(written).toMatchObject({
      phase: 'Failed',
      lastError: { error: 'StackFailedError', cause: 'stack kopsless-a is ROLLBACK_COMPLETE' },
    });
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.IfMatch).toBe('"s1"');
    expect(s3.calls().some((c) => c.args[0].constructor.name === 'DeleteObjectCommand')).toBe(true);
  });

  it('completes a rolling-update input with its defaults, reading the config and writing nothing to S3', async () => {
    s3.on(GetObjectCommand, { Key: 'a.example.com/config' }).resolves({
      Body: body('kind: Cluster\n') as never,
      ETag: '"c1"',
    });

    const completed = await handler(
      {
        action: 'validateInput',
        stateMachine: 'rolling-update',
        input: { cluster: 'a.example.com' },
      },
      lambdaContext,
    );

    expect(completed).toEqual({
      cluster: 'a.example.com',
      instanceGroups: [],
      force: false,
      cloudOnly: false,
      update: false,
      parallelGroups: 1,
      allowSameZone: false,
    });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('fails an execution input with a missing cluster with InvalidInputError naming it, touching nothing in S3', async () => {
    const attempt = handler(
      { action: 'validateInput', stateMachine: 'delete-cluster', input: {} },
      lambdaContext,
    );

    await expect(attempt).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: 'cluster: Required value: expected string',
    });
    expect(s3.calls()).toHaveLength(0);
  });

  it('rejects an action it does not have with UnknownActionError, instead of returning nothing', async () => {
    await expect(
      handler({ action: 'releaseLock', cluster: 'a.example.com', owner: 'exec-1' }, lambdaContext),
    ).rejects.toMatchObject({ name: 'UnknownActionError' });
    expect(s3.calls()).toHaveLength(0);
  });

  it('rejects an event with a field of the wrong type with InvalidInputError naming it', async () => {
    await expect(
      handler(
        { action: 'acquireLock', cluster: 'a.example.com', owner: 7, operation: 'create' },
        lambdaContext,
      ),
    ).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: 'owner: expected string, got number',
    });
  });

  describe('a live lock held by a Step Functions execution', () => {
    const OWNER = 'arn:aws:states:us-east-1:123456789012:execution:kopsless-rolling-update:stopped';
    const acquire = {
      action: 'acquireLock',
      cluster: 'a.example.com',
      owner: 'exec-1',
      operation: 'update',
    };

    beforeEach(() => {
      s3.on(PutObjectCommand, { Key: 'a.example.com/lock', IfNoneMatch: '*' }).rejects(
        awsError('PreconditionFailed', 412),
      );
      s3.on(PutObjectCommand, { Key: 'a.example.com/lock', IfMatch: '"e0"' }).resolves({
        ETag: '"e1"',
      });
      s3.on(GetObjectCommand, { Key: 'a.example.com/lock' }).resolves({
        Body: body(lock(OWNER, '2999-01-01T00:00:00Z')) as never,
        ETag: '"e0"',
      });
    });

    for (const status of ['SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT'] as const) {
      it(`is taken over, If-Match on its ETag, when that execution is ${status}`, async () => {
        sfn.on(DescribeExecutionCommand, { executionArn: OWNER }).resolves({
          executionArn: OWNER,
          status,
          startDate: new Date(),
          stateMachineArn: 'x',
          name: 'stopped',
        });

        const lease = await handler(acquire, lambdaContext);

        expect(lease).toMatchObject({ owner: 'exec-1', operation: 'update' });
        expect(s3.commandCalls(PutObjectCommand, { IfMatch: '"e0"' })).toHaveLength(1);
      });
    }

    it('is taken over when that execution does not exist', async () => {
      sfn
        .on(DescribeExecutionCommand)
        .rejects(
          Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' }),
        );

      await expect(handler(acquire, lambdaContext)).resolves.toMatchObject({ owner: 'exec-1' });
    });

    it('is refused with ClusterLockedError naming it while that execution runs', async () => {
      sfn.on(DescribeExecutionCommand).resolves({
        executionArn: OWNER,
        status: 'RUNNING',
        startDate: new Date(),
        stateMachineArn: 'x',
        name: 'stopped',
      });

      await expect(handler(acquire, lambdaContext)).rejects.toMatchObject({
        name: 'ClusterLockedError',
        message: expect.stringContaining(OWNER),
      });
      expect(s3.commandCalls(PutObjectCommand, { IfMatch: '"e0"' })).toHaveLength(0);
    });

    it('is not looked up for the local runner, which judges its holders by process', async () => {
      const holder = { pid: 42, host: 'here' };

      await expect(handler({ ...acquire, holder }, lambdaContext)).rejects.toMatchObject({
        name: 'ClusterLockedError',
      });
      expect(sfn.calls()).toHaveLength(0);
    });
  });
});
