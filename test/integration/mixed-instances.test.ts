import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeForCluster } from '../../src/kube/from-store.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { groupName } from '../../src/planning/names.js';
import { editManifest, readFixture } from '../helpers.js';
import { createCluster, startTestEnvironment, type TestEnvironment } from '../support/cluster.js';

// A spot node group of several types, created and force-rolled on the local backend. moto keeps
// the MixedInstancesPolicy but launches only the launch template's own type: the instance types
// asserted below are moto's, not what AWS would pick.
const cluster = 'spot.example.com';
let env: TestEnvironment;

const manifest = editManifest(
  readFixture('seed.yaml').replaceAll('seed.example.com', cluster),
  (_c, groups) => {
    const nodes = groups.get('nodes-us-east-1a')!;
    nodes.spec.minSize = 2;
    nodes.spec.maxSize = 2;
    nodes.spec.mixedInstancesPolicy = {
      instances: ['t3.medium', 't3.large', 't3.small'],
      onDemandBase: 0,
      onDemandAboveBase: 0,
      spotAllocationStrategy: 'price-capacity-optimized',
    };
  },
);

async function describeGroup() {
  const out = await new AutoScalingClient({}).send(
    new DescribeAutoScalingGroupsCommand({
      AutoScalingGroupNames: [groupName('nodes-us-east-1a', cluster)],
    }),
  );
  return out.AutoScalingGroups![0]!;
}

beforeAll(async () => {
  env = await startTestEnvironment();
  await createCluster(env, manifest, cluster);
}, 180_000);
afterAll(() => env?.stop());

describe('a spot group from mixedInstancesPolicy', () => {
  it('is an Auto Scaling group with the MixedInstancesPolicy kOps would give it', async () => {
    const group = await describeGroup();

    expect(group.LaunchTemplate).toBeUndefined();
    const policy = group.MixedInstancesPolicy!;
    expect(policy.LaunchTemplate?.Overrides?.map((o) => o.InstanceType)).toEqual([
      't3.medium',
      't3.large',
      't3.small',
    ]);
    expect(policy.InstancesDistribution).toMatchObject({
      OnDemandBaseCapacity: 0,
      OnDemandPercentageAboveBaseCapacity: 0,
      SpotAllocationStrategy: 'price-capacity-optimized',
    });
  });

  it('gives every node the maxPods of the smallest listed type (t3.small), whatever it runs on', async () => {
    const kube = (await kubeForCluster(env.objects, cluster, env.kubeServers))!;
    await env.sim.backend.cluster(cluster, { fresh: true });

    const nodes = (await kube.listNodes()).filter((n) => n.instanceGroup === 'nodes-us-east-1a');

    // t3.small: 3 ENIs x (4 - 1) + 2 = 11; t3.medium alone would give 17.
    expect(nodes.map((n) => n.allocatablePods)).toEqual([11, 11]);
  });

  it('is replaced by a forced rolling update like any group', async () => {
    const before = (await describeGroup()).Instances!.map((i) => i.InstanceId!).sort();

    const result = await runStateMachine('rolling-update', {
      input: { cluster, instanceGroups: ['nodes-us-east-1a'], force: true, cloudOnly: false },
      waitMs: 20,
      afterTask: async () => {
        await env.sim.backend.cluster(cluster, { fresh: true });
      },
    });

    expect(result.error).toBeUndefined();
    const after = (await describeGroup()).Instances!.map((i) => i.InstanceId!).sort();
    expect(after).toHaveLength(2);
    expect(after.filter((id) => before.includes(id))).toEqual([]);
    const described = await new EC2Client({}).send(
      new DescribeInstancesCommand({ InstanceIds: after }),
    );
    // moto launches the launch template's type only (AWS would spread over the overrides).
    expect(described.Reservations!.flatMap((r) => r.Instances!).map((i) => i.InstanceType)).toEqual(
      ['t3.medium', 't3.medium'],
    );
  }, 180_000);
});
