import {
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { PLACEHOLDER_IP } from '../../src/planning/names.js';
import { editManifest, readFixture } from '../helpers.js';
import { createFromFlags, stackExists } from '../support/backend-create.js';
import { createCluster, startTestEnvironment, type TestEnvironment } from '../support/cluster.js';
import { createPublicZone, TEST_ZONE } from '../support/moto.js';

// The user's hosted zones on the local backend: records go into the one kOps would choose (or
// the one spec.dnsZone names, by name or ID), a zone the account lacks is refused before
// anything is written, and no zone is ever created or deleted.

let env: TestEnvironment;
/** A second, longer zone beside the account's example.com. */
const DEV_ZONE = 'dev.example.com';
let devZoneId: string;

const named = (cluster: string, dnsZone?: string) =>
  editManifest(readFixture('seed.yaml').replaceAll('seed.example.com', cluster), (c) => {
    if (dnsZone !== undefined) c.spec.dnsZone = dnsZone;
  });

async function zoneIds(): Promise<Record<string, string>> {
  const out = await new Route53Client({}).send(new ListHostedZonesCommand({}));
  return Object.fromEntries(
    (out.HostedZones ?? []).map((z) => [z.Name ?? '', (z.Id ?? '').replace('/hostedzone/', '')]),
  );
}

/** The A records of a zone: name -> values. */
async function aRecords(zoneId: string): Promise<Record<string, string[]>> {
  const out = await new Route53Client({}).send(
    new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }),
  );
  return Object.fromEntries(
    (out.ResourceRecordSets ?? [])
      .filter((r) => r.Type === 'A')
      .map((r) => [r.Name ?? '', (r.ResourceRecords ?? []).map((v) => v.Value ?? '')]),
  );
}

beforeAll(async () => {
  env = await startTestEnvironment();
  devZoneId = await createPublicZone(DEV_ZONE);
}, 60_000);
afterAll(async () => env?.stop());

describe('clusters in the user hosted zones', () => {
  const byDefault = 'a.dev.example.com';
  const byId = 'b.dev.example.com';

  beforeAll(async () => {
    await createCluster(env, named(byDefault), byDefault);
    await createCluster(env, named(byId, env.backend.zoneId), byId);
  }, 240_000);

  it('puts the records of a cluster without dnsZone in the longest matching zone', async () => {
    const records = await aRecords(devZoneId);

    expect(records[`api.${byDefault}.`]).toHaveLength(1);
    expect(records[`api.${byDefault}.`]).not.toContain(PLACEHOLDER_IP);
    expect(records[`api.internal.${byDefault}.`]).toHaveLength(1);
  });

  it('puts the records of a cluster whose dnsZone is a zone ID in that zone only', async () => {
    const [inRoot, inDev] = await Promise.all([aRecords(env.backend.zoneId), aRecords(devZoneId)]);

    expect(Object.keys(inRoot).sort()).toEqual([`api.${byId}.`, `api.internal.${byId}.`].sort());
    expect(inDev[`api.${byId}.`]).toBeUndefined();
  });

  it('creates no zone', async () => {
    expect(Object.keys(await zoneIds()).sort()).toEqual([`${DEV_ZONE}.`, `${TEST_ZONE}.`]);
  });

  it('deleting one cluster removes its records only, and no zone', async () => {
    const before = await aRecords(devZoneId);

    const result = await runStateMachine('delete-cluster', {
      input: { cluster: byId },
      waitMs: 20,
    });

    expect(result.error).toBeUndefined();
    expect(await aRecords(env.backend.zoneId)).toEqual({});
    expect(await aRecords(devZoneId)).toEqual(before);
    expect(Object.keys(await zoneIds()).sort()).toEqual([`${DEV_ZONE}.`, `${TEST_ZONE}.`]);
  }, 120_000);
});

describe('a zone the account lacks', () => {
  it('is refused by the create state machine with kOps message before anything is written', async () => {
    const cluster = 'c.example.com';

    const result = await runStateMachine('create-cluster', {
      input: { manifest: named(cluster, 'Z404NOTHERE') },
      waitMs: 20,
    });

    expect(result.error?.name).toBe('SpecInvalidError');
    expect(result.error?.cause).toContain(
      'spec.dnsZone: cannot find DNS Zone "Z404NOTHERE".  Please pre-create the zone and set up NS records so that it resolves',
    );
    expect(await env.objects.list(`${cluster}/`)).toEqual([]);
    expect(await stackExists(cluster)).toBe(false);
  }, 60_000);

  it('is refused for a name no zone matches, suggesting the zone to create', async () => {
    const cluster = 'd.nozone.test';

    const result = await runStateMachine('create-cluster', {
      input: { manifest: named(cluster) },
      waitMs: 20,
    });

    expect(result.error?.cause).toContain(
      'spec.dnsZone: No matching hosted zones found for ".d.nozone.test"; please create one (e.g. "nozone.test") first',
    );
    expect(await env.objects.list(`${cluster}/`)).toEqual([]);
  }, 60_000);

  it('is refused by `create cluster --dns-zone` before anything is written', async () => {
    const cluster = 'e.example.com';
    const { code, err } = await createFromFlags({
      name: cluster,
      zones: ['us-east-1a'],
      dnsZone: 'missing.example.org',
    });

    expect(code).toBe(1);
    expect(err).toEqual([
      'spec.dnsZone: cannot find DNS Zone "missing.example.org".  Please pre-create the zone and set up NS records so that it resolves',
    ]);
    expect(await env.objects.list(`${cluster}/`)).toEqual([]);
    expect(await stackExists(cluster)).toBe(false);
  }, 60_000);
});
