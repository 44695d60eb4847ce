import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  EntityAlreadyExistsException,
  GetRoleCommand,
  IAMClient,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { iamStackRoleApi, whileStackRolePropagates } from '../../src/aws/stack-role.js';
import { readConfig } from '../../src/config.js';
import { StackFailedError, TransientAwsError } from '../../src/errors.js';
import { stackRoleName } from '../../src/planning/names.js';

const iam = mockClient(IAMClient);
const cluster = 'a.example.com';
const settings = {
  deployment: 'kopsless',
  policyArns: ['cluster-stack-policy', 'cluster-stack-roles', 'cluster-stack-api'].map(
    (name) => `arn:aws:iam::123456789012:policy/kopsless-deployment/kopsless-${name}`,
  ),
  boundaryArn:
    'arn:aws:iam::123456789012:policy/kopsless-deployment/kopsless-cluster-stack-boundary',
};
const arn = `arn:aws:iam::123456789012:role/kopsless/stack/${cluster}/${stackRoleName(cluster)}`;
const ours = {
  RoleName: stackRoleName(cluster),
  RoleId: 'AROAEXAMPLE',
  Arn: arn,
  Path: `/kopsless/stack/${cluster}/`,
  CreateDate: new Date(0),
  AssumeRolePolicyDocument: '{}',
  PermissionsBoundary: {
    PermissionsBoundaryType: 'PermissionsBoundaryPolicy' as const,
    PermissionsBoundaryArn: settings.boundaryArn,
  },
  Tags: [
    { Key: 'KubernetesCluster', Value: cluster },
    { Key: 'kopsless.io/owner', Value: 'kopsless' },
  ],
};
const exists = () => new EntityAlreadyExistsException({ message: 'Role exists', $metadata: {} });
const missing = () => new NoSuchEntityException({ message: 'no such role', $metadata: {} });

beforeEach(() => iam.reset());

describe("a cluster's stack role", () => {
  it('is made under the cluster path, bounded, tagged, and given the stack policies', async () => {
    iam.on(CreateRoleCommand).resolves({ Role: ours });

    const made = await iamStackRoleApi(new IAMClient({}), settings).ensure(cluster);

    expect(made).toBe(arn);
    expect(iam.commandCalls(CreateRoleCommand)[0]!.args[0].input).toMatchObject({
      RoleName: stackRoleName(cluster),
      Path: `/kopsless/stack/${cluster}/`,
      PermissionsBoundary: settings.boundaryArn,
      Tags: ours.Tags,
    });
    expect(iam.commandCalls(AttachRolePolicyCommand).map((c) => c.args[0].input)).toEqual(
      settings.policyArns.map((PolicyArn) => ({ RoleName: stackRoleName(cluster), PolicyArn })),
    );
  });

  it('is found again when it exists as kopsless made it', async () => {
    iam.on(CreateRoleCommand).rejects(exists());
    iam.on(GetRoleCommand).resolves({ Role: ours });

    expect(await iamStackRoleApi(new IAMClient({}), settings).ensure(cluster)).toBe(arn);
    expect(iam.commandCalls(AttachRolePolicyCommand)).toHaveLength(3);
  });

  it('is never adopted when a role of its name lacks the stack boundary', async () => {
    iam.on(CreateRoleCommand).rejects(exists());
    iam.on(GetRoleCommand).resolves({ Role: { ...ours, PermissionsBoundary: undefined } });

    const ensured = iamStackRoleApi(new IAMClient({}), settings).ensure(cluster);

    await expect(ensured).rejects.toThrow(StackFailedError);
    await expect(ensured).rejects.toThrow(
      `IAM role ${stackRoleName(cluster)} exists but is not the stack role kopsless makes for cluster ${cluster}: its permissions boundary is not ${settings.boundaryArn}`,
    );
    expect(iam.commandCalls(AttachRolePolicyCommand)).toHaveLength(0);
  });

  it('is never adopted when a role of its name is tagged for another cluster', async () => {
    iam.on(CreateRoleCommand).rejects(exists());
    iam.on(GetRoleCommand).resolves({
      Role: {
        ...ours,
        Tags: [{ Key: 'KubernetesCluster', Value: 'b.example.com' }, ours.Tags[1]!],
      },
    });

    await expect(iamStackRoleApi(new IAMClient({}), settings).ensure(cluster)).rejects.toThrow(
      `its KubernetesCluster tag is not ${cluster}`,
    );
  });

  it('is detached and deleted', async () => {
    iam.on(DetachRolePolicyCommand).resolves({});
    iam.on(DeleteRoleCommand).resolves({});

    expect(await iamStackRoleApi(new IAMClient({}), settings).remove(cluster)).toBe('deleted');
    expect(iam.commandCalls(DetachRolePolicyCommand).map((c) => c.args[0].input.PolicyArn)).toEqual(
      settings.policyArns,
    );
  });

  it('is reported absent when an earlier delete removed it', async () => {
    iam.on(DetachRolePolicyCommand).rejects(missing());
    iam.on(DeleteRoleCommand).rejects(missing());

    expect(await iamStackRoleApi(new IAMClient({}), settings).remove(cluster)).toBe('absent');
  });
});

