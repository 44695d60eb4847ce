import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoScalingApi } from '../../src/aws/autoscaling.js';
import { bundleSummary } from '../../src/local/sfn/bundles.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { groupName } from '../../src/planning/names.js';
import { readFixture } from '../helpers.js';
import { startTestEnvironment, type TestEnvironment } from '../support/cluster.js';

// create, rolling-update and delete with KOPSLESS_BUNDLES=1: every Task invokes its function's
// bundle, built as `sam build` builds it, in a process with the template's environment.
const cluster = 'bundles.example.com';
const manifest = readFixture('seed.yaml').replaceAll('seed.example.com', cluster);
let env: TestEnvironment;
const previous = process.env.KOPSLESS_BUNDLES;
/** Lambda invocations the runs reported, to compare with what the bundles served. */
let invocations = 0;

async function groupInstances(name: string): Promise<string[]> {
  const [group] = await autoScalingApi(new AutoScalingClient({})).describeGroups([
    groupName(name, cluster),
  ]);
  return (group?.instances ?? []).map((i) => i.instanceId).sort();
}

beforeAll(async () => {
  process.env.KOPSLESS_BUNDLES = '1';
  env = await startTestEnvironment();
}, 120_000);
afterAll(async () => {
  if (previous === undefined) delete process.env.KOPSLESS_BUNDLES;
  else process.env.KOPSLESS_BUNDLES = previous;
  await env?.stop();
});

describe('the lifecycle from the bundles (KOPSLESS_BUNDLES=1)', () => {
  it('creates the cluster', async () => {
    const result = await runStateMachine('create-cluster', { input: { manifest }, waitMs: 20 });
    invocations += result.lambdaInvocations ?? 0;

    expect(result.error).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
    await env.sim.backend.cluster(cluster);
  }, 300_000);

  it('replaces a forced instance group, draining its node through the Kubernetes API', async () => {
    const before = await groupInstances('nodes-us-east-1a');

    const result = await runStateMachine('rolling-update', {
      input: { cluster, instanceGroups: ['nodes-us-east-1a'], force: true, cloudOnly: false },
      waitMs: 20,
    });
    invocations += result.lambdaInvocations ?? 0;

    expect(result.error).toBeUndefined();
    const after = await groupInstances('nodes-us-east-1a');
    expect(after).toHaveLength(before.length);
    expect(after.filter((id) => before.includes(id))).toEqual([]);
  }, 300_000);

  it('deletes the cluster and its state', async () => {
    const result = await runStateMachine('delete-cluster', { input: { cluster }, waitMs: 20 });
    invocations += result.lambdaInvocations ?? 0;

    expect(result.error).toBeUndefined();
    expect(await env.objects.list(`${cluster}/`)).toEqual([]);
  }, 300_000);

  it("served every Lambda invocation of the three runs from a bundle, and the cluster's API function from its layer", () => {
    expect(invocations).toBeGreaterThan(0);
    const summary = bundleSummary();
    expect(summary).toMatch(
      new RegExp(
        `^; ${invocations} invocations of [5-8] functions from their bundles, \\d+ of the clusters' API functions from their layer$`,
      ),
    );
    // The drain's Kubernetes requests: the shared functions reached the cluster through it.
    expect(Number(/, (\d+) of the clusters'/.exec(summary)![1])).toBeGreaterThan(0);
  });
});
