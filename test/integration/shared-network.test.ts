import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateNetworkInterfaceCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  type Tag,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { groupName, ownedTagKey } from '../../src/planning/names.js';
import { editManifest, readFixture } from '../helpers.js';
import { stackExists } from '../support/backend-create.js';
import { startTestBackend, type TestBackend } from '../support/moto.js';

// A VPC and subnets made before the cluster, as a platform team has them: the cluster is created
// in them, then deleted, and they must still be there, as they were.
let backend: TestBackend;
const ec2 = () => new EC2Client({});

beforeAll(async () => {
  backend = await startTestBackend();
}, 60_000);
afterAll(() => backend?.stop());

interface Network {
  vpcId: string;
  subnetA: string;
  subnetB: string;
}

/** A VPC with an internet gateway and two subnets, none tagged for any cluster. */
async function existingNetwork(cidr: string): Promise<Network> {
  const client = ec2();
  const vpc = await client.send(new CreateVpcCommand({ CidrBlock: `${cidr}.0.0/16` }));
  const vpcId = vpc.Vpc!.VpcId!;
  const igw = await client.send(new CreateInternetGatewayCommand({}));
  await client.send(
    new AttachInternetGatewayCommand({
      VpcId: vpcId,
      InternetGatewayId: igw.InternetGateway!.InternetGatewayId!,
    }),
  );
  const subnet = async (third: number, zone: string) =>
    (
      await client.send(
        new CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: `${cidr}.${third}.0/24`,
          AvailabilityZone: zone,
        }),
      )
    ).Subnet!.SubnetId!;
  return { vpcId, subnetA: await subnet(1, 'us-east-1a'), subnetB: await subnet(2, 'us-east-1b') };
}

/** The seed cluster moved into `network`: its VPC, and its two subnets by ID. */
function sharedManifest(cluster: string, cidr: string, network: Network): string {
  return editManifest(readFixture('seed.yaml').replaceAll('seed.example.com', cluster), (c) => {
    c.spec.networkID = network.vpcId;
    c.spec.networkCIDR = `${cidr}.0.0/16`;
    c.spec.nonMasqueradeCIDR = `${cidr}.0.0/16`;
    c.spec.subnets[0].id = network.subnetA;
    c.spec.subnets[0].cidr = `${cidr}.1.0/24`;
    c.spec.subnets[1].id = network.subnetB;
    c.spec.subnets[1].cidr = `${cidr}.2.0/24`;
  });
}

async function tagsOf(network: Network): Promise<Record<string, Tag[]>> {
  const client = ec2();
  const vpcs = await client.send(new DescribeVpcsCommand({ VpcIds: [network.vpcId] }));
  const subnets = await client.send(
    new DescribeSubnetsCommand({ SubnetIds: [network.subnetA, network.subnetB] }),
  );
  return Object.fromEntries([
    ...(vpcs.Vpcs ?? []).map((v) => [v.VpcId!, v.Tags ?? []]),
    ...(subnets.Subnets ?? []).map((s) => [s.SubnetId!, s.Tags ?? []]),
  ]);
}

