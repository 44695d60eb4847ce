import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { CreateLaunchTemplateCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateInstanceProfileCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { afterEach, describe, expect, it } from 'vitest';
import { AWS_DURATIONS, CLOUDFORMATION_CREATE } from '../../src/local/aws-timing/durations.js';
import { type AwsTiming, simulateAwsTiming } from '../../src/local/aws-timing/simulate.js';
import { stackCreateSeconds } from '../../src/local/aws-timing/stack-duration.js';
import { inFunction } from '../../src/local/instrument/aws-calls.js';

const golden = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '..', 'golden', name), 'utf8'));

describe('the duration data', () => {
  it('gives every figure a positive number of seconds, at least one public source and its basis', () => {
    for (const [name, figure] of Object.entries(AWS_DURATIONS)) {
      expect(figure.seconds, name).toBeGreaterThan(0);
      expect(figure.sources.length, name).toBeGreaterThan(0);
      for (const source of figure.sources) expect(source, name).toMatch(/^https?:\/\/\S+$/);
      expect(figure.basis.length, name).toBeGreaterThan(20);
    }
  });

  it('names a figure for every resource type the cluster stacks use', () => {
    const types = new Set(
      ['stack-seed.json', 'stack-private.json'].flatMap((f) =>
        Object.values(golden(f).Resources as Record<string, { Type: string }>).map((r) => r.Type),
      ),
    );
    expect([...types].filter((t) => !(t in CLOUDFORMATION_CREATE))).toEqual([]);
  });
});

describe('stackCreateSeconds', () => {
  it("takes the seed stack as long as its API record's propagation, with no instance profile in it", () => {
    const { seconds, longestChain } = stackCreateSeconds(golden('stack-seed.json'));

    expect(longestChain.map((l) => l.id)).toEqual(['ApiRecord']);
    expect(seconds).toBe(60);
  });

  it('makes an instance profile in a stack wait its 2 minutes after its role', () => {
    const { seconds, longestChain } = stackCreateSeconds({
      Resources: {
        Role: { Type: 'AWS::IAM::Role' },
        Profile: { Type: 'AWS::IAM::InstanceProfile', Properties: { Roles: [{ Ref: 'Role' }] } },
      },
    });

    expect(longestChain.map((l) => l.id)).toEqual(['Role', 'Profile']);
    expect(seconds).toBe(5 + 120);
  });

  it('puts the load balancer and its alias record on the private stack longest chain', () => {
    const { seconds, longestChain } = stackCreateSeconds(golden('stack-private.json'));

    expect(longestChain.map((l) => l.type)).toEqual([
      'AWS::EC2::VPC',
      'AWS::EC2::Subnet',
      'AWS::ElasticLoadBalancingV2::LoadBalancer',
      'AWS::Route53::RecordSet',
    ]);
    expect(seconds).toBe(5 + 5 + 180 + 60);
  });

  it('follows Ref, Fn::GetAtt, Fn::Sub and DependsOn: a NAT gateway waits for its address and delays its route', () => {
    const template = {
      Resources: {
        Vpc: { Type: 'AWS::EC2::VPC' },
        Eip: { Type: 'AWS::EC2::EIP', DependsOn: 'Vpc' },
        Nat: {
          Type: 'AWS::EC2::NatGateway',
          Properties: { AllocationId: { 'Fn::GetAtt': ['Eip', 'AllocationId'] } },
        },
        Table: { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: { Ref: 'Vpc' } } },
        Route: {
          Type: 'AWS::EC2::Route',
          Properties: { RouteTableId: { Ref: 'Table' }, NatGatewayId: { 'Fn::Sub': '${Nat}' } },
        },
      },
    };

    expect(stackCreateSeconds(template)).toMatchObject({
      seconds: 5 + 5 + 120 + 5,
      longestChain: [
        { id: 'Vpc', type: 'AWS::EC2::VPC', completesAt: 5 },
        { id: 'Eip', type: 'AWS::EC2::EIP', completesAt: 10 },
        { id: 'Nat', type: 'AWS::EC2::NatGateway', completesAt: 130 },
        { id: 'Route', type: 'AWS::EC2::Route', completesAt: 135 },
      ],
    });
  });

  it('says when each resource completes, off the longest chain too', () => {
    const { completesAt } = stackCreateSeconds({
      Resources: {
        Vpc: { Type: 'AWS::EC2::VPC' },
        Role: { Type: 'AWS::IAM::Role', Properties: { VpcId: { Ref: 'Vpc' } } },
        Record: { Type: 'AWS::Route53::RecordSet' },
      },
    });

    expect(Object.fromEntries(completesAt)).toEqual({ Vpc: 5, Role: 10, Record: 60 });
  });

  it('refuses a template whose resources depend on each other in a cycle, naming one', () => {
    const template = {
      Resources: {
        A: { Type: 'AWS::EC2::VPC', DependsOn: 'B' },
        B: { Type: 'AWS::EC2::VPC', DependsOn: 'A' },
      },
    };

    expect(() => stackCreateSeconds(template)).toThrow(/dependency cycle through [AB]/);
  });
});

