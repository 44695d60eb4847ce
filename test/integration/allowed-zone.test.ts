import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSettingsFromEnv } from '../../src/local/sfn/handlers.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { s3ObjectStore } from '../../src/state/object-store.js';
import { readFixture } from '../helpers.js';
import { createFromFlags, stackExists } from '../support/backend-create.js';
import { createPublicZone, startTestBackend, type TestBackend } from '../support/moto.js';

// A deployment whose HostedZoneId parameter names one zone: a cluster whose records would go
// into another zone of the account is refused at create, before anything is written.

let backend: TestBackend;
/** The only zone the deployment may write records in; the clusters' own zone is example.com. */
let allowedZoneId: string;

const manifest = (cluster: string) =>
  readFixture('seed.yaml').replaceAll('seed.example.com', cluster);

const stored = (cluster: string) =>
  s3ObjectStore(new S3Client({ forcePathStyle: true }), backend.bucket).list(`${cluster}/`);

beforeAll(async () => {
  backend = await startTestBackend('kopsless-allowed-zone-test');
  allowedZoneId = await createPublicZone('allowed.example.org');
}, 60_000);
afterAll(() => backend?.stop());

describe('a zone outside the deployment HostedZoneId', () => {
  it('is refused by the create state machine, naming the cluster, the zone found and the zone allowed', async () => {
    const cluster = 'outside.example.com';

    const result = await runStateMachine('create-cluster', {
      input: { manifest: manifest(cluster) },
      settings: localSettingsFromEnv({ ...process.env, ALLOWED_HOSTED_ZONE_ID: allowedZoneId }),
      waitMs: 20,
    });

    expect(result.error?.name).toBe('SpecInvalidError');
    expect(result.error?.cause).toContain(
      `spec.dnsZone: cluster ${cluster}: its records would go into hosted zone example.com (${backend.zoneId}), but this deployment may write records only in hosted zone ${allowedZoneId} (its HostedZoneId parameter)`,
    );
    expect(await stored(cluster)).toEqual([]);
    expect(await stackExists(cluster)).toBe(false);
  }, 60_000);

  it('is refused by `kopsless create` before anything is written', async () => {
    const cluster = 'outside-cli.example.com';
    const { code, err } = await createFromFlags(
      { name: cluster, zones: ['us-east-1a'], dns: 'public' },
      { allowedHostedZoneId: allowedZoneId },
    );

    expect(code).toBe(1);
    expect(err).toEqual([
      `spec.dnsZone: cluster ${cluster}: its records would go into hosted zone example.com (${backend.zoneId}), but this deployment may write records only in hosted zone ${allowedZoneId} (its HostedZoneId parameter)`,
    ]);
    expect(await stored(cluster)).toEqual([]);
  }, 60_000);
});
