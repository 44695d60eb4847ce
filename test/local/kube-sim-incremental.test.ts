import {
  AutoScalingClient,
  paginateDescribeAutoScalingGroups,
  SetDesiredCapacityCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstancesCommand,
  EC2Client,
  type Filter,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allItems } from '../../src/aws/pages.js';
import { AwsSimBackend } from '../../src/local/kube-sim/aws-backend.js';
import { groupName } from '../../src/planning/names.js';
import { readFixture } from '../helpers.js';
import { createCluster, startTestEnvironment, type TestEnvironment } from '../support/cluster.js';

// A backend given an Auto Scaling client reads, after the first sync, only the instances a change
// concerns, and still sees instances launched by a group and ended outside it.
const cluster = 'incremental.example.com';
let env: TestEnvironment;
let backend: AwsSimBackend;
const describeFilters: Filter[][] = [];

/** Instance IDs of the simulated cluster's nodes, read from their providerIDs. */
async function nodeInstanceIds(): Promise<string[]> {
  const sim = await backend.cluster(cluster, { fresh: true });
  return [...(sim?.nodes.values() ?? [])]
    .map(
      (n) =>
        String((n as { spec?: { providerID?: string } }).spec?.providerID ?? '')
          .split('/')
          .pop() ?? '',
    )
    .sort();
}

beforeAll(async () => {
  env = await startTestEnvironment();
  await createCluster(
    env,
    readFixture('seed.yaml').replaceAll('seed.example.com', cluster),
    cluster,
  );
  const ec2 = new EC2Client({});
  // Records the filters of every DescribeInstances the backend sends.
  const send = ec2.send.bind(ec2) as (command: unknown) => Promise<unknown>;
  (ec2 as unknown as { send: (command: unknown) => Promise<unknown> }).send = (
    command: unknown,
  ) => {
    if (command instanceof DescribeInstancesCommand)
      describeFilters.push(command.input.Filters ?? []);
    return send(command);
  };
  backend = new AwsSimBackend({
    ec2,
    autoscaling: new AutoScalingClient({}),
    store: env.store,
    objects: env.objects,
    urlFor: () => 'http://127.0.0.1:1',
  });
}, 120_000);
afterAll(async () => env?.stop());

describe('incremental sync of the simulated API with the local AWS backend', () => {
  it('adds the node of an instance a group launches and removes the node of an instance terminated outside the group, describing only those after the first sync', async () => {
    const before = await nodeInstanceIds();
    const autoscaling = new AutoScalingClient({});
    const groups = await allItems(
      paginateDescribeAutoScalingGroups({ client: autoscaling }, {}),
      (p) => p.AutoScalingGroups,
    );
    const nodes = groups.find(
      (g) => g.AutoScalingGroupName === groupName('nodes-us-east-1a', cluster),
    )!;
    const ended = nodes.Instances![0]!.InstanceId!;
    const afterFirstSync = describeFilters.length;

    await autoscaling.send(
      new SetDesiredCapacityCommand({
        AutoScalingGroupName: nodes.AutoScalingGroupName!,
        DesiredCapacity: (nodes.DesiredCapacity ?? 0) + 1,
      }),
    );
    await new EC2Client({}).send(new TerminateInstancesCommand({ InstanceIds: [ended] }));
    const after = await nodeInstanceIds();
    // What a full read sees (moto's group also replaces the instance terminated under it).
    const running = await new EC2Client({}).send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag:KubernetesCluster', Values: [cluster] },
          { Name: 'instance-state-name', Values: ['running'] },
        ],
      }),
    );
    const expected = (running.Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .map((i) => i.InstanceId ?? '')
      .sort();

    expect(before).toContain(ended);
    expect(after).not.toContain(ended);
    expect(after).toEqual(expected);
    expect(after.filter((id) => !before.includes(id)).length).toBeGreaterThanOrEqual(1);
    expect(describeFilters.slice(afterFirstSync).length).toBeGreaterThan(0);
    expect(
      describeFilters
        .slice(afterFirstSync)
        .every((filters) => filters.some((f) => f.Name === 'instance-id')),
    ).toBe(true);
  });
});
