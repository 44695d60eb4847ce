import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
  type StackStatus,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { ListHostedZonesCommand, Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkManifest } from '../../src/manifest/check.js';
import { iamRoleName, stableHash, stackName } from '../../src/planning/names.js';
import { renderStackTemplate } from '../../src/planning/stack-template.js';
import { readFixture } from '../helpers.js';
import { serveSeedState } from './state-fixture.js';
import { awsError, HANDLER_ENV, lambdaContext } from './support.js';

const s3 = mockClient(S3Client);
const cfn = mockClient(CloudFormationClient);
const r53 = mockClient(Route53Client);
const iam = mockClient(IAMClient);
/** The account's zone, which the seed cluster's records go into. */
const USER_ZONE = 'ZUSER';
let handler: (event: unknown, context: unknown) => Promise<any>;

beforeAll(async () => {
  for (const [k, v] of Object.entries(HANDLER_ENV)) vi.stubEnv(k, v);
  ({ handler } = (await import('../../functions/launch-cluster.js')) as unknown as {
    handler: typeof handler;
  });
});
beforeEach(() => {
  s3.reset();
  cfn.reset();
  r53.reset();
  iam.reset();
  iam.on(CreateInstanceProfileCommand).callsFake(async (input) => ({
    InstanceProfile: {
      ...input,
      Arn: `arn:aws:iam::123456789012:instance-profile${input.Path}${input.InstanceProfileName}`,
    },
  }));
  iam.on(GetInstanceProfileCommand).rejects(awsError('NoSuchEntity', 404));
  r53.on(ListHostedZonesCommand).resolves({
    HostedZones: [{ Id: `/hostedzone/${USER_ZONE}`, Name: 'example.com.', CallerReference: 'r' }],
    IsTruncated: false,
    MaxItems: 100,
  });
  serveSeedState(s3);
});

const templateHash = () =>
  stableHash(
    JSON.stringify(
      renderStackTemplate({
        manifest: checkManifest(readFixture('seed.yaml')).completed!,
        stateBucket: 'state-bucket',
        hostedZoneId: USER_ZONE,
      }),
    ),
  );
const stack = (
  status: string,
  hash = templateHash(),
  owner = 'seed.example.com',
): DescribeStacksCommandOutput => ({
  $metadata: {},
  Stacks: [
    {
      StackName: stackName('seed.example.com'),
      StackId: 'id',
      StackStatus: status as StackStatus,
      CreationTime: new Date(),
      Outputs: [],
      Tags: [
        { Key: 'KubernetesCluster', Value: owner },
        { Key: 'kopsless.io/template-hash', Value: hash },
      ],
    },
  ],
});

