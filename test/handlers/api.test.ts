import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { editManifest, readFixture, readReference } from '../helpers.js';
import { fakeStepFunctions } from '../support/fake-sfn.js';
import { type ApiCall, apiEvent, bodyOf, MACHINE } from './api-harness.js';
import { serveSeedState } from './state-fixture.js';
import { awsError, body, HANDLER_ENV, lambdaContext } from './support.js';

const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
let handler: (event: unknown, context: unknown) => Promise<any>;

beforeAll(async () => {
  for (const [k, v] of Object.entries(HANDLER_ENV)) vi.stubEnv(k, v);
  for (const [variable, name] of [
    ['CREATE_CLUSTER', 'create-cluster'],
    ['UPDATE_CLUSTER', 'update-cluster'],
    ['ROLLING_UPDATE', 'rolling-update'],
    ['DELETE_CLUSTER', 'delete-cluster'],
  ]) {
    vi.stubEnv(`${variable}_STATE_MACHINE_ARN`, MACHINE(name!));
  }
  ({ handler } = (await import('../../functions/api.js')) as unknown as {
    handler: typeof handler;
  });
});
beforeEach(() => {
  s3.reset();
  sfn.reset();
  s3.on(GetObjectCommand).rejects(awsError('NoSuchKey', 404));
  s3.on(ListObjectsV2Command).resolves({ Contents: [] });
  fakeStepFunctions(sfn);
});

function request(method: string, path: string, options: ApiCall = {}) {
  return handler(apiEvent(method, path, options), lambdaContext);
}

const seed = readFixture('seed.yaml');
const lockedBy = (owner: string) =>
  s3.on(GetObjectCommand, { Key: 'seed.example.com/lock' }).callsFake(async () => ({
    Body: body(
      JSON.stringify({
        owner,
        operation: 'update',
        acquiredAt: '2026-01-01T00:00:00Z',
        expiresAt: '2999-01-01T00:00:00Z',
      }),
    ),
    ETag: '"l"',
  }));

describe('POST /clusters', () => {
  it('starts the create state machine with the manifest (202)', async () => {
    const response = await request('POST', '/clusters', { body: seed });

    expect(response.statusCode).toBe(202);
    expect(bodyOf(response)).toMatchObject({
      cluster: 'seed.example.com',
      operation: 'create-cluster',
      existing: false,
    });
    const start = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(start.stateMachineArn).toBe(MACHINE('create-cluster'));
    expect(JSON.parse(start.input!)).toEqual({ manifest: seed });
  });

  it('accepts JSON: {"manifest": "<YAML>"}', async () => {
    const response = await request('POST', '/clusters', {
      body: JSON.stringify({ manifest: seed }),
      headers: { 'Content-Type': 'application/json' },
    });

    expect(response.statusCode).toBe(202);
  });

  it('names the execution from the Idempotency-Key, so a retried request finds the first execution (200)', async () => {
    const first = bodyOf(
      await request('POST', '/clusters', { body: seed, headers: { 'Idempotency-Key': 'k1' } }),
    );
    sfn.on(StartExecutionCommand).rejects(awsError('ExecutionAlreadyExists', 400));

    const retry = await request('POST', '/clusters', {
      body: seed,
      headers: { 'Idempotency-Key': 'k1' },
    });

    expect(retry.statusCode).toBe(200);
    expect(bodyOf(retry)).toMatchObject({ executionArn: first.executionArn, existing: true });
  });

  it('answers 400 with field paths for an invalid manifest and starts nothing', async () => {
    const response = await request('POST', '/clusters', {
      body: editManifest(seed, (c) => delete c.spec.kubernetesVersion),
    });

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).errors).toEqual([
      { path: 'spec.kubernetesVersion', message: 'Required value' },
    ]);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('answers 400 listing unsupported settings', async () => {
    const response = await request('POST', '/clusters', {
      body: readReference('create_cluster_complex-private.yaml'),
    });

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).unsupported.map((u: { path: string }) => u.path)).toContain(
      'spec.additionalNetworkCIDRs',
    );
  });

  it('answers 400 naming spec.hasOwnProperty and spec.constructor as unknown fields, and starts nothing', async () => {
    const response = await request('POST', '/clusters', {
      body: seed.replace(
        '  channel: stable\n',
        '  channel: stable\n  hasOwnProperty: 1\n  constructor: 2\n',
      ),
    });

    expect(response.statusCode).toBe(400);
    expect(JSON.stringify(bodyOf(response))).toContain('spec.hasOwnProperty');
    expect(JSON.stringify(bodyOf(response))).toContain('spec.constructor');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const response = await request('POST', '/clusters', {
      body: '{"manifest": ',
      headers: { 'Content-Type': 'application/json' },
    });

    expect(response.statusCode).toBe(400);
  });

  it('answers 413 for a body over 256 KiB', async () => {
    const response = await request('POST', '/clusters', {
      body: `${seed}\n# ${'x'.repeat(300 * 1024)}`,
    });

    expect(response.statusCode).toBe(413);
  });

  it('answers 409 naming the execution that holds the cluster lock', async () => {
    lockedBy('arn:aws:states:us-east-1:123456789012:execution:kopsless-update-cluster:u-1');

    const response = await request('POST', '/clusters', { body: seed });

    expect(response.statusCode).toBe(409);
    expect(bodyOf(response)).toMatchObject({
      execution: 'arn:aws:states:us-east-1:123456789012:execution:kopsless-update-cluster:u-1',
    });
  });
});