/** Clients that never leave the process: each request gets the answer `respond` writes for it. */
function offline<T>(
  Client: new (config: object) => T,
  respond: (request: { path: string; body: string }) => string,
): T {
  return new Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    requestHandler: {
      handle: async (request: { path: string; body?: string }) => ({
        response: {
          statusCode: 200,
          headers: { 'content-type': 'text/xml' },
          body: Readable.from([
            Buffer.from(respond({ path: request.path, body: request.body ?? '' })),
          ]),
        },
      }),
    },
  });
}

const CFN = 'xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"';
const TEMPLATE = JSON.stringify({
  Resources: {
    Role: { Type: 'AWS::IAM::Role' },
    Profile: { Type: 'AWS::IAM::InstanceProfile', Properties: { Roles: [{ Ref: 'Role' }] } },
  },
});

function cloudFormation() {
  return offline(CloudFormationClient, ({ body }) =>
    body.includes('Action=CreateStack')
      ? `<CreateStackResponse ${CFN}><CreateStackResult><StackId>arn:stack/s/1</StackId></CreateStackResult></CreateStackResponse>`
      : `<DescribeStacksResponse ${CFN}><DescribeStacksResult><Stacks><member><StackName>s</StackName><StackId>arn:stack/s/1</StackId><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs><member><OutputKey>VpcId</OutputKey><OutputValue>vpc-1</OutputValue></member></Outputs></member></Stacks></DescribeStacksResult></DescribeStacksResponse>`,
  );
}

let timing: AwsTiming | undefined;
afterEach(() => timing?.stop());

