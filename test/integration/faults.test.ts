import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoScalingApi } from '../../src/aws/autoscaling.js';
import { cloudFormationStackApi } from '../../src/aws/cloudformation.js';
import { inventoryApi } from '../../src/aws/inventory.js';
import { route53Api } from '../../src/aws/route53.js';
import {
  type FaultPlan,
  installFaults,
  parseFaultSettings,
  removeFaults,
} from '../../src/local/instrument/faults.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { checkManifest } from '../../src/manifest/check.js';
import { groupName } from '../../src/planning/names.js';
import { discover } from '../../src/stages/delete-cluster.js';
import { readFixture } from '../helpers.js';
import { startTestEnvironment, type TestEnvironment } from '../support/cluster.js';

// The whole lifecycle (create, update + roll, delete) with AWS answering a share of the handlers'
// calls with throttles and 503s, some of them after the call took effect, at a fixed seed.
const cluster = 'faults.example.com';
const FAULTS = 'throttle=0.2,5xx=0.05,lost=0.3,latency=50ms,seed=7';
let env: TestEnvironment;
let plan: FaultPlan;

/** The seed cluster without nodes-us-east-1a: a control plane and one node group keep the run short. */
const manifest = readFixture('seed.yaml')
  .replaceAll('seed.example.com', cluster)
  .split(/^---$/m)
  .filter((doc) => !/name: nodes-us-east-1a\n/.test(doc))
  .join('---');

async function groupInstances(name: string): Promise<string[]> {
  const [group] = await autoScalingApi(new AutoScalingClient({})).describeGroups([
    groupName(name, cluster),
  ]);
  return (group?.instances ?? []).map((i) => i.instanceId).sort();
}

const leftovers = () =>
  discover(cluster, {
    store: env.store,
    stacks: cloudFormationStackApi(new CloudFormationClient({})),
    dns: route53Api(new Route53Client({})),
    inventory: inventoryApi({
      ec2: new EC2Client({}),
      autoscaling: new AutoScalingClient({}),
      iam: new IAMClient({}),
      route53: new Route53Client({}),
    }),
  });

beforeAll(async () => {
  env = await startTestEnvironment();
  plan = installFaults(parseFaultSettings(FAULTS));
}, 60_000);
afterAll(async () => {
  removeFaults();
  await env?.stop();
});

describe(`lifecycle under KOPSLESS_FAULTS="${FAULTS}"`, () => {
  it('creates the cluster', async () => {
    const result = await runStateMachine('create-cluster', { input: { manifest }, waitMs: 20 });

    expect(result.error).toBeUndefined();
    expect(await groupInstances('nodes-us-east-1b')).toHaveLength(1);
  }, 120_000);

  it('updates a group and rolls exactly its instance once', async () => {
    const before = await groupInstances('nodes-us-east-1b');
    const current = await env.store.readManifest(cluster);
    current.instanceGroups.find((ig) => ig.metadata.name === 'nodes-us-east-1b')!.spec.machineType =
      'm5.large';
    const check = checkManifest(
      [current.cluster, ...current.instanceGroups].map((d) => JSON.stringify(d)).join('\n---\n'),
    );
    await env.store.writeSpecs(check.manifest!, check.completed!);

    const update = await runStateMachine('update-cluster', { input: { cluster }, waitMs: 20 });
    const roll = await runStateMachine('rolling-update', {
      input: { cluster, instanceGroups: [], force: false, cloudOnly: false },
      waitMs: 20,
    });

    expect(update.error).toBeUndefined();
    expect(roll.error).toBeUndefined();
    const after = await groupInstances('nodes-us-east-1b');
    expect(after).toHaveLength(1);
    expect(after).not.toEqual(before);
  }, 120_000);

  it('deletes the cluster and leaves nothing behind', async () => {
    const result = await runStateMachine('delete-cluster', { input: { cluster }, waitMs: 20 });

    expect(result.error).toBeUndefined();
    removeFaults();
    expect(await leftovers()).toEqual([]);
    expect(await env.objects.list(`${cluster}/`)).toEqual([]);
  }, 120_000);

  // Which write loses its answer depends on the order of every call before it, so this run holds
  // only that some did; test/aws/retried-writes.test.ts loses the answer of each create on purpose.
  it('injected faults of every kind on the way, answers lost after writes included', () => {
    expect(plan.counts.throttles).toBeGreaterThan(0);
    expect(plan.counts.serverErrors).toBeGreaterThan(0);
    expect(plan.log.filter((f) => f.fault === 'lost').length).toBeGreaterThan(0);
  });
});