describe('a cluster in an existing VPC and subnets', () => {
  const cluster = 'shared.example.com';
  let network: Network;
  let created: Awaited<ReturnType<typeof runStateMachine>>;

  beforeAll(async () => {
    network = await existingNetwork('10.60');
    created = await runStateMachine('create-cluster', {
      input: { manifest: sharedManifest(cluster, '10.60', network) },
      waitMs: 20,
    });
  }, 120_000);

  it('is created', () => {
    expect(created.error).toBeUndefined();
    expect(created.status).toBe('SUCCEEDED');
  });

  it('creates no VPC and no subnet of its own', async () => {
    const client = ec2();
    const byTag = [{ Name: 'tag:KubernetesCluster', Values: [cluster] }];

    const vpcs = await client.send(new DescribeVpcsCommand({ Filters: byTag }));
    const subnets = await client.send(new DescribeSubnetsCommand({ Filters: byTag }));

    expect(vpcs.Vpcs).toEqual([]);
    expect(subnets.Subnets).toEqual([]);
  });

  it('launches the instance groups into the shared subnets', async () => {
    const groups = await new AutoScalingClient({}).send(
      new DescribeAutoScalingGroupsCommand({
        AutoScalingGroupNames: [groupName('nodes-us-east-1a', cluster)],
      }),
    );

    expect(groups.AutoScalingGroups?.[0]?.VPCZoneIdentifier).toBe(network.subnetA);
  });

  it('tags the VPC and subnets kubernetes.io/cluster/<name>=shared, and nothing else', async () => {
    const tags = await tagsOf(network);

    for (const id of [network.vpcId, network.subnetA, network.subnetB])
      expect(tags[id]).toEqual([{ Key: ownedTagKey(cluster), Value: 'shared' }]);
  });

  describe('then deleted', () => {
    let deleted: Awaited<ReturnType<typeof runStateMachine>>;
    let leftByCni: string;
    let someoneElses: string;

    beforeAll(async () => {
      // What the VPC CNI leaves when nodes go: a detached interface holding the nodes' group,
      // beside one of the VPC owner's that the cluster never made.
      const client = ec2();
      const groups = await client.send(
        new DescribeSecurityGroupsCommand({
          Filters: [{ Name: 'tag:KubernetesCluster', Values: [cluster] }],
        }),
      );
      const nodesGroup = groups.SecurityGroups!.find((g) => g.GroupName?.includes('nodes'))!;
      leftByCni = (
        await client.send(
          new CreateNetworkInterfaceCommand({
            SubnetId: network.subnetA,
            Groups: [nodesGroup.GroupId!],
            TagSpecifications: [
              {
                ResourceType: 'network-interface',
                // What the boot script's ADDITIONAL_ENI_TAGS has the CNI add.
                Tags: [
                  { Key: 'KubernetesCluster', Value: cluster },
                  { Key: `kubernetes.io/cluster/${cluster}`, Value: 'owned' },
                  { Key: 'kopsless.io/owner', Value: 'kopsless' },
                ],
              },
            ],
          }),
        )
      ).NetworkInterface!.NetworkInterfaceId!;
      someoneElses = (
        await client.send(new CreateNetworkInterfaceCommand({ SubnetId: network.subnetA }))
      ).NetworkInterface!.NetworkInterfaceId!;
      deleted = await runStateMachine('delete-cluster', { input: { cluster }, waitMs: 20 });
    }, 120_000);

    it("removes the interface the VPC CNI left with the cluster's group, and no other", async () => {
      const left = await ec2().send(
        new DescribeNetworkInterfacesCommand({
          Filters: [{ Name: 'subnet-id', Values: [network.subnetA] }],
        }),
      );

      const ids = (left.NetworkInterfaces ?? []).map((n) => n.NetworkInterfaceId);
      expect(ids).toContain(someoneElses);
      expect(ids).not.toContain(leftByCni);
    });

    it('is deleted', async () => {
      expect(deleted.error).toBeUndefined();
      expect(deleted.status).toBe('SUCCEEDED');
      expect(await stackExists(cluster)).toBe(false);
    });

    it('leaves the VPC and subnets where they were, without the shared tag', async () => {
      const tags = await tagsOf(network);

      expect(Object.keys(tags).sort()).toEqual(
        [network.vpcId, network.subnetA, network.subnetB].sort(),
      );
      for (const id of Object.keys(tags)) expect(tags[id]).toEqual([]);
    });
  });
});

describe('a manifest that does not match the existing VPC', () => {
  it('is refused in kOps words before anything is created', async () => {
    const network = await existingNetwork('10.70');
    const cluster = 'mismatch.example.com';
    const manifest = editManifest(sharedManifest(cluster, '10.70', network), (c) => {
      c.spec.subnets[1].cidr = '10.70.3.0/24';
    });

    const result = await runStateMachine('create-cluster', { input: { manifest }, waitMs: 20 });

    expect(result.status).toBe('FAILED');
    expect(result.error?.name).toBe('SpecInvalidError');
    expect(result.error?.cause).toContain(
      'spec.subnets[1].cidr: Forbidden: field is immutable: old="10.70.2.0/24" new="10.70.3.0/24"',
    );
    expect(await stackExists(cluster)).toBe(false);
    expect((await tagsOf(network))[network.vpcId]).toEqual([]);
  }, 120_000);
});
