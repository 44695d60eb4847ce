import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateRoleCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolesCommand,
  PutRolePolicyCommand,
  UntagRoleCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iamStackRoleApi } from '../../src/aws/stack-role.js';
import { withClock } from '../../src/clock.js';
import { readConfig } from '../../src/config.js';
import { localHandler, localSettingsFromEnv } from '../../src/local/sfn/handlers.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import {
  CLUSTER_HASH_TAG,
  clusterHash,
  stackName,
  stackRoleName,
} from '../../src/planning/names.js';
import { STACK_ROLE_TRUST_POLICY } from '../../src/planning/stack-role.js';
import { readFixture } from '../helpers.js';
import { startTestBackend, type TestBackend } from '../support/moto.js';

// Each cluster's stack is made, changed and deleted by CloudFormation under a role of its own,
// which the launch stage makes acting for that cluster: moto's IAM is asked what it holds.
let backend: TestBackend;
const cluster = 'stack-role.example.com';
const iam = () => new IAMClient({});

async function role() {
  try {
    return (await iam().send(new GetRoleCommand({ RoleName: stackRoleName(cluster) }))).Role;
  } catch (error) {
    if ((error as Error).name === 'NoSuchEntityException') return undefined;
    throw error;
  }
}

beforeAll(async () => {
  backend = await startTestBackend();
  const manifest = readFixture('seed.yaml').replaceAll('seed.example.com', cluster);
  const created = await runStateMachine('create-cluster', { input: { manifest }, waitMs: 20 });
  if (created.status !== 'SUCCEEDED')
    throw new Error(`create failed: ${created.error?.name}: ${created.error?.cause}`);
}, 180_000);
afterAll(() => backend?.stop());

describe("a cluster's stack role", () => {
  it('is made under the cluster path, with the stack boundary and the cluster, owner and hash tags', async () => {
    const made = await role();

    expect(made?.Path).toBe(`/kopsless/stack/${cluster}/`);
    expect(made?.PermissionsBoundary?.PermissionsBoundaryArn).toBe(
      process.env.CLUSTER_STACK_BOUNDARY_ARN,
    );
    expect(Object.fromEntries((made?.Tags ?? []).map((t) => [t.Key, t.Value]))).toEqual({
      KubernetesCluster: cluster,
      'kopsless.io/owner': 'kopsless',
      [CLUSTER_HASH_TAG]: clusterHash(cluster),
    });
    expect(JSON.parse(decodeURIComponent(made?.AssumeRolePolicyDocument ?? '{}'))).toMatchObject({
      Statement: [{ Principal: { Service: 'cloudformation.amazonaws.com' } }],
    });
  });

  it('carries the ClusterStack*Policy and no other policy', async () => {
    const attached = await iam().send(
      new ListAttachedRolePoliciesCommand({ RoleName: stackRoleName(cluster) }),
    );

    expect(attached.AttachedPolicies?.map((p) => p.PolicyArn).sort()).toEqual(
      process.env.CLUSTER_STACK_POLICY_ARNS?.split(',').sort(),
    );
  });

  it('is the role the stack was created with', async () => {
    const stack = await new CloudFormationClient({}).send(
      new DescribeStacksCommand({ StackName: stackName(cluster) }),
    );

    expect(stack.Stacks?.[0]?.RoleARN).toBe((await role())?.Arn);
  });

  it('is found again, not made twice, when launch runs again', async () => {
    const before = await role();
    const launch = await localHandler('LaunchClusterFunction', localSettingsFromEnv(process.env));

    await launch({ action: 'ensureStack', cluster, owner: 'second-run' }, {} as never);

    expect((await role())?.RoleId).toBe(before?.RoleId);
  });

  it('is given its hash tag when found without one, as made before the tag existed', async () => {
    await iam().send(
      new UntagRoleCommand({ RoleName: stackRoleName(cluster), TagKeys: [CLUSTER_HASH_TAG] }),
    );
    const { clusterStack } = readConfig(process.env);

    // The wait for IAM to show the tag is the clock's: this one's passes at once.
    const clock = { now: () => new Date(), sleep: async () => {} };
    await withClock(clock, () =>
      iamStackRoleApi(iam(), { deployment: 'kopsless', ...clusterStack! }).ensure(cluster),
    );

    const tags = Object.fromEntries(((await role())?.Tags ?? []).map((t) => [t.Key, t.Value]));
    expect(tags[CLUSTER_HASH_TAG]).toBe(clusterHash(cluster));
  });

  it('goes with the cluster once its stack is gone, and so does any other role under its path', async () => {
    await iam().send(
      new CreateRoleCommand({
        RoleName: 'extra',
        Path: `/kopsless/stack/${cluster}/`,
        AssumeRolePolicyDocument: STACK_ROLE_TRUST_POLICY,
      }),
    );
    await iam().send(
      new PutRolePolicyCommand({
        RoleName: 'extra',
        PolicyName: 'inline',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'ec2:DescribeVpcs', Resource: '*' }],
        }),
      }),
    );

    const deleted = await runStateMachine('delete-cluster', { input: { cluster }, waitMs: 20 });

    expect(deleted.status).toBe('SUCCEEDED');
    expect(await role()).toBeUndefined();
    const left = await iam().send(
      new ListRolesCommand({ PathPrefix: `/kopsless/stack/${cluster}/` }),
    );
    expect(left.Roles ?? []).toEqual([]);
  }, 120_000);
});