describe('cluster routes', () => {
  it('lists clusters', async () => {
    serveSeedState(s3);
    s3.on(ListObjectsV2Command, { Delimiter: '/' }).resolves({
      CommonPrefixes: [{ Prefix: 'seed.example.com/' }, { Prefix: 'only-a-lock.example.com/' }],
    });

    const response = await request('GET', '/clusters');

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response).clusters).toEqual([
      { name: 'seed.example.com', phase: 'Unknown', lastExecution: null },
    ]);
  });

  it('answers 404 for an unknown cluster on every per-cluster route', async () => {
    for (const [method, path] of [
      ['GET', '/clusters/nope.example.com'],
      ['POST', '/clusters/nope.example.com/update'],
      ['POST', '/clusters/nope.example.com/rolling-update'],
      ['DELETE', '/clusters/nope.example.com'],
    ] as const) {
      expect((await request(method, path)).statusCode, `${method} ${path}`).toBe(404);
    }
  });

  it('returns the spec with its status', async () => {
    serveSeedState(s3);
    s3.on(GetObjectCommand, { Key: 'seed.example.com/status.json' }).callsFake(async () => ({
      Body: body('{"phase":"Ready","lastExecution":"arn:x","updatedAt":""}'),
      ETag: '"s"',
    }));

    const response = await request('GET', '/clusters/seed.example.com');

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toMatchObject({
      cluster: { metadata: { name: 'seed.example.com' } },
      status: { phase: 'Ready' },
      lock: null,
    });
    expect(bodyOf(response).instanceGroups).toHaveLength(3);
  });

  it.each([
    [
      'POST',
      '/clusters/seed.example.com/update',
      'update-cluster',
      { cluster: 'seed.example.com' },
    ],
    ['DELETE', '/clusters/seed.example.com', 'delete-cluster', { cluster: 'seed.example.com' }],
  ])('%s %s starts %s', async (method, path, machine, input) => {
    serveSeedState(s3);

    const response = await request(method, path);

    expect(response.statusCode).toBe(202);
    const start = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(start.stateMachineArn).toBe(MACHINE(machine));
    expect(JSON.parse(start.input!)).toEqual(input);
  });

  it('starts a rolling update with the CLI options', async () => {
    serveSeedState(s3);

    const response = await request('POST', '/clusters/seed.example.com/rolling-update', {
      body: JSON.stringify({ instanceGroups: ['nodes-us-east-1a'], force: true }),
      headers: { 'Content-Type': 'application/json' },
    });

    expect(response.statusCode).toBe(202);
    expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!)).toEqual({
      cluster: 'seed.example.com',
      instanceGroups: ['nodes-us-east-1a'],
      force: true,
      cloudOnly: false,
    });
  });

  it('starts a rolling update with parallelGroups and allowSameZone from the body', async () => {
    serveSeedState(s3);

    const response = await request('POST', '/clusters/seed.example.com/rolling-update', {
      body: JSON.stringify({ parallelGroups: 4, allowSameZone: true }),
      headers: { 'Content-Type': 'application/json' },
    });

    expect(response.statusCode).toBe(202);
    expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!)).toEqual({
      cluster: 'seed.example.com',
      instanceGroups: [],
      force: false,
      cloudOnly: false,
      parallelGroups: 4,
      allowSameZone: true,
    });
  });

  it.each([0, 21, 1.5, '2', null])(
    'answers 400 naming parallelGroups for %j, starting nothing',
    async (value) => {
      serveSeedState(s3);

      const response = await request('POST', '/clusters/seed.example.com/rolling-update', {
        body: JSON.stringify({ parallelGroups: value }),
      });

      expect(response.statusCode).toBe(400);
      expect(bodyOf(response).message).toBe('parallelGroups: must be an integer from 1 to 20');
      expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    },
  );

  it('answers 400 for rolling-update options that are wrong', async () => {
    serveSeedState(s3);

    const unknownGroup = await request('POST', '/clusters/seed.example.com/rolling-update', {
      body: JSON.stringify({ instanceGroups: ['nope'] }),
    });
    const badFlag = await request('POST', '/clusters/seed.example.com/rolling-update', {
      body: JSON.stringify({ force: 'yes' }),
    });

    expect(unknownGroup.statusCode).toBe(400);
    expect(bodyOf(unknownGroup).message).toContain('not in cluster "seed.example.com": nope');
    expect(badFlag.statusCode).toBe(400);
  });

  it('answers 409 for an update while the cluster is locked', async () => {
    serveSeedState(s3);
    lockedBy('arn:aws:states:us-east-1:123456789012:execution:kopsless-rolling-update:r-1');

    expect((await request('POST', '/clusters/seed.example.com/update')).statusCode).toBe(409);
  });
});

