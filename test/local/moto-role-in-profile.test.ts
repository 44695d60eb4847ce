import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  GetRoleCommand,
  IAMClient,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../support/moto.js';

/**
 * src/local/moto/moto_server.py: IAM refuses to delete a role an instance profile holds, so
 * CloudFormation cannot delete a stack's role that a profile made outside the stack holds, and
 * the stack ends DELETE_FAILED, kept with what it could not delete.
 */
let backend: TestBackend;
const cfn = () => new CloudFormationClient({});
const iam = () => new IAMClient({});

beforeAll(async () => {
  backend = await startTestBackend('kopsless-role-in-profile-test');
});
afterAll(() => backend.stop());

/** A stack holding one role, `name`, and a profile made outside it holding that role. */
async function stackWithRoleInOutsideProfile(name: string) {
  await cfn().send(
    new CreateStackCommand({
      StackName: name,
      TemplateBody: JSON.stringify({
        Resources: {
          Role: {
            Type: 'AWS::IAM::Role',
            Properties: {
              RoleName: name,
              AssumeRolePolicyDocument: {
                Version: '2012-10-17',
                Statement: [
                  {
                    Effect: 'Allow',
                    Principal: { Service: 'ec2.amazonaws.com' },
                    Action: 'sts:AssumeRole',
                  },
                ],
              },
            },
          },
        },
      }),
      Capabilities: ['CAPABILITY_NAMED_IAM'],
    }),
  );
  await iam().send(new CreateInstanceProfileCommand({ InstanceProfileName: name }));
  await iam().send(
    new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }),
  );
}

const stackStatus = async (name: string) =>
  (await cfn().send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0]?.StackStatus;
const roleExists = (name: string) =>
  iam()
    .send(new GetRoleCommand({ RoleName: name }))
    .then(
      () => true,
      () => false,
    );

describe('deleting a stack whose role an outside instance profile holds', () => {
  it('ends DELETE_FAILED, the role kept and named as the failed resource', async () => {
    await stackWithRoleInOutsideProfile('held');

    await cfn().send(new DeleteStackCommand({ StackName: 'held' }));

    expect(await stackStatus('held')).toBe('DELETE_FAILED');
    expect(await roleExists('held')).toBe(true);
    const events = (await cfn().send(new DescribeStackEventsCommand({ StackName: 'held' })))
      .StackEvents;
    expect(events).toContainEqual(
      expect.objectContaining({
        LogicalResourceId: 'Role',
        ResourceStatus: 'DELETE_FAILED',
        ResourceStatusReason: expect.stringMatching(/remove roles from instance profile/),
      }),
    );
  });

  it('is deleted, role and all, once the role is out of the profile', async () => {
    await stackWithRoleInOutsideProfile('released');
    await cfn().send(new DeleteStackCommand({ StackName: 'released' }));
    await iam().send(
      new RemoveRoleFromInstanceProfileCommand({
        InstanceProfileName: 'released',
        RoleName: 'released',
      }),
    );

    await cfn().send(new DeleteStackCommand({ StackName: 'released' }));

    await expect(stackStatus('released')).rejects.toThrow(/does not exist/);
    expect(await roleExists('released')).toBe(false);
  });
});
