import {
  AutoScalingClient,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DeleteNetworkInterfaceCommand,
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeLaunchTemplatesCommand,
  DescribeNatGatewaysCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  IAMClient,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import {
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { serveSeedState } from './state-fixture.js';
import { awsError, HANDLER_ENV, lambdaContext } from './support.js';

// The delete handler's inventory at page size 1: every mocked list answers one item per page
// with a token to the next, so anything the handler finds on page 3 it found by following tokens.
const cluster = 'seed.example.com';
const s3 = mockClient(S3Client);
const cfn = mockClient(CloudFormationClient);
const ec2 = mockClient(EC2Client);
const asg = mockClient(AutoScalingClient);
const iam = mockClient(IAMClient);
const r53 = mockClient(Route53Client);
let handler: (event: unknown, context: unknown) => Promise<any>;

/** A list call's answer at page size 1: item N on page N, `page-N` the token to it. */
function onePerPage<T>(
  items: T[],
  tokenIn: string,
  page: (items: T[], next: string | undefined) => object,
) {
  return async (input: Record<string, unknown>) => {
    const at = input[tokenIn] ? Number(String(input[tokenIn]).replace('page-', '')) : 0;
    return page(items.slice(at, at + 1), at + 1 < items.length ? `page-${at + 1}` : undefined);
  };
}

const ids = (prefix: string) => [1, 2, 3].map((n) => `${prefix}-${n}`);
const tagged = [{ Key: 'KubernetesCluster', Value: cluster }];

function serveEc2(): void {
  ec2.on(DescribeVpcsCommand).callsFake(
    onePerPage(ids('vpc'), 'NextToken', (p, NextToken) => ({
      Vpcs: p.map((VpcId) => ({ VpcId, Tags: tagged })),
      NextToken,
    })),
  );
  ec2.on(DescribeSubnetsCommand).callsFake(
    onePerPage(ids('subnet'), 'NextToken', (p, NextToken) => ({
      Subnets: p.map((SubnetId) => ({ SubnetId })),
      NextToken,
    })),
  );
  ec2.on(DescribeSecurityGroupsCommand).callsFake(
    onePerPage(ids('sg'), 'NextToken', (p, NextToken) => ({
      SecurityGroups: p.map((GroupId) => ({ GroupId, GroupName: GroupId })),
      NextToken,
    })),
  );
  ec2.on(DescribeInternetGatewaysCommand).callsFake(
    onePerPage(ids('igw'), 'NextToken', (p, NextToken) => ({
      InternetGateways: p.map((InternetGatewayId) => ({ InternetGatewayId })),
      NextToken,
    })),
  );
  ec2.on(DescribeRouteTablesCommand).callsFake(
    onePerPage(ids('rtb'), 'NextToken', (p, NextToken) => ({
      RouteTables: p.map((RouteTableId) => ({ RouteTableId })),
      NextToken,
    })),
  );
  ec2.on(DescribeNatGatewaysCommand).callsFake(
    onePerPage(ids('nat'), 'NextToken', (p, NextToken) => ({
      NatGateways: p.map((NatGatewayId) => ({ NatGatewayId, State: 'available' as const })),
      NextToken,
    })),
  );
  // DescribeAddresses has no pages in the EC2 API: one answer holds them all.
  ec2
    .on(DescribeAddressesCommand)
    .resolves({ Addresses: ids('eipalloc').map((AllocationId) => ({ AllocationId })) });
  ec2.on(DescribeInstancesCommand).callsFake(
    onePerPage(ids('i'), 'NextToken', (p, NextToken) => ({
      Reservations: p.map((InstanceId) => ({ Instances: [{ InstanceId }] })),
      NextToken,
    })),
  );
  ec2.on(DescribeLaunchTemplatesCommand).callsFake(
    onePerPage(ids('lt'), 'NextToken', (p, NextToken) => ({
      LaunchTemplates: p.map((LaunchTemplateId) => ({
        LaunchTemplateId,
        LaunchTemplateName: LaunchTemplateId,
      })),
      NextToken,
    })),
  );
  ec2.on(DescribeVolumesCommand).callsFake(
    onePerPage(ids('vol'), 'NextToken', (p, NextToken) => ({
      Volumes: p.map((VolumeId) => ({
        VolumeId,
        State: 'available' as const,
        Tags: [{ Key: 'kopsless.io/owner', Value: 'kopsless' }],
      })),
      NextToken,
    })),
  );
  ec2.on(DescribeNetworkInterfacesCommand).callsFake(
    onePerPage(ids('eni'), 'NextToken', (p, NextToken) => ({
      NetworkInterfaces: p.map((NetworkInterfaceId) => ({
        NetworkInterfaceId,
        Status: 'available' as const,
        // The cluster's tag, which the VPC CNI puts on every interface it makes.
        TagSet: [{ Key: 'KubernetesCluster', Value: cluster }],
      })),
      NextToken,
    })),
  );
}

function serveDns(): void {
  // The account's zones, one to a page: the cluster's (the longest match of its name) is on page 2.
  const zones = [
    { Id: '/hostedzone/Z1', Name: 'other.org.', CallerReference: 'r' },
    { Id: '/hostedzone/Z2', Name: 'example.com.', CallerReference: 'r' },
  ];
  r53.on(ListHostedZonesCommand).callsFake(async (input: { Marker?: string }) => {
    const at = input.Marker ? Number(input.Marker) : 0;
    const more = at + 1 < zones.length;
    return {
      HostedZones: [zones[at]],
      IsTruncated: more,
      ...(more ? { NextMarker: String(at + 1) } : {}),
      MaxItems: 1,
    };
  });
  // The zone's records, one to a page: the cluster's two among other records of the zone.
  const names = [
    'www.example.com.',
    `api.${cluster}.`,
    'api.other.example.com.',
    `api.internal.${cluster}.`,
  ];
  r53.on(ListResourceRecordSetsCommand).callsFake(async (input: { StartRecordName?: string }) => {
    const at = input.StartRecordName ? names.indexOf(input.StartRecordName) : 0;
    const next = names[at + 1];
    return {
      ResourceRecordSets: [
        { Name: names[at], Type: 'A', ResourceRecords: [{ Value: '10.0.0.1' }] },
      ],
      IsTruncated: !!next,
      ...(next ? { NextRecordName: next, NextRecordType: 'A' } : {}),
      MaxItems: 1,
    };
  });
}

beforeAll(async () => {
  for (const [k, v] of Object.entries(HANDLER_ENV)) vi.stubEnv(k, v);
  ({ handler } = (await import('../../functions/delete-cluster.js')) as unknown as {
    handler: typeof handler;
  });
});

beforeEach(() => {
  for (const m of [s3, cfn, ec2, asg, iam, r53]) m.reset();
  serveSeedState(s3, cluster);
  cfn
    .on(DescribeStacksCommand)
    .rejects(
      awsError('ValidationError', 400, `Stack with id kopsless-seed-example-com does not exist`),
    );
  iam.on(GetRoleCommand).rejects(awsError('NoSuchEntity', 404));
  iam.on(GetInstanceProfileCommand).rejects(awsError('NoSuchEntity', 404));
  asg.on(DescribeAutoScalingGroupsCommand).callsFake(
    onePerPage(ids('group'), 'NextToken', (p, NextToken) => ({
      AutoScalingGroups: p.map((AutoScalingGroupName) => ({ AutoScalingGroupName })),
      NextToken,
    })),
  );
  serveEc2();
  serveDns();
});

describe('delete handler inventory at page size 1', () => {
  it('finds every tagged EC2 resource on pages 2 and 3', async () => {
    const out = await handler({ action: 'discover', cluster }, lambdaContext);

    const found = (type: string) =>
      out.resources
        .filter((r: { type: string }) => r.type === type)
        .map((r: { id: string }) => r.id);
    expect(found('vpc')).toEqual(ids('vpc'));
    expect(found('subnet')).toEqual(ids('subnet'));
    expect(found('security-group')).toEqual(ids('sg'));
    expect(found('internet-gateway')).toEqual(ids('igw'));
    expect(found('route-table')).toEqual(ids('rtb'));
    expect(found('nat-gateway')).toEqual(ids('nat'));
    expect(found('instance')).toEqual(ids('i'));
    expect(found('autoscaling-config')).toEqual(ids('lt'));
    expect(found('volume')).toEqual(ids('vol'));
    expect(found('network-interface')).toEqual(ids('eni'));
  });

  it('finds Auto Scaling groups on page 3', async () => {
    const out = await handler({ action: 'discover', cluster }, lambdaContext);

    expect(
      out.resources
        .filter((r: { type: string }) => r.type === 'autoscaling-group')
        .map((r: { id: string }) => r.id),
    ).toEqual(ids('group'));
    expect(asg.commandCalls(DescribeAutoScalingGroupsCommand)).toHaveLength(3);
  });

  it('finds the cluster zone on page 2 and exactly its two records among the zone pages', async () => {
    const out = await handler({ action: 'discover', cluster }, lambdaContext);

    const dns = out.resources
      .filter((r: { type: string }) => r.type === 'dns-record' || r.type === 'hosted-zone')
      .map((r: { type: string; name: string; id: string }) => `${r.type} ${r.name} ${r.id}`);
    expect(dns).toEqual([
      `dns-record api.${cluster}. Z2/A`,
      `dns-record api.internal.${cluster}. Z2/A`,
    ]);
  });

  it('deletes the groups on every page', async () => {
    await handler({ action: 'deleteGroups', cluster }, lambdaContext);

    expect(
      asg
        .commandCalls(DeleteAutoScalingGroupCommand)
        .map((c) => c.args[0].input.AutoScalingGroupName),
    ).toEqual(ids('group'));
  });

  it('deletes the leftover network interfaces on page 3 before the stack', async () => {
    ec2.on(DeleteNetworkInterfaceCommand).resolves({});

    await handler({ action: 'deleteStack', cluster }, lambdaContext);

    expect(
      ec2
        .commandCalls(DeleteNetworkInterfaceCommand)
        .map((c) => c.args[0].input.NetworkInterfaceId),
    ).toEqual(ids('eni'));
  });

  it('deletes every inline policy of a role, the ones on page 3 included, before the role', async () => {
    iam.on(GetRoleCommand, { RoleName: `nodes.${cluster}` }).resolves({
      Role: {
        RoleName: `nodes.${cluster}`,
        RoleId: 'AROA1',
        Path: '/',
        Arn: 'arn:aws:iam::1:role/x',
        CreateDate: new Date(),
        Tags: tagged,
      },
    });
    iam.on(ListRolePoliciesCommand).callsFake(
      onePerPage(['p1', 'p2', 'p3'], 'Marker', (PolicyNames, Marker) => ({
        PolicyNames,
        IsTruncated: !!Marker,
        ...(Marker ? { Marker } : {}),
      })),
    );
    iam.on(DeleteRolePolicyCommand).resolves({});
    iam.on(DeleteRoleCommand).resolves({});

    await handler({ action: 'deleteLeftovers', cluster }, lambdaContext);

    expect(
      iam.commandCalls(DeleteRolePolicyCommand).map((c) => c.args[0].input.PolicyName),
    ).toEqual(['p1', 'p2', 'p3']);
    expect(iam.commandCalls(DeleteRoleCommand)).toHaveLength(1);
  });
});
