import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type StackStatus,
} from '@aws-sdk/client-cloudformation';
import {
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stackName } from '../../src/planning/names.js';
import { serveSeedState } from './state-fixture.js';
import {
  awsError,
  lambdaContext,
  loadLaunchHandler,
  serveUserZone,
  stackRoleArn,
} from './support.js';

// A stack made under a stack role IAM made a minute ago may fail for want of the role's policy
// (not yet visible to CloudFormation) and, made with OnFailure DELETE, be gone: it is made again.
const s3 = mockClient(S3Client);
const cfn = mockClient(CloudFormationClient);
const r53 = mockClient(Route53Client);
const iam = mockClient(IAMClient);
const cluster = 'seed.example.com';
const ROLE_ARN = stackRoleArn(cluster);
const check = {
  action: 'describeStack',
  cluster,
  deadline: '2999-01-01T00:00:00Z',
  created: true,
};
let handler: (event: unknown, context: unknown) => Promise<any>;

beforeAll(async () => {
  handler = await loadLaunchHandler();
});
beforeEach(() => {
  for (const mock of [s3, cfn, r53, iam]) mock.reset();
  serveUserZone(r53);
  serveSeedState(s3);
  iam.on(CreateRoleCommand).resolves({ Role: { Arn: ROLE_ARN } as never });
  iam.on(AttachRolePolicyCommand).resolves({});
  iam.on(CreateInstanceProfileCommand).resolves({ InstanceProfile: {} as never });
  // No profile holds a role: a failing stack finds nothing to take out.
  iam.on(GetInstanceProfileCommand).rejects(awsError('NoSuchEntity', 404));
  cfn.on(DescribeStackEventsCommand).rejects(awsError('ValidationError', 400, 'does not exist'));
  cfn.on(CreateStackCommand).resolves({ StackId: 'id-2' });
});

function roleMadeSecondsAgo(seconds: number) {
  iam.on(GetRoleCommand).resolves({
    Role: { CreateDate: new Date(Date.now() - seconds * 1000) } as never,
  });
}
const gone = () =>
  cfn
    .on(DescribeStacksCommand)
    .rejects(
      awsError('ValidationError', 400, `Stack with id ${stackName(cluster)} does not exist`),
    );
const failed = (reason: string) => {
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: stackName(cluster),
        StackId: 'id-1',
        StackStatus: 'CREATE_FAILED' as StackStatus,
        CreationTime: new Date(),
        Tags: [{ Key: 'KubernetesCluster', Value: cluster }],
      },
    ],
  });
  cfn.on(DescribeStackEventsCommand).resolves({
    StackEvents: [
      {
        StackId: 'id-1',
        EventId: 'e2',
        StackName: stackName(cluster),
        LogicalResourceId: 'Vpc',
        ResourceStatus: 'CREATE_FAILED',
        ResourceStatusReason: reason,
        Timestamp: new Date(),
      },
      {
        StackId: 'id-1',
        EventId: 'e1',
        StackName: stackName(cluster),
        LogicalResourceId: stackName(cluster),
        PhysicalResourceId: 'id-1',
        ResourceType: 'AWS::CloudFormation::Stack',
        ResourceStatus: 'CREATE_IN_PROGRESS',
        Timestamp: new Date(),
      },
    ],
  });
};

describe('a stack rolled back and deleted soon after its stack role was made', () => {
  it('is created again, under a new token, and waited for', async () => {
    roleMadeSecondsAgo(90);
    gone();

    const out = await handler(check, lambdaContext);

    expect(out).toMatchObject({ ready: false, recreated: true });
    const create = cfn.commandCalls(CreateStackCommand)[0]!.args[0].input;
    expect(create).toMatchObject({ StackName: stackName(cluster), RoleARN: ROLE_ARN });
    expect(create.ClientRequestToken).toMatch(/^[0-9a-f]+$/);
  });

  it('gets a token of its own each time it is created again', async () => {
    roleMadeSecondsAgo(90);
    gone();

    await handler(check, lambdaContext);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await handler(check, lambdaContext);

    const tokens = cfn
      .commandCalls(CreateStackCommand)
      .map((c) => c.args[0].input.ClientRequestToken);
    expect(new Set(tokens).size).toBe(2);
  });

  it('fails as before once the role is older than five minutes', async () => {
    roleMadeSecondsAgo(301);
    gone();

    await expect(handler(check, lambdaContext)).rejects.toMatchObject({ name: 'StackFailedError' });
    expect(cfn.commandCalls(CreateStackCommand)).toHaveLength(0);
  });

  it('is waited for while CloudFormation deletes it after an AccessDenied', async () => {
    roleMadeSecondsAgo(60);
    failed('API: ec2:CreateVpc You are not authorized to perform this operation.');

    const out = await handler(check, lambdaContext);

    expect(out).toMatchObject({ ready: false, status: 'CREATE_FAILED' });
  });

  it('fails as before when it failed for another reason than a refusal', async () => {
    roleMadeSecondsAgo(60);
    failed('The CIDR 10.0.0.0/33 is invalid');

    await expect(handler(check, lambdaContext)).rejects.toThrow(
      `stack ${stackName(cluster)} is CREATE_FAILED: Vpc: The CIDR 10.0.0.0/33 is invalid`,
    );
  });
});
