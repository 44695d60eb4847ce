import { CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLUSTER_HASH_SESSION_TAG,
  CLUSTER_SESSION_TAG,
  clusterSessionTags,
  VPC_SESSION_TAG,
} from '../../src/aws/cluster-credentials.js';
import { clusterZoneVpcApi } from '../../src/aws/zone-vpc.js';
import { readConfig } from '../../src/config.js';
import { STATE_MACHINES, type StateMachineName } from '../../src/functions-registry.js';
import { createApiHandler } from '../../src/handlers/api.js';
import { createWatchEniHandler } from '../../src/handlers/watch-eni.js';
import { localActorRoleArn } from '../../src/local/actor-roles.js';
import { type AwsCall, inFunction, observeAwsCalls } from '../../src/local/instrument/aws-calls.js';
import { clusterHash } from '../../src/planning/names.js';
import { startTestBackend, type TestBackend } from '../support/moto.js';
import { apiEvent, MACHINE } from './api-harness.js';
import { lambdaContext } from './support.js';

// The API acting on moto: moto issues the sessions, the recorder sees which key signs each call.
let backend: TestBackend;
const CLUSTERS = ['a.example.com', 'b.example.com'];
const ROLE = localActorRoleArn('ApiActorRole');
const WATCHER_ROLE = localActorRoleArn('WatchEniActorRole');

beforeAll(async () => {
  backend = await startTestBackend('kopsless-sessions-state');
  const s3 = new S3Client({});
  for (const cluster of CLUSTERS)
    await s3.send(
      new PutObjectCommand({ Bucket: backend.bucket, Key: `${cluster}/config`, Body: 'x' }),
    );
  s3.destroy();
}, 60_000);
afterAll(() => backend?.stop());

/** Runs `act` as `functionId` and returns the session each AssumeRole issued and who signed each call. */
async function recordSessions(functionId: string, act: () => Promise<unknown>) {
  const calls: Array<{ call: AwsCall; output?: unknown }> = [];
  const stop = observeAwsCalls({ after: (call, { output }) => void calls.push({ call, output }) });
  try {
    await inFunction(functionId, act);
  } finally {
    stop();
  }
  const sessions = new Map<string, string>();
  const roles = new Set<string>();
  for (const { call, output } of calls.filter((c) => c.call.operation === 'AssumeRole')) {
    const input = call.input as { RoleArn: string; Tags: Array<{ Key: string; Value: string }> };
    roles.add(input.RoleArn);
    const key = (output as { output: { Credentials: { AccessKeyId: string } } }).output.Credentials
      .AccessKeyId;
    sessions.set(key, input.Tags.map((t) => `${t.Key}=${t.Value}`).join(','));
  }
  /** Who signed each call of `operation` on `key` (a GetObject's Key, a listing's Prefix). */
  const signedBy = (operation: string, key: string | undefined) =>
    calls
      .filter(
        (c) => c.call.operation === operation && (c.call.input.Key ?? c.call.input.Prefix) === key,
      )
      .map((c) => sessions.get(c.call.accessKeyId ?? '') ?? 'own');
  return { sessions, roles: [...roles], signedBy };
}

/** A session's tags as recordSessions writes them: those of acting for `cluster`. */
function taggedFor(cluster: string): string {
  return clusterSessionTags(cluster)
    .map((t) => `${t.Key}=${t.Value}`)
    .join(',');
}

