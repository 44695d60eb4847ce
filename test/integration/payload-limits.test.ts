import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAYLOAD_LIMIT_BYTES } from '../../src/local/sfn/history.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { MAX_MANIFEST_BYTES } from '../../src/stages/inputs.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { s3ObjectStore } from '../../src/state/object-store.js';
import { readFixture } from '../helpers.js';
import { startTestBackend, type TestBackend } from '../support/moto.js';

// The largest inputs ValidateInput accepts, run through the real state machines against moto:
// the local runner fails a state whose input or output passes 256 KiB as Step Functions does, so
// SUCCEEDED means no state grew past it after the lock. The cluster is small; the payload is not.
let backend: TestBackend;
let store: ClusterStore;

beforeAll(async () => {
  backend = await startTestBackend();
  store = new ClusterStore(s3ObjectStore(new S3Client({}), backend.bucket));
}, 60_000);
afterAll(() => backend?.stop());

const CLUSTER = 'payload.example.com';

/** The seed manifest padded with a YAML comment to exactly `bytes`. */
function paddedManifest(bytes: number): string {
  const text = `${readFixture('seed.yaml').replaceAll('seed.example.com', CLUSTER).trimEnd()}\n`;
  const room = bytes - Buffer.byteLength(text) - 3;
  return `${text}# ${'x'.repeat(room)}\n`;
}

/** Runs a machine, recording the largest state output it saw. */
async function runMeasured(machine: Parameters<typeof runStateMachine>[0], input: unknown) {
  let largest = 0;
  const result = await runStateMachine(machine, {
    input: input as never,
    waitMs: 20,
    onProgress: (p) => {
      if (p.kind === 'exited')
        largest = Math.max(largest, Buffer.byteLength(JSON.stringify(p.output ?? null)));
    },
  });
  return { result, largest };
}

describe('the largest accepted inputs stay under 256 KiB in every state', () => {
  it('create-cluster with a manifest of the largest accepted size succeeds', async () => {
    const manifest = paddedManifest(MAX_MANIFEST_BYTES);
    expect(Buffer.byteLength(manifest)).toBe(MAX_MANIFEST_BYTES);

    const { result, largest } = await runMeasured('create-cluster', { manifest });

    expect(result.error, JSON.stringify(result.error)).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
    expect(largest).toBeGreaterThan(MAX_MANIFEST_BYTES);
    expect(largest).toBeLessThan(PAYLOAD_LIMIT_BYTES);
  }, 240_000);

  it('create-cluster refuses one byte more at ValidateInput, before the lock', async () => {
    const { result } = await runMeasured('create-cluster', {
      manifest: paddedManifest(MAX_MANIFEST_BYTES + 1),
    });

    expect(result).toMatchObject({
      status: 'FAILED',
      error: { name: 'InvalidInputError', cause: expect.stringContaining('manifest: Too long') },
    });
    expect(await store.readLock(CLUSTER)).toBeUndefined();
  }, 60_000);

  it('rolling-update naming every instance group of the cluster succeeds', async () => {
    const instanceGroups = (await store.readManifest(CLUSTER)).instanceGroups.map(
      (ig) => ig.metadata.name,
    );

    const { result } = await runMeasured('rolling-update', {
      cluster: CLUSTER,
      instanceGroups,
      cloudOnly: true,
      update: true,
    });

    expect(result.error, JSON.stringify(result.error)).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
  }, 240_000);
});