describe('a stack operation while a new stack role propagates', () => {
  const notAssumable = () =>
    Object.assign(new Error(`ValidationError: Role ${arn} is invalid or cannot be assumed`), {
      name: 'AwsRequestError',
    });

  it('is tried again until CloudFormation can assume the role', async () => {
    const operation = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(notAssumable())
      .mockResolvedValueOnce('created');

    expect(await whileStackRolePropagates(arn, operation, [0, 0])).toBe('created');
    expect(operation).toHaveBeenCalledTimes(2);
  });

  it('is a transient error once the waits are spent', async () => {
    const operation = vi.fn<() => Promise<string>>().mockRejectedValue(notAssumable());

    await expect(whileStackRolePropagates(arn, operation, [0, 0])).rejects.toThrow(
      TransientAwsError,
    );
    expect(operation).toHaveBeenCalledTimes(3);
  });

  it('is not retried for any other error', async () => {
    const operation = vi
      .fn<() => Promise<string>>()
      .mockRejectedValue(new Error('ValidationError: Template format error'));

    await expect(whileStackRolePropagates(arn, operation, [0, 0])).rejects.toThrow(
      'Template format error',
    );
    expect(operation).toHaveBeenCalledTimes(1);
  });
});

describe("the stack role's policies in a function's configuration", () => {
  const env = { STATE_BUCKET: 'b', AWS_REGION: 'us-east-1' };

  it('are read from CLUSTER_STACK_POLICY_ARNS and CLUSTER_STACK_BOUNDARY_ARN', () => {
    const config = readConfig({
      ...env,
      CLUSTER_STACK_POLICY_ARNS: settings.policyArns.join(','),
      CLUSTER_STACK_BOUNDARY_ARN: settings.boundaryArn,
    });

    expect(config.clusterStack).toEqual({
      policyArns: settings.policyArns,
      boundaryArn: settings.boundaryArn,
    });
  });

  it('are refused one without the other, naming the missing one', () => {
    expect(() =>
      readConfig({ ...env, CLUSTER_STACK_POLICY_ARNS: settings.policyArns.join(',') }),
    ).toThrow('CLUSTER_STACK_BOUNDARY_ARN is not set');
  });

  it('are refused when not managed policy ARNs, naming the variable', () => {
    expect(() =>
      readConfig({
        ...env,
        CLUSTER_STACK_POLICY_ARNS: `${settings.policyArns[0]},${arn}`,
        CLUSTER_STACK_BOUNDARY_ARN: settings.boundaryArn,
      }),
    ).toThrow(/^CLUSTER_STACK_POLICY_ARNS must be ARNs of IAM managed policies/);
  });
});
