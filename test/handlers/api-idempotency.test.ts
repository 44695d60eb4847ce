import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkManifest } from '../../src/manifest/check.js';
import { toManifestYaml } from '../../src/manifest/yaml.js';
import { executionName, MAX_EXECUTION_NAME } from '../../src/stages/api.js';
import { readFixture } from '../helpers.js';
import type { fakeStepFunctions } from '../support/fake-sfn.js';
import { type ApiHandler, bodyOf, call, loadApi, resetMocks } from './api-harness.js';
import { serveSeedState } from './state-fixture.js';
import { body } from './support.js';

let api: Awaited<ReturnType<typeof loadApi>>;
let handler: ApiHandler;
let sfn: ReturnType<typeof fakeStepFunctions>;
const seed = readFixture('seed.yaml');
const T0 = new Date('2026-11-25T12:00:10Z');

beforeAll(async () => {
  api = await loadApi();
  handler = api.handler;
});
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
  sfn = resetMocks(api.s3, api.sfn);
  serveSeedState(api.s3);
});
afterEach(() => vi.useRealTimers());

const later = (seconds: number) => vi.setSystemTime(new Date(T0.getTime() + seconds * 1000));
const update = (headers: Record<string, string> = {}) =>
  call(handler, 'POST', '/clusters/seed.example.com/update', { headers });
const del = () => call(handler, 'DELETE', '/clusters/seed.example.com');

/** Serves a changed cluster spec (a new Kubernetes version) from the state store. */
function changeSpec(): void {
  const manifest = checkManifest(seed).manifest!;
  manifest.cluster.spec.kubernetesVersion = 'v1.32.1';
  api.s3
    .on(GetObjectCommand, { Key: 'seed.example.com/config' })
    .callsFake(async () => ({ Body: body(toManifestYaml(manifest.cluster)), ETag: '"c2"' }));
}

describe('without an Idempotency-Key', () => {
  it('answers a byte-identical retry within the minute with the first execution (200)', async () => {
    const first = await update();
    later(20);

    const retry = await update();

    expect(first.statusCode).toBe(202);
    expect(retry.statusCode).toBe(200);
    expect(bodyOf(retry)).toMatchObject({
      executionArn: bodyOf(first).executionArn,
      existing: true,
    });
    expect(sfn.started()).toHaveLength(1);
  });

  it('joins the first execution across a minute boundary, while within 60 s of its start', async () => {
    vi.setSystemTime(new Date('2026-11-25T12:00:50Z'));
    const first = await update();
    vi.setSystemTime(new Date('2026-11-25T12:01:30Z'));

    const retry = await update();

    expect(bodyOf(retry)).toMatchObject({
      executionArn: bodyOf(first).executionArn,
      existing: true,
    });
  });

  it('starts a new execution for the same request more than a minute later', async () => {
    const first = await update();
    sfn.finish(bodyOf(first).executionArn, 'SUCCEEDED');
    later(61);

    const again = await update();

    expect(again.statusCode).toBe(202);
    expect(bodyOf(again).executionArn).not.toBe(bodyOf(first).executionArn);
  });

  it('starts a new update when the spec changed between two updates, even within the minute', async () => {
    const first = await update();
    sfn.finish(bodyOf(first).executionArn, 'SUCCEEDED');
    changeSpec();
    later(5);

    const second = await update();

    expect(second.statusCode).toBe(202);
    expect(bodyOf(second).executionArn).not.toBe(bodyOf(first).executionArn);
    expect(sfn.started()).toHaveLength(2);
  });

  it('starts a new delete when the first one failed, even within the minute', async () => {
    const first = await del();
    sfn.finish(bodyOf(first).executionArn, 'FAILED');
    later(3);

    const retry = await del();

    expect(retry.statusCode).toBe(202);
    expect(bodyOf(retry).executionArn).not.toBe(bodyOf(first).executionArn);
  });

  it('answers a retry of the retried delete with the second execution', async () => {
    const first = await del();
    sfn.finish(bodyOf(first).executionArn, 'FAILED');
    const second = await del();

    const third = await del();

    expect(third.statusCode).toBe(200);
    expect(bodyOf(third).executionArn).toBe(bodyOf(second).executionArn);
  });

  it('starts a new rolling update for a different body', async () => {
    const all = await call(handler, 'POST', '/clusters/seed.example.com/rolling-update', {
      body: '{}',
    });

    const one = await call(handler, 'POST', '/clusters/seed.example.com/rolling-update', {
      body: '{"instanceGroups":["nodes-us-east-1a"]}',
    });

    expect(one.statusCode).toBe(202);
    expect(bodyOf(one).executionArn).not.toBe(bodyOf(all).executionArn);
  });
});

