import {
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  EC2Client,
  type Filter,
  type NetworkInterface,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ec2Api, INSTANCE_IDS_PER_DESCRIBE } from '../../src/aws/ec2.js';
import { AwsRequestError } from '../../src/errors.js';
import { awsError } from '../handlers/support.js';

// The EC2 calls the ENI watcher and delete make through the adapter, at page size 1.
const ec2 = mockClient(EC2Client);
const api = () =>
  ec2Api(
    new EC2Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  );
const filterValues = (filters: Filter[] | undefined, name: string) =>
  filters?.find((f) => f.Name === name)?.Values ?? [];

beforeEach(() => ec2.reset());

describe('EC2 adapter: the clusters of instances', () => {
  it('asks for at most INSTANCE_IDS_PER_DESCRIBE IDs a call and reads every page of each', async () => {
    const ids = Array.from(
      { length: INSTANCE_IDS_PER_DESCRIBE + 1 },
      (_, i) => `i-${i.toString(16).padStart(8, '0')}`,
    );
    ec2
      .on(DescribeInstancesCommand)
      .callsFake(async (input: { Filters?: Filter[]; NextToken?: string }) => {
        const asked = filterValues(input.Filters, 'instance-id');
        // Two pages a call: the first half of its IDs, then the rest.
        const half = Math.ceil(asked.length / 2);
        const page = input.NextToken ? asked.slice(half) : asked.slice(0, half);
        return {
          Reservations: [
            {
              Instances: page.map((InstanceId) => ({
                InstanceId,
                Tags: [{ Key: 'KubernetesCluster', Value: 'a.example.com' }],
              })),
            },
          ],
          ...(input.NextToken ? {} : { NextToken: 'more' }),
        };
      });

    const clusters = await api().clustersOfInstances(ids);

    expect(
      ec2
        .commandCalls(DescribeInstancesCommand)
        .map((c) => filterValues(c.args[0].input.Filters, 'instance-id').length),
    ).toEqual([INSTANCE_IDS_PER_DESCRIBE, INSTANCE_IDS_PER_DESCRIBE, 1, 1]);
    expect([...clusters.keys()].sort()).toEqual(ids.slice().sort());
  });

  it('leaves out instances without a KubernetesCluster tag', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: 'i-00000001',
              Tags: [{ Key: 'KubernetesCluster', Value: 'a.example.com' }],
            },
            { InstanceId: 'i-00000002', Tags: [] },
          ],
        },
      ],
    });

    const clusters = await api().clustersOfInstances(['i-00000001', 'i-00000002']);

    expect(clusters).toEqual(new Map([['i-00000001', 'a.example.com']]));
  });

  it('answers a refused call as AwsRequestError', async () => {
    ec2.on(DescribeInstancesCommand).rejects(awsError('UnauthorizedOperation', 403));

    await expect(api().clustersOfInstances(['i-00000001'])).rejects.toBeInstanceOf(AwsRequestError);
  });
});

describe('EC2 adapter: subnet usage', () => {
  it('gathers the addresses and prefixes of network interfaces from every page', async () => {
    ec2
      .on(DescribeSubnetsCommand)
      .resolves({ Subnets: [{ SubnetId: 'subnet-a', CidrBlock: '10.0.0.0/24' }] });
    ec2.on(DescribeNetworkInterfacesCommand).callsFake(async (input: { NextToken?: string }) =>
      input.NextToken
        ? {
            NetworkInterfaces: [
              {
                SubnetId: 'subnet-a',
                PrivateIpAddresses: [{ PrivateIpAddress: '10.0.0.7' }],
                Ipv4Prefixes: [{ Ipv4Prefix: '10.0.0.16/28' }],
              },
            ],
          }
        : {
            NetworkInterfaces: [
              { SubnetId: 'subnet-a', PrivateIpAddresses: [{ PrivateIpAddress: '10.0.0.5' }] },
            ],
            NextToken: 'page-2',
          },
    );

    const usage = await api().subnetUsage(['subnet-a']);

    expect(usage.get('subnet-a')).toEqual({
      subnetId: 'subnet-a',
      cidr: '10.0.0.0/24',
      usedIps: ['10.0.0.5', '10.0.0.7', '10.0.0.16'],
    });
  });

  it('makes no call for no subnets', async () => {
    const usage = await api().subnetUsage([]);

    expect(usage.size).toBe(0);
    expect(ec2.calls()).toHaveLength(0);
  });
});

describe('EC2 adapter: detached network interfaces', () => {
  const leftover = (id: string): NetworkInterface => ({
    NetworkInterfaceId: id,
    Status: 'available',
    RequesterManaged: false,
    TagSet: [{ Key: 'KubernetesCluster', Value: 'a.example.com' }],
  });

  it('lists the available interfaces of the VPCs tagged for the cluster, from every page', async () => {
    ec2
      .on(DescribeNetworkInterfacesCommand)
      .callsFake(async (input: { NextToken?: string }) =>
        input.NextToken
          ? { NetworkInterfaces: [leftover('eni-2')] }
          : { NetworkInterfaces: [leftover('eni-1')], NextToken: 'page-2' },
      );

    const found = await api().detachedNetworkInterfaces('a.example.com', ['vpc-1']);

    expect(found).toEqual(['eni-1', 'eni-2']);
    const filters = ec2.commandCalls(DescribeNetworkInterfacesCommand)[0]!.args[0].input.Filters;
    expect([
      filterValues(filters, 'vpc-id'),
      filterValues(filters, 'status'),
      filterValues(filters, 'tag:KubernetesCluster'),
    ]).toEqual([['vpc-1'], ['available'], ['a.example.com']]);
  });

  it("leaves out what a service manages, another cluster's and what is in use, whatever the filters did", async () => {
    ec2.on(DescribeNetworkInterfacesCommand).resolves({
      NetworkInterfaces: [
        leftover('eni-ours'),
        // A NAT gateway's interface: requester-managed, in use, untagged.
        { NetworkInterfaceId: 'eni-nat', Status: 'in-use', RequesterManaged: true, TagSet: [] },
        { ...leftover('eni-managed'), RequesterManaged: true },
        { ...leftover('eni-in-use'), Status: 'in-use' },
        { ...leftover('eni-b'), TagSet: [{ Key: 'KubernetesCluster', Value: 'b.example.com' }] },
        { ...leftover('eni-untagged'), TagSet: [] },
      ],
    });

    expect(await api().detachedNetworkInterfaces('a.example.com', ['vpc-1'])).toEqual(['eni-ours']);
  });

  it('makes no call for no VPC', async () => {
    expect(await api().detachedNetworkInterfaces('a.example.com', [])).toEqual([]);
    expect(ec2.calls()).toHaveLength(0);
  });
});
