import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimClock } from '../../src/local/sfn/sim-clock.js';
import {
  type LocalExecutionResult,
  loadDefinition,
  type ProgressEvent,
  runStateMachine,
} from '../../src/local/sfn/step-functions.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { s3ObjectStore } from '../../src/state/object-store.js';
import { ROOT } from '../helpers.js';
import { startTestBackend, type TestBackend } from '../support/moto.js';

// The real create-cluster state machine and handlers against moto, in simulated time: the run's
// simulated duration is exactly the sum of the Waits it went through (one execution, no retries
// with pauses expected), and what the handlers stamp is simulated time.
let backend: TestBackend;
const START = '2026-03-01T00:00:00.000Z';
const clock = new SimClock(START);
const waits: string[] = [];
let result: LocalExecutionResult;

beforeAll(async () => {
  backend = await startTestBackend();
  const input = JSON.parse(
    readFileSync(join(ROOT, 'events', 'create-cluster.execution-input.json'), 'utf8'),
  );
  result = await runStateMachine('create-cluster', {
    input,
    clock,
    onProgress: (e: ProgressEvent) =>
      void (e.stateType === 'Wait' && e.kind === 'entered' && waits.push(e.state)),
  });
}, 180_000);
afterAll(() => backend?.stop());

describe('create-cluster under a simulated clock', () => {
  it('succeeds, its simulated duration the sum of the Waits it entered', () => {
    const states = loadDefinition('create-cluster', 'us-east-1').States;
    const waited = waits.reduce((sum, name) => sum + (states[name]!.Seconds as number), 0);

    expect(result.status).toBe('SUCCEEDED');
    expect(waits.length).toBeGreaterThan(0);
    expect(clock.elapsedSeconds()).toBe(waited);
    expect(result.stoppedAt).toBe(clock.now().toISOString());
  });

  it('stamps the cluster status in simulated time', async () => {
    const store = new ClusterStore(s3ObjectStore(new S3Client({}), backend.bucket));

    const status = await store.readStatus('seed.example.com');

    expect(status?.phase).toBe('Ready');
    expect(Date.parse(status!.updatedAt)).toBeGreaterThanOrEqual(Date.parse(START));
    expect(Date.parse(status!.updatedAt)).toBeLessThanOrEqual(clock.now().getTime());
  });
});