describe('simulateAwsTiming', () => {
  it("shows a handler a new stack in progress without outputs until its longest chain's time has passed", async () => {
    let now = 0;
    timing = simulateAwsTiming({ now: () => new Date(now) });
    const cfn = cloudFormation();
    const describe = () =>
      inFunction('LaunchClusterFunction', () =>
        cfn.send(new DescribeStacksCommand({ StackName: 's' })),
      );
    await inFunction('LaunchClusterFunction', () =>
      cfn.send(new CreateStackCommand({ StackName: 's', TemplateBody: TEMPLATE })),
    );

    now = 124_000;
    const during = (await describe()).Stacks?.[0];
    now = 125_000;
    const after = (await describe()).Stacks?.[0];

    expect(timing.stacks().get('s')).toEqual({ createdAt: 0, seconds: 125 });
    expect(during?.StackStatus).toBe('CREATE_IN_PROGRESS');
    expect(during?.Outputs).toBeUndefined();
    expect(after?.StackStatus).toBe('CREATE_COMPLETE');
    expect(after?.Outputs).toEqual([{ OutputKey: 'VpcId', OutputValue: 'vpc-1' }]);
  });

  it('leaves answers to calls made outside a handler as the service gave them', async () => {
    timing = simulateAwsTiming({ now: () => new Date(0) });
    const cfn = cloudFormation();
    await inFunction('LaunchClusterFunction', () =>
      cfn.send(new CreateStackCommand({ StackName: 's', TemplateBody: TEMPLATE })),
    );

    const seen = await cfn.send(new DescribeStacksCommand({ StackName: 's' }));

    expect(seen.Stacks?.[0]?.StackStatus).toBe('CREATE_COMPLETE');
  });

  it("keeps a group's instances Pending until instanceInService seconds after the call that launched them", async () => {
    let now = 0;
    timing = simulateAwsTiming({ now: () => new Date(now), instanceInServiceSeconds: 20 });
    const autoscaling = offline(AutoScalingClient, ({ body }) =>
      body.includes('Action=CreateAutoScalingGroup')
        ? '<CreateAutoScalingGroupResponse><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateAutoScalingGroupResponse>'
        : '<DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult><AutoScalingGroups><member><AutoScalingGroupName>g</AutoScalingGroupName><Instances><member><InstanceId>i-1</InstanceId><LifecycleState>InService</LifecycleState></member></Instances></member></AutoScalingGroups></DescribeAutoScalingGroupsResult></DescribeAutoScalingGroupsResponse>',
    );
    const state = async () =>
      (
        await inFunction('LaunchClusterFunction', () =>
          autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['g'] })),
        )
      ).AutoScalingGroups?.[0]?.Instances?.[0]?.LifecycleState;
    now = 5_000;
    await inFunction('LaunchClusterFunction', () =>
      autoscaling.send(
        new CreateAutoScalingGroupCommand({ AutoScalingGroupName: 'g', MinSize: 1, MaxSize: 1 }),
      ),
    );

    now = 24_000;
    const during = await state();
    now = 25_000;
    const after = await state();

    expect([during, after]).toEqual(['Pending', 'InService']);
  });

  it('refuses a group whose launch template names a profile IAM made less than its propagation time ago', async () => {
    let now = 0;
    timing = simulateAwsTiming({ now: () => new Date(now) });
    const profileArn = 'arn:aws:iam::123456789012:instance-profile/kopsless/profiles/c/p';
    const iam = offline(
      IAMClient,
      () =>
        `<CreateInstanceProfileResponse><CreateInstanceProfileResult><InstanceProfile><InstanceProfileName>p</InstanceProfileName><Arn>${profileArn}</Arn></InstanceProfile></CreateInstanceProfileResult></CreateInstanceProfileResponse>`,
    );
    const ec2 = offline(
      EC2Client,
      () =>
        '<CreateLaunchTemplateResponse><launchTemplate><launchTemplateId>lt-1</launchTemplateId><launchTemplateName>g</launchTemplateName></launchTemplate></CreateLaunchTemplateResponse>',
    );
    let reached = 0;
    const autoscaling = offline(AutoScalingClient, () => {
      reached++;
      return '<CreateAutoScalingGroupResponse><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateAutoScalingGroupResponse>';
    });
    const createGroup = () =>
      inFunction('LaunchClusterFunction', () =>
        autoscaling.send(
          new CreateAutoScalingGroupCommand({
            AutoScalingGroupName: 'g',
            LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '1' },
            MinSize: 1,
            MaxSize: 1,
          }),
        ),
      );
    await inFunction('LaunchClusterFunction', async () => {
      await iam.send(
        new CreateInstanceProfileCommand({
          InstanceProfileName: 'p',
          Path: '/kopsless/profiles/c/',
        }),
      );
      await ec2.send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: 'g',
          LaunchTemplateData: { IamInstanceProfile: { Arn: profileArn } },
        }),
      );
    });

    now = 9_000;
    const during = createGroup();
    await expect(during).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(during).rejects.toThrow(/Invalid IAM Instance Profile/);
    expect(reached).toBe(0);
    now = AWS_DURATIONS.iamInstanceProfilePropagation.seconds * 1000;
    await createGroup();

    expect(reached).toBe(1);
  });

  it("answers that a new stack's role does not exist until the stack's chain has made it", async () => {
    let now = 0;
    timing = simulateAwsTiming({ now: () => new Date(now) });
    const cfn = offline(
      CloudFormationClient,
      () =>
        `<CreateStackResponse ${CFN}><CreateStackResult><StackId>arn:stack/s/1</StackId></CreateStackResult></CreateStackResponse>`,
    );
    const iam = offline(
      IAMClient,
      () =>
        '<GetRoleResponse><GetRoleResult><Role><RoleName>r</RoleName><Path>/</Path><Arn>arn:aws:iam::1:role/r</Arn><RoleId>AROA1</RoleId><CreateDate>2026-01-01T00:00:00Z</CreateDate></Role></GetRoleResult></GetRoleResponse>',
    );
    const getRole = () =>
      inFunction('LaunchClusterFunction', () => iam.send(new GetRoleCommand({ RoleName: 'r' })));
    await inFunction('LaunchClusterFunction', () =>
      cfn.send(
        new CreateStackCommand({
          StackName: 's',
          TemplateBody: JSON.stringify({
            Resources: {
              Vpc: { Type: 'AWS::EC2::VPC' },
              Role: {
                Type: 'AWS::IAM::Role',
                Properties: { RoleName: 'r', Tags: [{ Key: 'vpc', Value: { Ref: 'Vpc' } }] },
              },
            },
          }),
        }),
      ),
    );

    now = 9_000;
    await expect(getRole()).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    now = 10_000;

    expect((await getRole()).Role?.RoleName).toBe('r');
  });

  it('reports a record change PENDING until route53ChangeSeconds after it was submitted', async () => {
    let now = 0;
    timing = simulateAwsTiming({ now: () => new Date(now) });
    const changeInfo =
      '<ChangeInfo><Id>/change/C1</Id><Status>INSYNC</Status><SubmittedAt>2026-01-01T00:00:00Z</SubmittedAt></ChangeInfo>';
    const route53 = offline(Route53Client, ({ path }) =>
      path.endsWith('/rrset') || path.endsWith('/rrset/')
        ? `<ChangeResourceRecordSetsResponse>${changeInfo}</ChangeResourceRecordSetsResponse>`
        : `<GetChangeResponse>${changeInfo}</GetChangeResponse>`,
    );
    const status = async () =>
      (
        await inFunction('VerifyDnsFunction', () =>
          route53.send(new GetChangeCommand({ Id: 'C1' })),
        )
      ).ChangeInfo?.Status;
    const submitted = await inFunction('VerifyDnsFunction', () =>
      route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: 'Z1',
          ChangeBatch: {
            Changes: [
              {
                Action: 'UPSERT',
                ResourceRecordSet: {
                  Name: 'api.c.example.com',
                  Type: 'A',
                  TTL: 60,
                  ResourceRecords: [{ Value: '10.0.0.1' }],
                },
              },
            ],
          },
        }),
      ),
    );

    now = (AWS_DURATIONS.route53Change.seconds - 1) * 1000;
    const during = await status();
    now = AWS_DURATIONS.route53Change.seconds * 1000;
    const after = await status();

    expect([submitted.ChangeInfo?.Status, during, after]).toEqual(['PENDING', 'PENDING', 'INSYNC']);
  });
});
