import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_SESSION_TAG } from '../../src/aws/cluster-credentials.js';
import { STATE_MACHINES, type StateMachineName } from '../../src/functions-registry.js';
import { createApiHandler } from '../../src/handlers/api.js';
import { localActorRoleArn } from '../../src/local/actor-roles.js';
import { type AwsCall, inFunction, observeAwsCalls } from '../../src/local/instrument/aws-calls.js';
import { startTestBackend, type TestBackend } from '../support/moto.js';
import { apiEvent, MACHINE } from './api-harness.js';
import { lambdaContext } from './support.js';

// The API acting on moto: moto issues the sessions, the recorder sees which key signs each call.
let backend: TestBackend;
const CLUSTERS = ['a.example.com', 'b.example.com'];
const ROLE = localActorRoleArn('ApiActorRole');

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

describe('a function acting for one cluster at a time', () => {
  it('lists the clusters with its own key and reads each with a session tagged for that cluster alone', async () => {
    const handler = createApiHandler({
      stateBucket: backend.bucket,
      stateMachines: Object.fromEntries(
        Object.values(STATE_MACHINES).map((name) => [name, MACHINE(name)]),
      ) as Record<StateMachineName, string>,
      clusterActorRoleArn: ROLE,
    });
    const calls: Array<{ call: AwsCall; output?: unknown }> = [];
    const stop = observeAwsCalls({
      after: (call, { output }) => void calls.push({ call, output }),
    });

    try {
      await inFunction('ApiFunction', () =>
        handler(apiEvent('GET', '/clusters') as never, lambdaContext),
      );
    } finally {
      stop();
    }

    const sessions = new Map<string, string>();
    for (const { call, output } of calls.filter((c) => c.call.operation === 'AssumeRole')) {
      const input = call.input as { RoleArn: string; Tags: Array<{ Key: string; Value: string }> };
      expect(input.RoleArn).toBe(ROLE);
      expect(input.Tags.map((t) => t.Key)).toEqual([CLUSTER_SESSION_TAG]);
      const key = (output as { output: { Credentials: { AccessKeyId: string } } }).output
        .Credentials.AccessKeyId;
      sessions.set(key, input.Tags[0]!.Value);
    }
    const signedBy = (operation: string, key?: string) =>
      calls
        .filter((c) => c.call.operation === operation && (key ? c.call.input.Key === key : true))
        .map((c) => sessions.get(c.call.accessKeyId ?? '') ?? 'own');
    expect([...sessions.values()].sort()).toEqual(CLUSTERS);
    expect(signedBy('ListObjectsV2')).toEqual(['own']);
    expect(signedBy('GetObject', 'a.example.com/config')).toEqual(['a.example.com']);
    expect(signedBy('GetObject', 'b.example.com/config')).toEqual(['b.example.com']);
  }, 60_000);
});
