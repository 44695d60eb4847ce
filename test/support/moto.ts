import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { type MotoProcess, startMoto, stopMoto } from '../../src/local/moto/moto.js';
import { ensureSecretsKey } from '../../src/local/moto/secrets-key.js';
import { ensureClusterStackPolicies } from '../../src/local/moto/stack-policies.js';

/**
 * A private moto_server for one test file: 127.0.0.1 only, a free port, stopped by PID in
 * the same file's afterAll. Points this process's AWS SDK at it.
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

export async function startTestBackend(bucket = 'kopsless-test-state'): Promise<TestBackend> {
  const dir = mkdtempSync(join(tmpdir(), 'kopsless-moto-'));
  const moto = await startMoto({ dir, detached: false });
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
    stop: () => {
      stopMoto(moto.pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
