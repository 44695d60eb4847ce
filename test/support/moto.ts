import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  isAlive,
  isAnswering,
  type MotoProcess,
  startMoto,
  stopMoto,
} from '../../src/local/moto/moto.js';
import { ensureSecretsKey } from '../../src/local/moto/secrets-key.js';
import { ensureClusterStackPolicies } from '../../src/local/moto/stack-policies.js';
import { SHARED_MOTO_RECORD } from './shared-moto-record.js';

/**
 * moto_server for one test file: 127.0.0.1 only, a free port. Points this process's AWS SDK at it.
 *
 * Under vitest the files of one worker slot (VITEST_POOL_ID: never two files at once) share one
 * moto_server, emptied with moto's own reset before each file takes it: a file sees a moto as
 * fresh as a new one (no bucket, no zone, no instance), without paying for a new Python process
 * and moto's first EC2 call (some 2 s of CPU and several of waiting each). test/global-setup.ts
 * stops every shared one by its PID when the run ends. A moto that does not answer its reset
 * (or has died) is stopped and replaced by a new one. A second backend in the same file, or one
 * outside vitest's workers, gets a private moto, stopped by PID by the file that started it.
 */

/** The public hosted zone every test account has, as a user's account has its domain's zone. */
export const TEST_ZONE = 'example.com';

/** Makes the public hosted zone `name` in the backend the SDK points at; returns its ID. */
export async function createPublicZone(name: string): Promise<string> {
  const route53 = new Route53Client({});
  try {
    const out = await route53.send(
      new CreateHostedZoneCommand({ Name: name, CallerReference: `test-${name}-${Date.now()}` }),
    );
    return (out.HostedZone?.Id ?? '').replace('/hostedzone/', '');
  } finally {
    route53.destroy();
  }
}
export interface TestBackend {
  moto: MotoProcess;
  bucket: string;
  /** The ID of TEST_ZONE, the account's public zone. */
  zoneId: string;
  stop: () => void;
}

/** The moto_server this file's backend gets, and how the file gives it back. */
interface Lease {
  moto: MotoProcess;
  release: () => void;
}

/** The slot's shared moto is lent to one backend of this file at a time. */
let lent = false;

/**
 * The directory of the shared motos' records, which the global setup provides. Loaded only under
 * vitest: `npm run check:iam` starts test backends too, outside any vitest run, where importing
 * vitest throws.
 */
async function sharedMotoDir(): Promise<string | undefined> {
  if (!process.env.VITEST) return undefined;
  try {
    const { inject } = await import('vitest');
    return inject('sharedMotoDir');
  } catch {
    return undefined;
  }
}

/** Empties every backend of a moto_server (moto's /moto-api/reset); false if it does not answer so. */
async function resetMoto(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/reset`, {
      method: 'POST',
      signal: AbortSignal.timeout(30_000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

async function privateMoto(): Promise<Lease> {
  const dir = mkdtempSync(join(tmpdir(), 'kopsless-moto-'));
  const moto = await startMoto({ dir, detached: false });
  return {
    moto,
    release: () => {
      stopMoto(moto.pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function leaseMoto(): Promise<Lease> {
  const shared = await sharedMotoDir();
  const slot = process.env.VITEST_POOL_ID;
  if (!shared || !slot || !existsSync(shared) || lent) return privateMoto();
  const record = join(shared, `${slot}${SHARED_MOTO_RECORD}`);
  let moto: MotoProcess | undefined;
  if (existsSync(record)) {
    const previous = JSON.parse(readFileSync(record, 'utf8')) as MotoProcess;
    if (
      isAlive(previous.pid) &&
      (await isAnswering(previous.endpoint)) &&
      (await resetMoto(previous.endpoint))
    )
      moto = previous;
    else stopMoto(previous.pid);
  }
  if (!moto) {
    const dir = join(shared, slot);
    mkdirSync(dir, { recursive: true });
    // Detached: it outlives this file's worker process; the run's teardown stops it by PID.
    moto = await startMoto({ dir, detached: true });
    writeFileSync(record, JSON.stringify(moto));
  }
  lent = true;
  return {
    moto,
    release: () => {
      lent = false;
    },
  };
}

export async function startTestBackend(bucket = 'kopsless-test-state'): Promise<TestBackend> {
  const { moto, release } = await leaseMoto();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    STATE_BUCKET: bucket,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    STACK_TIMEOUT_SECONDS: '60',
    GROUPS_TIMEOUT_SECONDS: '60',
    DNS_TIMEOUT_SECONDS: '30',
    DRAIN_TIMEOUT_SECONDS: '3',
    VALIDATION_TIMEOUT_SECONDS: '15',
    REPLACEMENT_TIMEOUT_SECONDS: '30',
  });
  const s3 = new S3Client({});
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
  const zoneId = await createPublicZone(TEST_ZONE);
  // As a deployment has template.yaml's SecretsKey: every secret is written under it.
  process.env.SECRETS_KEY_ARN = await ensureSecretsKey({});
  // As a deployment has the ClusterStack*Policy and ClusterStackBoundary: each cluster's stack is
  // made under its own stack role.
  Object.assign(process.env, await ensureClusterStackPolicies({}, 'us-east-1'));
  return {
    moto,
    bucket,
    zoneId,
    stop: release,
  };
}