describe('GET /clusters/{name}/executions/{id}', () => {
  it('describes an execution of the cluster', async () => {
    sfn.on(DescribeExecutionCommand).callsFake(async ({ executionArn }) => {
      if (!executionArn.includes('kopsless-update-cluster'))
        throw awsError('ExecutionDoesNotExist', 400);
      return {
        executionArn,
        name: 'u-1',
        status: 'RUNNING',
        startDate: new Date('2026-11-22T00:00:00Z'),
        input: '{"cluster":"seed.example.com"}',
        stateMachineArn: MACHINE('update-cluster'),
      };
    });

    const response = await request('GET', '/clusters/seed.example.com/executions/u-1');

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toMatchObject({ status: 'RUNNING', name: 'u-1' });
  });

  it('answers 404 for an execution of another cluster', async () => {
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: 'x',
      name: 'u-1',
      status: 'RUNNING',
      startDate: new Date(),
      input: '{"cluster":"other.example.com"}',
      stateMachineArn: MACHINE('update-cluster'),
    });

    expect((await request('GET', '/clusters/seed.example.com/executions/u-1')).statusCode).toBe(
      404,
    );
  });
});

describe('the API as a whole', () => {
  it('answers 404 for a route it does not have', async () => {
    expect((await request('PUT', '/clusters')).statusCode).toBe(404);
  });

  it('sets security headers', async () => {
    const response = await request('GET', '/clusters');

    expect(Object.keys(response.headers).map((h) => h.toLowerCase())).toEqual(
      expect.arrayContaining(['strict-transport-security', 'x-content-type-options']),
    );
  });
});