describe('a function acting for one cluster at a time', () => {
  it('makes the ENI watcher walk the clusters with one session each', async () => {
    const config = readConfig({ ...process.env, CLUSTER_ACTOR_ROLE_ARN: WATCHER_ROLE });
    const handler = createWatchEniHandler(config, {
      aws: { endpoint: backend.moto.endpoint, region: 'us-east-1' },
    });

    const { sessions, roles, signedBy } = await recordSessions('WatchEniFunction', () =>
      // Neither cluster has a control plane to observe: the run fails after trying both.
      handler(
        { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} },
        lambdaContext,
      ).catch(() => undefined),
    );

    expect([...sessions.values()].sort()).toEqual(CLUSTERS.map(taggedFor));
    expect(roles).toEqual([WATCHER_ROLE]);
    // The folders with its own key; everything under a cluster's prefix with that cluster's session.
    expect(signedBy('ListObjectsV2', undefined)).toEqual(['own']);
    for (const cluster of CLUSTERS) {
      expect(new Set(signedBy('GetObject', `${cluster}/config`))).toEqual(
        new Set([taggedFor(cluster)]),
      );
      expect(new Set(signedBy('ListObjectsV2', `${cluster}/instancegroup/`))).toEqual(
        new Set([taggedFor(cluster)]),
      );
    }
  }, 60_000);

  it('lists the clusters with its own key and reads each with a session tagged for that cluster alone', async () => {
    const handler = createApiHandler({
      stateBucket: backend.bucket,
      stateMachines: Object.fromEntries(
        Object.values(STATE_MACHINES).map((name) => [name, MACHINE(name)]),
      ) as Record<StateMachineName, string>,
      clusterActorRoleArn: ROLE,
    });

    const { sessions, roles, signedBy } = await recordSessions('ApiFunction', () =>
      handler(apiEvent('GET', '/clusters') as never, lambdaContext),
    );

    expect([...sessions.values()].sort()).toEqual(CLUSTERS.map(taggedFor));
    expect(roles).toEqual([ROLE]);
    expect(signedBy('ListObjectsV2', undefined)).toEqual(['own']);
    expect(signedBy('GetObject', 'a.example.com/config')).toEqual([taggedFor('a.example.com')]);
    expect(signedBy('GetObject', 'b.example.com/config')).toEqual([taggedFor('b.example.com')]);
  }, 60_000);
});

describe("the association of a cluster's VPC with a private zone", () => {
  it('is made and undone with a session tagged with the cluster and that VPC, and only those', async () => {
    const aws = { endpoint: backend.moto.endpoint, region: 'us-east-1' };
    const ec2 = new EC2Client(aws);
    const route53 = new Route53Client(aws);
    const vpcOf = async () =>
      (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }))).Vpc!.VpcId!;
    const [userVpc, clusterVpc] = [await vpcOf(), await vpcOf()];
    const zone = await route53.send(
      new CreateHostedZoneCommand({
        Name: 'private.example.com',
        CallerReference: `zone-${userVpc}`,
        VPC: { VPCId: userVpc, VPCRegion: 'us-east-1' },
        HostedZoneConfig: { PrivateZone: true },
      }),
    );
    const zoneId = zone.HostedZone!.Id!;
    const launchRole = localActorRoleArn('LaunchClusterActorRole');
    const api = clusterZoneVpcApi(
      aws,
      { roleArn: launchRole, sessionPrefix: 'launch' },
      'a.example.com',
      route53,
    );
    const vpc = { vpcId: clusterVpc, region: 'us-east-1' };

    const calls: Array<{ call: AwsCall; output?: unknown }> = [];
    const stop = observeAwsCalls({
      after: (call, { output }) => void calls.push({ call, output }),
    });
    try {
      await inFunction('LaunchClusterFunction', async () => {
        await api.associate(zoneId, vpc);
        await api.disassociate(zoneId, vpc);
      });
    } finally {
      stop();
      ec2.destroy();
      route53.destroy();
    }

    const assumed = calls.filter((c) => c.call.operation === 'AssumeRole');
    expect(assumed.map((c) => c.call.input)).toEqual([
      expect.objectContaining({
        RoleArn: launchRole,
        Tags: [
          { Key: CLUSTER_SESSION_TAG, Value: 'a.example.com' },
          { Key: CLUSTER_HASH_SESSION_TAG, Value: clusterHash('a.example.com') },
          { Key: VPC_SESSION_TAG, Value: clusterVpc },
        ],
      }),
    ]);
    const sessionKey = (assumed[0]!.output as { output: { Credentials: { AccessKeyId: string } } })
      .output.Credentials.AccessKeyId;
    const signers = calls
      .filter(
        (c) =>
          c.call.operation.endsWith('VPCWithHostedZone') ||
          c.call.operation.endsWith('VPCFromHostedZone'),
      )
      .map((c) => [c.call.operation, c.call.accessKeyId === sessionKey]);
    expect(signers).toEqual([
      ['AssociateVPCWithHostedZone', true],
      ['DisassociateVPCFromHostedZone', true],
    ]);
  }, 60_000);
});
