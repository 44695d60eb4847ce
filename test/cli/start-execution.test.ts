import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopMoto } from '../../src/local/moto/moto.js';
import { ROOT } from '../helpers.js';
import { TEST_ZONE } from '../support/moto.js';
import { createZoneIn, kopsless } from './run.js';

// `kopsless local start-execution` as a console user drives it: its own local backend (moto,
// detached), stopped by PID at the end; one cluster created through it, then rolled with
// console-style inputs.
const home = mkdtempSync(join(tmpdir(), 'kopsless-home-'));
const env = { KOPSLESS_HOME: home };
const CLUSTER = 'seed.example.com';
const KEYS = ['executionArn', 'status', 'error', 'cause', 'historyEvents', 'transitions', 'output'];
const record = () =>
  JSON.parse(readFileSync(join(home, 'local', 'backend.json'), 'utf8')) as {
    pid: number;
    endpoint: string;
    region: string;
    stateBucket: string;
  };
let s3: S3Client;
let bucket = '';

async function object(key: string): Promise<string | undefined> {
  try {
    return await (
      await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    ).Body!.transformToString();
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

async function lockExists(): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `${CLUSTER}/lock` }));
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
      return false;
    throw error;
  }
}

beforeAll(async () => {
  const up = await kopsless(['local', 'up'], env);
  expect(up.code, up.stderr).toBe(0);
  const { endpoint, region, stateBucket } = record();
  await createZoneIn(endpoint, region, TEST_ZONE);
  bucket = stateBucket;
  s3 = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: 'kopsless-local', secretAccessKey: 'kopsless-local' },
  });
}, 60_000);

afterAll(async () => {
  const { pid } = record();
  s3?.destroy();
  await kopsless(['local', 'down'], env);
  stopMoto(pid);
  rmSync(home, { recursive: true, force: true });
});

describe('kopsless local start-execution', () => {
  it('creates a cluster from an input file (@FILE), printing progress and the history it made', async () => {
    const file = join(home, 'create.json');
    writeFileSync(
      file,
      JSON.stringify({
        manifest: readFileSync(join(ROOT, 'test', 'fixtures', 'seed.yaml'), 'utf8'),
      }),
    );

    const result = await kopsless(
      ['local', 'start-execution', 'create-cluster', '--input', `@${file}`],
      env,
    );

    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toMatch(/✓ ValidateInput\s/);
    expect(result.stdout).toMatch(/✓ RecordSuccess\s/);
    expect(result.stdout).toMatch(
      /^SUCCEEDED in [\d.]+s: \d+ history events, \d+ state transitions$/m,
    );
  }, 180_000);

  it('rolls the cluster from the console input {"cluster":"..."} alone, filling in the defaults', async () => {
    const result = await kopsless(
      [
        'local',
        'start-execution',
        'rolling-update',
        '--input',
        JSON.stringify({ cluster: CLUSTER }),
        '-o',
        'json',
      ],
      env,
    );

    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(Object.keys(out)).toEqual(KEYS);
    expect(out).toMatchObject({
      status: 'SUCCEEDED',
      error: null,
      cause: null,
      output: {
        cluster: CLUSTER,
        instanceGroups: [],
        force: false,
        cloudOnly: false,
        update: false,
        parallelGroups: 1,
      },
    });
    expect(out.executionArn).toMatch(
      /^arn:aws:states:us-east-1:\d{12}:execution:kopsless-rolling-update:/,
    );
    expect(out.historyEvents).toBeGreaterThan(out.transitions);
    expect(await lockExists()).toBe(false);
  }, 180_000);

  it.each([
    ['{}', 'cluster: Required value: expected string'],
    ['{"cluster":1}', 'cluster: expected string, got number'],
  ])(
    'fails rolling-update with %s naming the field, takes no lock and changes no status',
    async (input, cause) => {
      const statusBefore = await object(`${CLUSTER}/status.json`);

      const result = await kopsless(
        ['local', 'start-execution', 'rolling-update', '--input', input, '-o', 'json'],
        env,
      );

      expect(result.code).toBe(1);
      const out = JSON.parse(result.stdout);
      expect(Object.keys(out)).toEqual(KEYS);
      expect(out).toMatchObject({
        status: 'FAILED',
        error: 'InvalidInputError',
        cause,
        output: null,
      });
      // ExecutionStarted, ValidateInput entered / scheduled / started / failed, ExecutionFailed.
      expect(out).toMatchObject({ historyEvents: 6, transitions: 1 });
      expect(await lockExists()).toBe(false);
      expect(await object(`${CLUSTER}/status.json`)).toBe(statusBefore);
    },
    60_000,
  );

  it('prints the failure on stderr in text mode', async () => {
    const result = await kopsless(
      [
        'local',
        'start-execution',
        'delete-cluster',
        '--input',
        '{"cluster":"seed.example.com","yes":true}',
      ],
      env,
    );

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAILED in /m);
    expect(result.stderr).toContain('InvalidInputError: yes: Forbidden: unknown field');
  }, 60_000);

  it('refuses an unknown state machine and input that is not JSON as usage errors (exit 2)', async () => {
    const machine = await kopsless(
      ['local', 'start-execution', 'resize-cluster', '--input', '{}'],
      env,
    );
    const notJson = await kopsless(
      ['local', 'start-execution', 'delete-cluster', '--input', '{cluster:'],
      env,
    );

    expect(machine.code).toBe(2);
    expect(machine.stderr).toContain(
      'unknown state machine "resize-cluster": use one of create-cluster, update-cluster, rolling-update, delete-cluster',
    );
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain('--input: not JSON');
  }, 60_000);

  it('deletes the cluster it created', async () => {
    const result = await kopsless(
      [
        'local',
        'start-execution',
        'delete-cluster',
        '--input',
        JSON.stringify({ cluster: CLUSTER }),
        '-o',
        'json',
      ],
      env,
    );

    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).status).toBe('SUCCEEDED');
    expect(await object(`${CLUSTER}/status.json`)).toBeUndefined();
  }, 180_000);
});