describe('with an Idempotency-Key', () => {
  it('answers a retry with the first execution, even after a minute and a spec change', async () => {
    const first = await update({ 'Idempotency-Key': 'a3f1c2' });
    sfn.finish(bodyOf(first).executionArn, 'FAILED');
    changeSpec();
    later(600);

    const retry = await update({ 'Idempotency-Key': 'a3f1c2' });

    expect(retry.statusCode).toBe(200);
    expect(bodyOf(retry)).toMatchObject({
      executionArn: bodyOf(first).executionArn,
      existing: true,
    });
    expect(sfn.started()).toHaveLength(1);
  });

  it('starts a new execution for a new key', async () => {
    const first = await update({ 'Idempotency-Key': 'k-1' });

    const second = await update({ 'Idempotency-Key': 'k-2' });

    expect(second.statusCode).toBe(202);
    expect(bodyOf(second).executionArn).not.toBe(bodyOf(first).executionArn);
  });

  it('answers 409 when the key was used for a different request', async () => {
    await call(handler, 'POST', '/clusters/seed.example.com/rolling-update', {
      body: '{}',
      headers: { 'Idempotency-Key': 'k-1' },
    });

    const reused = await call(handler, 'POST', '/clusters/seed.example.com/rolling-update', {
      body: '{"force":true}',
      headers: { 'Idempotency-Key': 'k-1' },
    });

    expect(reused.statusCode).toBe(409);
    expect(bodyOf(reused).message).toContain('Idempotency-Key was used for a different request');
  });

  it('answers 400 for a key that is not printable ASCII', async () => {
    expect((await update({ 'Idempotency-Key': 'has space' })).statusCode).toBe(400);
  });
});

/** Serves the lock as the execution that answered `first` holds it once it runs. */
function lockHeldBy(
  first: { body: string },
  operation: string,
  cluster = 'seed.example.com',
): void {
  const owner = bodyOf(first).executionArn as string;
  api.s3.on(GetObjectCommand, { Key: `${cluster}/lock` }).callsFake(async () => ({
    Body: body(
      JSON.stringify({
        owner,
        operation,
        acquiredAt: T0.toISOString(),
        expiresAt: '2999-01-01T00:00:00Z',
      }),
    ),
    ETag: '"l"',
  }));
}

describe('a retry once the first execution holds the lock', () => {
  it.each([
    [
      'update',
      () =>
        call(handler, 'POST', '/clusters/seed.example.com/update', {
          headers: { 'Idempotency-Key': 'u-1' },
        }),
    ],
    [
      'rolling update',
      () =>
        call(handler, 'POST', '/clusters/seed.example.com/rolling-update', {
          body: '{}',
          headers: { 'Idempotency-Key': 'r-1' },
        }),
    ],
    [
      'delete',
      () =>
        call(handler, 'DELETE', '/clusters/seed.example.com', {
          headers: { 'Idempotency-Key': 'd-1' },
        }),
    ],
  ])('answers a keyed %s retry with the first execution (200), not 409', async (_what, send) => {
    const first = await send();
    lockHeldBy(first, 'update');
    later(120);

    const retry = await send();

    expect(first.statusCode).toBe(202);
    expect(retry.statusCode).toBe(200);
    expect(bodyOf(retry)).toMatchObject({
      executionArn: bodyOf(first).executionArn,
      existing: true,
    });
    expect(sfn.started()).toHaveLength(1);
  });

  it('answers a byte-identical keyless update retry within the minute with the first execution (200)', async () => {
    const first = await update();
    lockHeldBy(first, 'update');
    later(20);

    const retry = await update();

    expect(retry.statusCode).toBe(200);
    expect(bodyOf(retry)).toMatchObject({
      executionArn: bodyOf(first).executionArn,
      existing: true,
    });
  });

  it('answers a keyed create retry with the first execution though the cluster is now Creating and locked', async () => {
    const manifest = seed.replaceAll('seed.example.com', 'fresh.example.com');
    const send = () =>
      call(handler, 'POST', '/clusters', { body: manifest, headers: { 'Idempotency-Key': 'c-1' } });
    const first = await send();
    lockHeldBy(first, 'create', 'fresh.example.com');
    api.s3.on(GetObjectCommand, { Key: 'fresh.example.com/status.json' }).callsFake(async () => ({
      Body: body(JSON.stringify({ phase: 'Creating', updatedAt: T0.toISOString() })),
      ETag: '"s"',
    }));

    const retry = await send();

    expect(retry.statusCode).toBe(200);
    expect(bodyOf(retry)).toMatchObject({
      executionArn: bodyOf(first).executionArn,
      existing: true,
    });
  });

  it('still answers 409 to another request while the lock is held', async () => {
    const first = await update({ 'Idempotency-Key': 'u-1' });
    lockHeldBy(first, 'update');

    const other = await update({ 'Idempotency-Key': 'u-2' });

    expect(other.statusCode).toBe(409);
    expect(bodyOf(other).message).toContain('is locked by execution');
  });
});

describe('execution names', () => {
  it('stay within 80 characters for the longest cluster name', () => {
    const cluster = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;

    const name = executionName('rolling-update', cluster, ['request', '', '', '0', '0']);

    expect(name.length).toBeLessThanOrEqual(MAX_EXECUTION_NAME);
    expect(name).toMatch(/^[A-Za-z0-9-]+$/);
  });
});
