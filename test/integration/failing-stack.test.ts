import { AutoScalingClient, DeleteAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import {
  CloudFormationClient,
  DeleteStackCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { GetInstanceProfileCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localHandler, localSettingsFromEnv } from '../../src/local/sfn/handlers.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { groupName, iamRoleName, stackName } from '../../src/planning/names.js';
import { readFixture } from '../helpers.js';
import { startTestBackend, type TestBackend } from '../support/moto.js';

// A stack that CloudFormation deletes after its create failed, once launch has put its roles in
// the cluster's instance profiles: IAM refuses to delete a role a profile holds, so the delete
// ends DELETE_FAILED; launch takes the roles out and deletes it again.
let backend: TestBackend;
const cluster = 'failing.example.com';
const manifest = readFixture('seed.yaml')
  .replaceAll('seed.example.com', cluster)
  .split(/^---$/m)
  .filter((doc) => !/name: nodes-us-east-1a\n/.test(doc))
  .join('---');

const stackStatus = async () => {
  try {
    const out = await new CloudFormationClient({}).send(
      new DescribeStacksCommand({ StackName: stackName(cluster) }),
    );
    return out.Stacks?.[0]?.StackStatus;
  } catch (error) {
    if (/does not exist/.test((error as Error).message)) return 'gone';
    throw error;
  }
};
const roleExists = (kind: 'masters' | 'nodes') =>
  new IAMClient({}).send(new GetRoleCommand({ RoleName: iamRoleName(kind, cluster) })).then(
    () => true,
    () => false,
  );
const profile = async (kind: 'masters' | 'nodes') =>
  (
    await new IAMClient({}).send(
      new GetInstanceProfileCommand({ InstanceProfileName: iamRoleName(kind, cluster) }),
    )
  ).InstanceProfile;

beforeAll(async () => {
  backend = await startTestBackend();
  const created = await runStateMachine('create-cluster', { input: { manifest }, waitMs: 20 });
  if (created.status !== 'SUCCEEDED')
    throw new Error(`create failed: ${created.error?.name}: ${created.error?.cause}`);
  // What a create that fails after the profiles got their roles leaves: the stack and the filled
  // profiles, no group yet.
  const autoscaling = new AutoScalingClient({});
  for (const ig of ['control-plane-us-east-1a', 'nodes-us-east-1b'])
    await autoscaling.send(
      new DeleteAutoScalingGroupCommand({
        AutoScalingGroupName: groupName(ig, cluster),
        ForceDelete: true,
      }),
    );
}, 180_000);
afterAll(() => backend?.stop());

describe('a failed create deleted while the cluster profiles hold its roles', () => {
  it('ends DELETE_FAILED when CloudFormation deletes it', async () => {
    await new CloudFormationClient({}).send(
      new DeleteStackCommand({ StackName: stackName(cluster) }),
    );

    expect(await stackStatus()).toBe('DELETE_FAILED');
    expect(await roleExists('masters')).toBe(true);
  });

  it('is deleted again by launch, its roles out of the profiles and gone with it', async () => {
    const launch = await localHandler('LaunchClusterFunction', localSettingsFromEnv(process.env));

    await launch(
      { action: 'describeStack', cluster, deadline: '2999-01-01T00:00:00Z', created: true },
      {} as never,
    ).catch((error: Error) => {
      // moto deletes a stack inside DeleteStack and answers with the error of a resource it could
      // not delete; here its VPC, whose route tables it still counts (moto, not this cluster: the
      // delete session meets it too). CloudFormation answers at once and deletes on its own.
      if (!/DependencyViolation: The vpc/.test(error.message)) throw error;
    });

    expect(await stackStatus()).toBe('gone');
    expect((await profile('masters'))?.Roles).toEqual([]);
    expect([await roleExists('masters'), await roleExists('nodes')]).toEqual([false, false]);
  });
});
