import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  CloudFormationClient,
  DescribeStackEventsCommand,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { autoScalingApi } from '../../src/aws/autoscaling.js';
import { cloudFormationStackApi } from '../../src/aws/cloudformation.js';
import { ec2Api } from '../../src/aws/ec2.js';
import { route53Api } from '../../src/aws/route53.js';

// The narrow adapters at page size 1: each mocked list answers one item per page with a token.
const ec2 = mockClient(EC2Client);
const asg = mockClient(AutoScalingClient);
const cfn = mockClient(CloudFormationClient);
const r53 = mockClient(Route53Client);
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const client = <T>(C: new (config: object) => T) => new C({ region: 'us-east-1', credentials });

/** Item N on page N; `page-N` is the token to it. */
function onePerPage<T>(items: T[], page: (items: T[], next: string | undefined) => object) {
  return async (input: { NextToken?: string }) => {
    const at = input.NextToken ? Number(input.NextToken.replace('page-', '')) : 0;
    return page(items.slice(at, at + 1), at + 1 < items.length ? `page-${at + 1}` : undefined);
  };
}

beforeEach(() => {
  for (const m of [ec2, asg, cfn, r53]) m.reset();
});

describe('EC2 adapter at page size 1', () => {
  it('returns the instance types on every page', async () => {
    ec2.on(DescribeInstanceTypesCommand).callsFake(
      onePerPage(['m5.large', 't3.medium', 't3.small'], (p, NextToken) => ({
        InstanceTypes: p.map((InstanceType) => ({ InstanceType })),
        NextToken,
      })),
    );

    const types = await ec2Api(client(EC2Client)).describeInstanceTypes([
      'm5.large',
      't3.medium',
      't3.small',
    ]);

    expect(types.map((t) => t.InstanceType)).toEqual(['m5.large', 't3.medium', 't3.small']);
  });

  it('picks the newest image even when it is on the last page', async () => {
    const images = [
      { ImageId: 'ami-old', CreationDate: '2024-01-01T00:00:00Z' },
      { ImageId: 'ami-mid', CreationDate: '2025-01-01T00:00:00Z' },
      { ImageId: 'ami-new', CreationDate: '2026-01-01T00:00:00Z' },
    ];
    ec2
      .on(DescribeImagesCommand)
      .callsFake(onePerPage(images, (Images, NextToken) => ({ Images, NextToken })));

    expect(await ec2Api(client(EC2Client)).findImage('099720109477', 'ubuntu/*')).toBe('ami-new');
  });

  it('returns the instances of every page', async () => {
    ec2.on(DescribeInstancesCommand).callsFake(
      onePerPage(['i-1', 'i-2', 'i-3'], (p, NextToken) => ({
        Reservations: p.map((InstanceId) => ({ Instances: [{ InstanceId }] })),
        NextToken,
      })),
    );

    const instances = await ec2Api(client(EC2Client)).describeInstances([
      { Name: 'tag:KubernetesCluster', Values: ['c'] },
    ]);

    expect(instances.map((i) => i.InstanceId)).toEqual(['i-1', 'i-2', 'i-3']);
  });
});

describe('Auto Scaling adapter at page size 1', () => {
  it('describes the named groups on every page', async () => {
    asg.on(DescribeAutoScalingGroupsCommand).callsFake(
      onePerPage(['a', 'b', 'c'], (p, NextToken) => ({
        AutoScalingGroups: p.map((AutoScalingGroupName) => ({ AutoScalingGroupName })),
        NextToken,
      })),
    );

    const groups = await autoScalingApi(client(AutoScalingClient)).describeGroups(['a', 'b', 'c']);

    expect(groups.map((g) => g.name)).toEqual(['a', 'b', 'c']);
  });
});

describe('CloudFormation adapter at page size 1', () => {
  const event = (e: Partial<StackEvent>): StackEvent => ({
    StackId: 'arn:stack/s/1',
    StackName: 's',
    EventId: String(Math.random()),
    Timestamp: new Date(),
    ...e,
  });

  it("reports the latest operation's first failure, found on page 3, and not an older operation's", async () => {
    // Newest first: the delete failed because a subnet failed (page 3), after an older create failed.
    const events = [
      event({
        LogicalResourceId: 's',
        PhysicalResourceId: 'arn:stack/s/1',
        ResourceType: 'AWS::CloudFormation::Stack',
        ResourceStatus: 'DELETE_FAILED',
        ResourceStatusReason: 'The following resource(s) failed to delete: [Vpc]',
      }),
      event({
        LogicalResourceId: 'Vpc',
        ResourceType: 'AWS::EC2::VPC',
        ResourceStatus: 'DELETE_FAILED',
        ResourceStatusReason: 'vpc has dependencies',
      }),
      event({
        LogicalResourceId: 'Subnet',
        ResourceType: 'AWS::EC2::Subnet',
        ResourceStatus: 'DELETE_FAILED',
        ResourceStatusReason: 'subnet has dependencies',
      }),
      event({
        LogicalResourceId: 's',
        PhysicalResourceId: 'arn:stack/s/1',
        ResourceType: 'AWS::CloudFormation::Stack',
        ResourceStatus: 'DELETE_IN_PROGRESS',
        ResourceStatusReason: 'User Initiated',
      }),
      event({
        LogicalResourceId: 'Old',
        ResourceType: 'AWS::EC2::Subnet',
        ResourceStatus: 'CREATE_FAILED',
        ResourceStatusReason: 'an older failure',
      }),
    ];
    cfn
      .on(DescribeStackEventsCommand)
      .callsFake(onePerPage(events, (StackEvents, NextToken) => ({ StackEvents, NextToken })));

    expect(await cloudFormationStackApi(client(CloudFormationClient)).firstFailure('s')).toBe(
      'Subnet: subnet has dependencies',
    );
  });
});

describe('Route53 adapter at page size 1', () => {
  it("lists one name's record sets page by page, resuming at the name, type and set identifier given, and stops at the next name", async () => {
    const records = [
      {
        Name: 'a.example.com.',
        Type: 'A' as const,
        SetIdentifier: 'one',
        ResourceRecords: [{ Value: '10.0.0.1' }],
      },
      {
        Name: 'a.example.com.',
        Type: 'A' as const,
        SetIdentifier: 'two',
        ResourceRecords: [{ Value: '10.0.0.2' }],
      },
      { Name: 'b.example.com.', Type: 'A' as const, ResourceRecords: [{ Value: '10.0.0.3' }] },
    ];
    const asked: Array<string | undefined> = [];
    r53
      .on(ListResourceRecordSetsCommand)
      .callsFake(async (input: { StartRecordName?: string; StartRecordIdentifier?: string }) => {
        asked.push(input.StartRecordIdentifier);
        const at = records.findIndex(
          (r) =>
            r.Name === input.StartRecordName &&
            (input.StartRecordIdentifier === undefined ||
              r.SetIdentifier === input.StartRecordIdentifier),
        );
        const next = records[at + 1];
        return {
          ResourceRecordSets: [records[at]],
          IsTruncated: !!next,
          ...(next
            ? {
                NextRecordName: next.Name,
                NextRecordType: next.Type,
                ...(next.SetIdentifier ? { NextRecordIdentifier: next.SetIdentifier } : {}),
              }
            : {}),
          MaxItems: 1,
        };
      });

    const listed = await route53Api(client(Route53Client)).listRecords('Z1', ['a.example.com']);

    expect(listed.map((r) => r.values[0])).toEqual(['10.0.0.1', '10.0.0.2']);
    // The second page names b.example.com. as the next: the list stops there.
    expect(asked).toEqual([undefined, 'two']);
  });
});
