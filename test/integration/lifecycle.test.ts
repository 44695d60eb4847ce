import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  CreateNetworkInterfaceCommand,
  CreateVolumeCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoScalingApi } from '../../src/aws/autoscaling.js';
import { cloudFormationStackApi } from '../../src/aws/cloudformation.js';
import { inventoryApi } from '../../src/aws/inventory.js';
import { route53Api } from '../../src/aws/route53.js';
import type { StateMachineName } from '../../src/functions-registry.js';
import { kubeForCluster } from '../../src/kube/from-store.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { checkManifest } from '../../src/manifest/check.js';
import { groupName, stableHash } from '../../src/planning/names.js';
import { discover } from '../../src/stages/delete-cluster.js';
import { readFixture } from '../helpers.js';
import {
  createCluster,
  kubeconfigFile,
  kubectlIn,
  startTestEnvironment,
  type TestEnvironment,
} from '../support/cluster.js';

// update, rolling-update and delete state machines on the local backend, with the simulated Kubernetes API.
const cluster = 'roll.example.com';
let env: TestEnvironment;

/** The seed cluster with three nodes in us-east-1a. */
const manifest = readFixture('seed.yaml')
  .replaceAll('seed.example.com', cluster)
  .replace(
    /(name: nodes-us-east-1a\nspec:\n(?:.*\n)*?) {2}maxSize: 1\n {2}minSize: 1\n/,
    '$1  maxSize: 3\n  minSize: 3\n',
  );

async function groupInstances(name: string): Promise<string[]> {
  const [group] = await autoScalingApi(new AutoScalingClient({})).describeGroups([
    groupName(name, cluster),
  ]);
  return (group?.instances ?? []).map((i) => i.instanceId).sort();
}

async function setMachineType(group: string, machineType: string): Promise<void> {
  const current = await env.store.readManifest(cluster);
  current.instanceGroups.find((ig) => ig.metadata.name === group)!.spec.machineType = machineType;
  const check = checkManifest(
    [current.cluster, ...current.instanceGroups].map((d) => JSON.stringify(d)).join('\n---\n'),
  );
  await env.store.writeSpecs(check.manifest!, check.completed!);
  const update = await runStateMachine('update-cluster', { input: { cluster }, waitMs: 20 });
  if (update.status !== 'SUCCEEDED') throw new Error(`update failed: ${update.error?.cause}`);
}

beforeAll(async () => {
  env = await startTestEnvironment();
  await createCluster(env, manifest, cluster);
}, 120_000);
afterAll(async () => env?.stop());

describe('update-cluster', () => {
  it('makes new launch template versions without replacing groups or instances, and changes nothing the second time', async () => {
    const before = await groupInstances('nodes-us-east-1a');

    await setMachineType('nodes-us-east-1a', 'm5.large');
    const again = await runStateMachine('update-cluster', { input: { cluster }, waitMs: 20 });

    expect(await groupInstances('nodes-us-east-1a')).toEqual(before);
    const groups = (
      again.output as {
        groups: {
          groups: Array<{ instanceGroup: string; changed: boolean; launchTemplateVersion: number }>;
        };
      }
    ).groups.groups;
    expect(groups.find((g) => g.instanceGroup === 'nodes-us-east-1a')).toMatchObject({
      changed: false,
      launchTemplateVersion: 2,
    });
  }, 60_000);
});

describe("a child of a roll started by hand (the console) with the running roll's ARN as lockOwner", () => {
  it('fails with InstanceGroupClaimError for an out-of-date group outside the wave, and touches no instance', async () => {
    const parent =
      'arn:aws:states:us-east-1:123456789012:execution:kopsless-rolling-update:running-roll';
    const before = await groupInstances('nodes-us-east-1a');
    await env.store.acquireLock(cluster, parent, 'rolling-update');
    await env.store.beginWave(
      cluster,
      parent,
      ['control-plane-us-east-1a'],
      stableHash({ options: {}, cloudOnly: false, batchLimit: 5 }),
    );
    let result: Awaited<ReturnType<typeof runStateMachine>> | undefined;
    try {
      // Started directly, as from the console: the runner runs any machine of statemachines/ by name.
      result = await runStateMachine('rolling-update-group' as StateMachineName, {
        input: {
          cluster,
          instanceGroup: 'nodes-us-east-1a',
          options: { forceIds: before },
          cloudOnly: false,
          lockOwner: parent,
          batchLimit: 5,
        },
        waitMs: 20,
      });
    } finally {
      await env.store.releaseLock(cluster, parent);
    }

    expect(result.status).toBe('FAILED');
    expect(result.error).toMatchObject({
      name: 'InstanceGroupClaimError',
      cause: expect.stringContaining('instance group "nodes-us-east-1a"'),
    });
    expect(await groupInstances('nodes-us-east-1a')).toEqual(before);
  }, 60_000);
});