describe('launch-cluster handler: ensureStack', () => {
  it('creates the stack with an idempotency token when there is none', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(
        awsError(
          'ValidationError',
          400,
          `Stack with id ${stackName('seed.example.com')} does not exist`,
        ),
      );
    cfn.on(CreateStackCommand).resolves({ StackId: 'id' });

    const out = await handler(
      { action: 'ensureStack', cluster: 'seed.example.com', owner: 'exec-1' },
      lambdaContext,
    );

    expect(out.action).toBe('created');
    expect(cfn.commandCalls(CreateStackCommand)[0]!.args[0].input).toMatchObject({
      StackName: stackName('seed.example.com'),
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      ClientRequestToken: expect.any(String),
    });
  });

  it("makes the cluster's empty instance profiles under its path, tagged, before the stack", async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(awsError('ValidationError', 400, 'Stack with id x does not exist'));
    cfn.on(CreateStackCommand).resolves({ StackId: 'id' });

    await handler(
      { action: 'ensureStack', cluster: 'seed.example.com', owner: 'exec-1' },
      lambdaContext,
    );

    const made = iam.commandCalls(CreateInstanceProfileCommand).map((c) => c.args[0].input);
    expect(made).toEqual(
      ['masters', 'nodes'].map((kind) => ({
        InstanceProfileName: iamRoleName(kind as 'masters' | 'nodes', 'seed.example.com'),
        Path: '/kopsless/profiles/seed.example.com/',
        Tags: [
          { Key: 'KubernetesCluster', Value: 'seed.example.com' },
          { Key: 'kopsless.io/owner', Value: 'kopsless' },
        ],
      })),
    );
    expect(
      iam
        .commandCalls(CreateInstanceProfileCommand)[0]!
        .calledBefore(cfn.commandCalls(CreateStackCommand)[0]!),
    ).toBe(true);
    const template = JSON.parse(
      String(cfn.commandCalls(CreateStackCommand)[0]!.args[0].input.TemplateBody),
    );
    expect(
      Object.values(template.Resources).filter(
        (r) => (r as { Type: string }).Type === 'AWS::IAM::InstanceProfile',
      ),
    ).toEqual([]);
  });

  it('keeps the instance profiles a stack made before, retained, and makes none of theirs', async () => {
    const held = stack('CREATE_COMPLETE', 'old-hash');
    held.Stacks![0]!.Outputs = [
      { OutputKey: 'MastersInstanceProfileArn', OutputValue: 'arn:aws:iam::1:instance-profile/m' },
      { OutputKey: 'NodesInstanceProfileArn', OutputValue: 'arn:aws:iam::1:instance-profile/n' },
    ];
    cfn.on(DescribeStacksCommand).resolves(held);
    cfn.on(UpdateStackCommand).resolves({ StackId: 'id' });

    await handler(
      { action: 'ensureStack', cluster: 'seed.example.com', owner: 'exec-1' },
      lambdaContext,
    );

    expect(iam.commandCalls(CreateInstanceProfileCommand)).toHaveLength(0);
    const template = JSON.parse(
      String(cfn.commandCalls(UpdateStackCommand)[0]!.args[0].input.TemplateBody),
    );
    expect(template.Resources.MastersInstanceProfile).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { Path: '/kopsless/', Roles: [{ Ref: 'MastersRole' }] },
    });
    expect(template.Resources.NodesInstanceProfile.DeletionPolicy).toBe('Retain');
    expect(template.Outputs.MastersInstanceProfileArn).toBeDefined();
  });

  it('changes nothing when the stack already has this template (a retry)', async () => {
    cfn.on(DescribeStacksCommand).resolves(stack('CREATE_COMPLETE'));

    const out = await handler(
      { action: 'ensureStack', cluster: 'seed.example.com', owner: 'exec-1' },
      lambdaContext,
    );

    expect(out.action).toBe('unchanged');
    expect(cfn.commandCalls(CreateStackCommand)).toHaveLength(0);
    expect(cfn.commandCalls(UpdateStackCommand)).toHaveLength(0);
  });

  it('updates a stable stack whose template changed', async () => {
    cfn.on(DescribeStacksCommand).resolves(stack('CREATE_COMPLETE', 'old-hash'));
    cfn.on(UpdateStackCommand).resolves({ StackId: 'id' });

    const out = await handler(
      { action: 'ensureStack', cluster: 'seed.example.com', owner: 'exec-1' },
      lambdaContext,
    );

    expect(out.action).toBe('updated');
  });

  it('refuses a spec that takes the API load balancer away from a running cluster', async () => {
    const running = stack('CREATE_COMPLETE', 'old-hash');
    running.Stacks![0]!.Outputs = [
      { OutputKey: 'ApiLoadBalancerDnsName', OutputValue: 'api-x.elb.us-east-1.amazonaws.com' },
    ];
    cfn.on(DescribeStacksCommand).resolves(running);

    const error = await handler(
      { action: 'ensureStack', cluster: 'seed.example.com', owner: 'exec-1' },
      lambdaContext,
    ).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'SpecInvalidError' });
    expect(String((error as Error).message)).toContain('spec.api.loadBalancer');
    expect(cfn.commandCalls(UpdateStackCommand)).toHaveLength(0);
  });

  it('refuses to build on a rolled-back stack', async () => {
    cfn.on(DescribeStacksCommand).resolves(stack('ROLLBACK_COMPLETE'));

    await expect(
      handler(
        { action: 'ensureStack', cluster: 'seed.example.com', owner: 'exec-1' },
        lambdaContext,
      ),
    ).rejects.toMatchObject({ name: 'StackFailedError' });
  });

  it('refuses to update a stack of its name that another cluster owns, naming the owner', async () => {
    cfn
      .on(DescribeStacksCommand)
      .resolves(stack('CREATE_COMPLETE', 'old-hash', 'other.example.com'));

    const attempt = handler(
      { action: 'ensureStack', cluster: 'seed.example.com', owner: 'exec-1' },
      lambdaContext,
    );

    await expect(attempt).rejects.toMatchObject({
      name: 'ResourceOwnedError',
      message: expect.stringContaining('is owned by cluster other.example.com'),
    });
    expect(cfn.commandCalls(UpdateStackCommand)).toHaveLength(0);
  });

  it('refuses to adopt a stack of its name that carries no cluster tag', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      $metadata: {},
      Stacks: [
        {
          StackName: stackName('seed.example.com'),
          StackId: 'id',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(),
          Tags: [],
        },
      ],
    });

    const attempt = handler(
      { action: 'ensureStack', cluster: 'seed.example.com', owner: 'exec-1' },
      lambdaContext,
    );

    await expect(attempt).rejects.toMatchObject({
      name: 'ResourceOwnedError',
      message: expect.stringContaining('is not tagged KubernetesCluster=seed.example.com'),
    });
    expect(cfn.commandCalls(UpdateStackCommand)).toHaveLength(0);
  });

  it('looks up no stack but the one its session may reach: its own name', async () => {
    cfn.on(DescribeStacksCommand).rejects(awsError('ValidationError', 400, 'Stack does not exist'));
    cfn.on(CreateStackCommand).resolves({ StackId: 'id' });

    await handler(
      { action: 'ensureStack', cluster: 'seed.example.com', owner: 'exec-1' },
      lambdaContext,
    );

    const looked = cfn.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input.StackName);
    expect(new Set(looked)).toEqual(new Set([stackName('seed.example.com')]));
  });

  it('hands CloudFormation throttling to Step Functions as TransientAwsError', async () => {
    cfn.on(DescribeStacksCommand).rejects(awsError('Throttling', 400, 'Rate exceeded'));

    await expect(
      handler(
        { action: 'ensureStack', cluster: 'seed.example.com', owner: 'exec-1' },
        lambdaContext,
      ),
    ).rejects.toMatchObject({ name: 'TransientAwsError' });
  });
});

