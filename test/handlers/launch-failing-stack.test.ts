import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type StackStatus,
} from '@aws-sdk/client-cloudformation';
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  IAMClient,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { instanceProfilePath } from '../../src/planning/instance-profiles.js';
import {
  DEFAULT_DEPLOYMENT,
  iamRoleName,
  instanceProfileName,
  stackName,
} from '../../src/planning/names.js';
import { serveSeedState } from './state-fixture.js';
import {
  awsError,
  lambdaContext,
  loadLaunchHandler,
  serveUserZone,
  stackRoleArn,
} from './support.js';

// IAM refuses to delete a role an instance profile holds, and the profiles launch made (and filled
// while the stack ran) are not the stack's: a failing create must have its roles taken out of them
// before CloudFormation deletes it, and a delete that failed already is run again.
const s3 = mockClient(S3Client);
const cfn = mockClient(CloudFormationClient);
const r53 = mockClient(Route53Client);
const iam = mockClient(IAMClient);
const cluster = 'seed.example.com';
const ROLE_ARN = stackRoleArn(cluster);
/** The poll of the execution that created the stack (ensureStack answered `created: true`). */
const check = {
  action: 'describeStack',
  cluster,
  deadline: '2999-01-01T00:00:00Z',
  created: true,
};
/** The same poll in an update or a roll, which found the stack already there. */
const laterCheck = { ...check, created: false };
let handler: (event: unknown, context: unknown) => Promise<any>;

beforeAll(async () => {
  handler = await loadLaunchHandler();
});

/** The cluster's masters and nodes profiles as launch made them, each holding its role. */
function profilesHoldTheirRoles() {
  iam.on(GetInstanceProfileCommand).callsFake(async (input) => {
    const kind = (['masters', 'nodes'] as const).find(
      (k) => instanceProfileName(k, cluster) === input.InstanceProfileName,
    );
    if (!kind) throw awsError('NoSuchEntity', 404);
    return {
      InstanceProfile: {
        InstanceProfileName: input.InstanceProfileName,
        Path: instanceProfilePath(cluster),
        Arn: `arn:aws:iam::123456789012:instance-profile${instanceProfilePath(cluster)}${input.InstanceProfileName}`,
        Tags: [
          { Key: 'KubernetesCluster', Value: cluster },
          { Key: 'kopsless.io/owner', Value: DEFAULT_DEPLOYMENT },
        ],
        Roles: [{ RoleName: iamRoleName(kind, cluster) }],
      },
    };
  });
}

function stackIs(status: string) {
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: stackName(cluster),
        StackId: `arn:aws:cloudformation:us-east-1:123456789012:stack/${stackName(cluster)}/id-1`,
        StackStatus: status as StackStatus,
        CreationTime: new Date(),
        Tags: [{ Key: 'KubernetesCluster', Value: cluster }],
      },
    ],
  });
}

const removed = () =>
  iam
    .commandCalls(RemoveRoleFromInstanceProfileCommand)
    .map((c) => [c.args[0].input.InstanceProfileName, c.args[0].input.RoleName]);

beforeEach(() => {
  for (const mock of [s3, cfn, r53, iam]) mock.reset();
  serveUserZone(r53);
  serveSeedState(s3);
  iam.on(CreateRoleCommand).resolves({ Role: { Arn: ROLE_ARN } as never });
  iam.on(AttachRolePolicyCommand).resolves({});
  // The stack role is old: a failure is never taken for its propagation.
  iam.on(GetRoleCommand).resolves({ Role: { CreateDate: new Date(0) } as never });
  iam.on(RemoveRoleFromInstanceProfileCommand).resolves({});
  cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
  cfn.on(DeleteStackCommand).resolves({});
  profilesHoldTheirRoles();
});

describe('a cluster stack whose create fails', () => {
  it('has its roles taken out of the cluster profiles before CloudFormation deletes it', async () => {
    stackIs('CREATE_FAILED');

    await expect(handler(check, lambdaContext)).rejects.toMatchObject({
      name: 'StackFailedError',
    });

    expect(removed()).toEqual([
      [instanceProfileName('masters', cluster), iamRoleName('masters', cluster)],
      [instanceProfileName('nodes', cluster), iamRoleName('nodes', cluster)],
    ]);
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });

  it('is waited for while it is deleted, its roles out of the profiles', async () => {
    stackIs('DELETE_IN_PROGRESS');

    const out = await handler(check, lambdaContext);

    expect(out).toMatchObject({ ready: false, status: 'DELETE_IN_PROGRESS' });
    expect(removed()).toHaveLength(2);
  });

  it('is deleted again under its stack role when its delete failed', async () => {
    stackIs('DELETE_FAILED');

    const out = await handler(check, lambdaContext);

    expect(out).toMatchObject({ ready: false, status: 'DELETE_IN_PROGRESS' });
    expect(removed()).toHaveLength(2);
    expect(cfn.commandCalls(DeleteStackCommand).map((c) => c.args[0].input)).toEqual([
      { StackName: stackName(cluster), RoleARN: ROLE_ARN },
    ]);
  });

  it('is deleted again when the profiles were emptied by an earlier attempt', async () => {
    stackIs('DELETE_FAILED');
    iam.on(RemoveRoleFromInstanceProfileCommand).rejects(awsError('NoSuchEntity', 404));

    const out = await handler(check, lambdaContext);

    expect(out).toMatchObject({ status: 'DELETE_IN_PROGRESS' });
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(1);
  });

  it('names the cluster and the delete command once its delete still fails at the deadline', async () => {
    stackIs('DELETE_FAILED');

    await expect(
      handler({ ...check, deadline: '2000-01-01T00:00:00Z' }, lambdaContext),
    ).rejects.toThrow(`run \`kopsless delete cluster ${cluster} --yes\``);
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });
});

describe("a running cluster's stack deleted outside the execution that polls it", () => {
  it.each(['DELETE_IN_PROGRESS', 'DELETE_FAILED'])(
    'stops the update or roll at %s and leaves the profiles its instances use',
    async (status) => {
      stackIs(status);

      await expect(handler(laterCheck, lambdaContext)).rejects.toThrow(
        `is ${status}: it is being deleted outside this execution`,
      );
      expect(removed()).toEqual([]);
      expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(0);
    },
  );

  it('is not taken for a create to clean up when an execution from before sends no created flag', async () => {
    stackIs('DELETE_FAILED');
    const { created: _omitted, ...fromBefore } = check;

    await expect(handler(fromBefore, lambdaContext)).rejects.toMatchObject({
      name: 'StackFailedError',
    });
    expect(removed()).toEqual([]);
  });
});

describe('a cluster stack whose update rolls back', () => {
  it('keeps its roles in the profiles its running instances use', async () => {
    stackIs('UPDATE_ROLLBACK_IN_PROGRESS');

    await handler(laterCheck, lambdaContext);

    expect(removed()).toEqual([]);
    expect(cfn.commandCalls(CreateStackCommand)).toHaveLength(0);
  });
});