describe('rolling-update', () => {
  it('replaces exactly the out-of-date instances, keeping desired - maxUnavailable nodes schedulable at every step', async () => {
    const outdated = await groupInstances('nodes-us-east-1a');
    const others = [
      ...(await groupInstances('control-plane-us-east-1a')),
      ...(await groupInstances('nodes-us-east-1b')),
    ];
    const kube = (await kubeForCluster(env.objects, cluster, env.kubeServers))!;
    const schedulable: number[] = [];

    const result = await runStateMachine('rolling-update', {
      input: { cluster, instanceGroups: [], force: false, cloudOnly: false },
      waitMs: 20,
      afterTask: async () => {
        await env.sim.backend.cluster(cluster, { fresh: true });
        const nodes = await kube.listNodes();
        schedulable.push(
          nodes.filter((n) => n.instanceGroup === 'nodes-us-east-1a' && n.ready && !n.unschedulable)
            .length,
        );
      },
    });

    expect(result.error).toBeUndefined();
    const now = await groupInstances('nodes-us-east-1a');
    expect(now).toHaveLength(3);
    expect(now.filter((id) => outdated.includes(id))).toEqual([]);
    expect([
      ...(await groupInstances('control-plane-us-east-1a')),
      ...(await groupInstances('nodes-us-east-1b')),
    ]).toEqual(others);
    // maxSurge 1, maxUnavailable 0 (kOps's AWS defaults): never fewer than 3.
    expect(Math.min(...schedulable)).toBeGreaterThanOrEqual(3);
    const nodes = await kube.listNodes();
    expect(
      nodes.filter((n) => n.instanceGroup === 'nodes-us-east-1a').map((n) => n.allocatablePods),
    ).toEqual([29, 29, 29]);
  }, 120_000);

  it('has nothing left to do afterwards', async () => {
    const result = await runStateMachine('rolling-update', {
      input: { cluster, instanceGroups: [], force: false, cloudOnly: false },
      waitMs: 20,
    });

    expect(result.status).toBe('SUCCEEDED');
    expect((result.output as { plan: { needUpdate: number } }).plan.needUpdate).toBe(0);
  }, 60_000);

  it('stops with a clear error when a PodDisruptionBudget blocks the drain, leaves the cluster as it was, and resumes', async () => {
    const kubeconfig = kubeconfigFile(env, cluster);
    const guarded = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'guarded', namespace: 'default' },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: 'guarded' } },
            template: {
              metadata: { labels: { app: 'guarded' } },
              spec: { containers: [{ name: 'c', image: 'nginx' }] },
            },
          },
        },
        {
          apiVersion: 'policy/v1',
          kind: 'PodDisruptionBudget',
          metadata: { name: 'guarded', namespace: 'default' },
          spec: { minAvailable: 1, selector: { matchLabels: { app: 'guarded' } } },
        },
      ],
    });
    await kubectlIn(kubeconfig, ['create', '--validate=false', '-f', '-'], guarded);
    const kube = (await kubeForCluster(env.objects, cluster, env.kubeServers))!;
    const pod = (await kube.listPods({ labelSelector: 'app=guarded' }))[0]!;
    const node = (await kube.listNodes()).find((n) => n.name === pod.nodeName)!;
    const input = { cluster, instanceGroups: [node.instanceGroup!], force: true, cloudOnly: false };

    const blocked = await runStateMachine('rolling-update', { input, waitMs: 20 });

    expect(blocked.error?.name).toBe('DrainTimeoutError');
    expect(blocked.error?.cause).toContain(
      "Cannot evict pod as it would violate the pod's disruption budget",
    );
    expect(blocked.error?.cause).toContain(`default/${pod.name}`);
    expect(await env.store.readStatus(cluster)).toMatchObject({
      phase: 'Failed',
      lastError: { error: 'DrainTimeoutError' },
    });
    expect(await env.store.readLock(cluster)).toBeUndefined();
    const after = (await kube.listNodes()).find((n) => n.name === node.name)!;
    expect(after.unschedulable).toBe(false);
    // Not terminated: still in its group, or detached by the surge that opened the roll and still serving.
    const { DescribeInstancesCommand } = await import('@aws-sdk/client-ec2');
    const described = await new EC2Client({}).send(
      new DescribeInstancesCommand({ InstanceIds: [node.instanceId] }),
    );
    expect(described.Reservations?.[0]?.Instances?.[0]?.State?.Name).toBe('running');

    await kubectlIn(kubeconfig, ['delete', 'pdb', 'guarded']);
    const resumed = await runStateMachine('rolling-update', { input, waitMs: 20 });

    expect(resumed.error).toBeUndefined();
    expect(await groupInstances(node.instanceGroup!)).not.toContain(node.instanceId);
  }, 120_000);
});