describe('launch-cluster handler: describeStack', () => {
  it('reports not ready while in progress before the deadline', async () => {
    cfn.on(DescribeStacksCommand).resolves(stack('CREATE_IN_PROGRESS'));

    const out = await handler(
      { action: 'describeStack', cluster: 'seed.example.com', deadline: '2999-01-01T00:00:00Z' },
      lambdaContext,
    );

    expect(out).toMatchObject({ ready: false, status: 'CREATE_IN_PROGRESS' });
  });

  it('puts a role the running stack has made into its profile, and waits for the other', async () => {
    const cluster = 'seed.example.com';
    cfn.on(DescribeStacksCommand).resolves(stack('CREATE_IN_PROGRESS'));
    for (const kind of ['masters', 'nodes'] as const)
      iam
        .on(GetInstanceProfileCommand, { InstanceProfileName: iamRoleName(kind, cluster) })
        .resolves({
          InstanceProfile: {
            InstanceProfileName: iamRoleName(kind, cluster),
            Path: `/kopsless/profiles/${cluster}/`,
            Roles: [],
            Tags: [
              { Key: 'KubernetesCluster', Value: cluster },
              { Key: 'kopsless.io/owner', Value: 'kopsless' },
            ],
          } as never,
        });
    iam
      .on(GetRoleCommand, { RoleName: iamRoleName('masters', cluster) })
      .resolves({ Role: { Tags: [{ Key: 'KubernetesCluster', Value: cluster }] } as never });
    iam
      .on(GetRoleCommand, { RoleName: iamRoleName('nodes', cluster) })
      .rejects(awsError('NoSuchEntity', 404));
    iam.on(AddRoleToInstanceProfileCommand).resolves({});

    await handler(
      { action: 'describeStack', cluster, deadline: '2999-01-01T00:00:00Z' },
      lambdaContext,
    );

    expect(iam.commandCalls(AddRoleToInstanceProfileCommand).map((c) => c.args[0].input)).toEqual([
      {
        InstanceProfileName: iamRoleName('masters', cluster),
        RoleName: iamRoleName('masters', cluster),
      },
    ]);
  });

  it('times out past the deadline with WaitTimeoutError', async () => {
    cfn.on(DescribeStacksCommand).resolves(stack('CREATE_IN_PROGRESS'));

    await expect(
      handler(
        { action: 'describeStack', cluster: 'seed.example.com', deadline: '2000-01-01T00:00:00Z' },
        lambdaContext,
      ),
    ).rejects.toMatchObject({ name: 'WaitTimeoutError' });
  });
});
