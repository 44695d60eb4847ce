import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { observeAwsCalls, type AwsCall } from '../../src/local/aws-calls.js';
import { runStateMachine } from '../../src/local/step-functions.js';
import { readFixture } from '../helpers.js';
import { createCluster, startTestEnvironment, type TestEnvironment } from '../support/cluster.js';

/**
 * What a forced roll asks AWS, per replaced instance, counted at the SDK (S3 included) across
 * every function the rolling-update execution invokes. Issue 12 asks for at most 10 per replaced
 * node at 1,000 nodes; this pins the figure at the seed cluster grown to 4 nodes per group (a
 * control plane and 8 nodes, maxSurge 1), so a step that starts re-reading the state store fails.
 */
const CLUSTER = 'calls.example.com';
const NODES_PER_GROUP = 4;
/** Measured 2026-11-25: see the report of the branch; the bound leaves headroom for noise only. */
const MAX_CALLS_PER_REPLACED_NODE = 12;

let env: TestEnvironment;

beforeAll(async () => {
  env = await startTestEnvironment();
  const manifest = readFixture('seed.yaml')
    .replaceAll('seed.example.com', CLUSTER)
    .replace(/(name: nodes-us-east-1[ab]\nspec:\n(?:  .*\n)*?)  maxSize: 1\n  minSize: 1\n/g, `$1  maxSize: ${NODES_PER_GROUP}\n  minSize: ${NODES_PER_GROUP}\n`);
  await createCluster(env, manifest, CLUSTER);
}, 240_000);

afterAll(async () => env?.stop());

describe('AWS calls of a forced rolling update', () => {
  it(`stays within ${MAX_CALLS_PER_REPLACED_NODE} calls per replaced instance`, async () => {
    const calls: AwsCall[] = [];
    const stop = observeAwsCalls({ before: (call) => void calls.push(call) });
    let result;
    try {
      result = await runStateMachine('rolling-update', { input: { cluster: CLUSTER, instanceGroups: [], force: true, cloudOnly: false }, waitMs: 5 });
    } finally {
      stop();
    }
    expect(result.status, `${result.error?.name}: ${result.error?.cause}`).toBe('SUCCEEDED');
    const replaced = 1 + 2 * NODES_PER_GROUP;
    const byOperation: Record<string, number> = {};
    for (const c of calls) byOperation[`${c.functionId} ${c.service}:${c.operation}`] = (byOperation[`${c.functionId} ${c.service}:${c.operation}`] ?? 0) + 1;
    console.log(`forced roll: ${calls.length} AWS calls for ${replaced} replaced instances (${(calls.length / replaced).toFixed(1)} per instance)`, byOperation);
    expect(calls.length / replaced).toBeLessThanOrEqual(MAX_CALLS_PER_REPLACED_NODE);
  }, 600_000);
});