describe('delete-cluster', () => {
  it('leaves no resource tagged for the cluster, including an ENI the VPC CNI left behind and the etcd volume, and no state', async () => {
    const ec2 = new EC2Client({});
    const subnets = await ec2.send(
      new DescribeSubnetsCommand({
        Filters: [{ Name: 'tag:KubernetesCluster', Values: [cluster] }],
      }),
    );
    const eni = await ec2.send(
      new CreateNetworkInterfaceCommand({
        SubnetId: subnets.Subnets![0]!.SubnetId!,
        Description: 'aws-K8S-i-0123456789abcdef0',
        TagSpecifications: [
          {
            ResourceType: 'network-interface',
            Tags: [
              { Key: 'cluster.k8s.amazonaws.com/name', Value: cluster },
              // What the boot script's ADDITIONAL_ENI_TAGS has the CNI add.
              { Key: 'KubernetesCluster', Value: cluster },
              { Key: `kubernetes.io/cluster/${cluster}`, Value: 'owned' },
              { Key: 'kopsless.io/owner', Value: 'kopsless' },
              { Key: 'node.k8s.amazonaws.com/instance_id', Value: 'i-0123456789abcdef0' },
            ],
          },
        ],
      }),
    );
    // The control plane's etcd volume, as its user-data creates it on AWS.
    const volume = await ec2.send(
      new CreateVolumeCommand({
        AvailabilityZone: 'us-east-1a',
        Size: 20,
        TagSpecifications: [
          {
            ResourceType: 'volume',
            Tags: [
              { Key: 'KubernetesCluster', Value: cluster },
              { Key: `kubernetes.io/cluster/${cluster}`, Value: 'owned' },
              { Key: 'kopsless.io/owner', Value: 'kopsless' },
              { Key: 'kopsless.io/etcd', Value: 'control-plane-us-east-1a' },
            ],
          },
        ],
      }),
    );
    const inventory = inventoryApi({
      ec2,
      autoscaling: new AutoScalingClient({}),
      iam: new IAMClient({}),
      route53: new Route53Client({}),
    });
    const before = await discover(cluster, {
      store: env.store,
      stacks: cloudFormationStackApi(new CloudFormationClient({})),
      dns: route53Api(new Route53Client({})),
      inventory,
    });
    expect(before.map((r) => r.type)).toEqual(
      expect.arrayContaining(['network-interface', 'volume']),
    );

    const result = await runStateMachine('delete-cluster', { input: { cluster }, waitMs: 20 });

    expect(result.error).toBeUndefined();
    expect(
      await discover(cluster, {
        store: env.store,
        stacks: cloudFormationStackApi(new CloudFormationClient({})),
        dns: route53Api(new Route53Client({})),
        inventory,
      }),
    ).toEqual([]);
    const left = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [
          { Name: 'network-interface-id', Values: [eni.NetworkInterface!.NetworkInterfaceId!] },
        ],
      }),
    );
    expect(left.NetworkInterfaces).toEqual([]);
    const volumes = await ec2.send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'volume-id', Values: [volume.VolumeId!] }] }),
    );
    expect(volumes.Volumes ?? []).toEqual([]);
    expect(await env.objects.list(`${cluster}/`)).toEqual([]);
  }, 120_000);

  it('says the cluster is not found the second time, and writes nothing', async () => {
    const result = await runStateMachine('delete-cluster', { input: { cluster }, waitMs: 20 });

    expect(result.error).toMatchObject({
      name: 'ClusterNotFoundError',
      cause: expect.stringContaining(`cluster "${cluster}" not found`),
    });
    expect(await env.objects.list(`${cluster}/`)).toEqual([]);
  }, 60_000);
});
