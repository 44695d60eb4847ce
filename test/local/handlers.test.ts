import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsClientSettings, clientConfig } from '../../src/aws/clients.js';
import { readConfig } from '../../src/config.js';
import { type MotoProcess, startMoto, stopMoto } from '../../src/local/moto/moto.js';
import {
  type LocalSettings,
  lambdaContext,
  localHandler,
  localSettingsFromEnv,
} from '../../src/local/sfn/handlers.js';
import type { LockLease } from '../../src/state/cluster-store.js';
import { s3ObjectStore } from '../../src/state/object-store.js';

/** Settings for a bucket of the test's moto, as the CLI builds them: nothing read from or written to process.env. */
function settingsFor(
  aws: AwsClientSettings,
  stateBucket: string,
  lockLeaseSeconds: number,
): LocalSettings {
  const config = readConfig({
    STATE_BUCKET: stateBucket,
    AWS_REGION: 'us-east-1',
    LOCK_LEASE_SECONDS: String(lockLeaseSeconds),
  });
  return { config, runtime: { aws, logLevel: 'SILENT' } };
}

describe('local handlers built from explicit settings', () => {
  let moto: MotoProcess;
  let dir: string;
  let aws: AwsClientSettings;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kopsless-handlers-'));
    moto = await startMoto({ dir, detached: false });
    aws = {
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    };
    const s3 = new S3Client(clientConfig(aws));
    for (const bucket of ['state-a', 'state-b'])
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    s3.destroy();
  }, 60_000);
  afterAll(() => {
    if (moto) stopMoto(moto.pid);
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps two settings apart in one process: each handler writes to its own bucket with its own lease, and process.env is not written', async () => {
    const envBefore = { ...process.env };
    const a = settingsFor(aws, 'state-a', 600);
    const b = settingsFor(aws, 'state-b', 3600);
    const lock = { action: 'acquireLock', cluster: 'two.example.com', operation: 'create' };

    const leaseA = (await (
      await localHandler('WriteStateFunction', a)
    )({ ...lock, owner: 'run-a' }, lambdaContext('a'))) as LockLease;
    const leaseB = (await (
      await localHandler('WriteStateFunction', b)
    )({ ...lock, owner: 'run-b' }, lambdaContext('b'))) as LockLease;

    const seconds = (lease: LockLease) =>
      (Date.parse(lease.expiresAt) - Date.parse(lease.acquiredAt)) / 1000;
    expect([seconds(leaseA), seconds(leaseB)]).toEqual([600, 3600]);
    const ownerIn = async (bucket: string) =>
      JSON.parse(
        (await s3ObjectStore(new S3Client(clientConfig(aws)), bucket).get('two.example.com/lock'))!
          .body,
      ).owner as string;
    expect([await ownerIn('state-a'), await ownerIn('state-b')]).toEqual(['run-a', 'run-b']);
    // Powertools stamps its user agent into the environment when first imported: not ours to keep out.
    const { AWS_SDK_UA_APP_ID: _ua, ...envAfter } = process.env;
    expect(envAfter).toEqual(
      Object.fromEntries(Object.entries(envBefore).filter(([k]) => k !== 'AWS_SDK_UA_APP_ID')),
    );
  });

  it('builds a function once per settings object and anew for another one', async () => {
    const a = settingsFor(aws, 'state-a', 600);
    const b = settingsFor(aws, 'state-a', 600);

    const first = await localHandler('LaunchClusterFunction', a);
    const again = await localHandler('LaunchClusterFunction', a);
    const other = await localHandler('LaunchClusterFunction', b);

    expect(again).toBe(first);
    expect(other).not.toBe(first);
  });

  it('refuses to build the API function from settings without its state machines, naming what is missing', async () => {
    const settings = settingsFor(aws, 'state-a', 600);

    await expect(localHandler('ApiFunction', settings)).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining('no api'),
    });
  });
});

describe('localSettingsFromEnv', () => {
  const env = {
    STATE_BUCKET: 'bucket',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
    AWS_ACCESS_KEY_ID: 'k',
    AWS_SECRET_ACCESS_KEY: 's',
  };

  it('makes the endpoint, region, credentials and attempts the SDK would find in the environment explicit', () => {
    const settings = localSettingsFromEnv(env);

    expect(settings.runtime?.aws).toEqual({
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
      maxAttempts: 5,
    });
  });

  it('gives an unchanged environment the same settings (warm handlers) and a changed one new settings', () => {
    const first = localSettingsFromEnv(env);

    const same = localSettingsFromEnv({ ...env });
    const changed = localSettingsFromEnv({ ...env, STATE_BUCKET: 'other' });

    expect(same).toBe(first);
    expect(changed).not.toBe(first);
    expect(changed.config.stateBucket).toBe('other');
  });
});
