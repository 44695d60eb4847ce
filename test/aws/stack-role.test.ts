import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  EntityAlreadyExistsException,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  NoSuchEntityException,
  TagRoleCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { iamStackRoleApi, whileStackRolePropagates } from '../../src/aws/stack-role.js';
import { withClock } from '../../src/clock.js';
import { readConfig } from '../../src/config.js';
import { StackFailedError, TransientAwsError } from '../../src/errors.js';
import { clusterHash, stackRoleName } from '../../src/planning/names.js';
import {
  HASH_TAG_PROPAGATION_SECONDS,
  STACK_ROLE_TRUST_POLICY,
} from '../../src/planning/stack-role.js';

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
  AssumeRolePolicyDocument: encodeURIComponent(STACK_ROLE_TRUST_POLICY),
  PermissionsBoundary: {
    PermissionsBoundaryType: 'PermissionsBoundaryPolicy' as const,
    PermissionsBoundaryArn: settings.boundaryArn,
  },
  Tags: [
    { Key: 'KubernetesCluster', Value: cluster },
    { Key: 'kopsless.io/owner', Value: 'kopsless' },
    { Key: 'kopsless.io/cluster-hash', Value: clusterHash(cluster) },
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

  it('is tagged with its cluster hash when it was made before the tag existed, and left to propagate', async () => {
    iam.on(CreateRoleCommand).rejects(exists());
    iam.on(GetRoleCommand).resolves({ Role: { ...ours, Tags: ours.Tags.slice(0, 2) } });
    const waits: number[] = [];
    const clock = { now: () => new Date(0), sleep: async (ms: number) => void waits.push(ms) };

    const made = await withClock(clock, () =>
      iamStackRoleApi(new IAMClient({}), settings).ensure(cluster),
    );

    expect(made).toBe(arn);
    expect(iam.commandCalls(TagRoleCommand).map((c) => c.args[0].input)).toEqual([
      { RoleName: stackRoleName(cluster), Tags: ours.Tags },
    ]);
    expect(waits).toEqual([HASH_TAG_PROPAGATION_SECONDS * 1000]);
  });

  it('is not tagged again when it carries its cluster hash', async () => {
    iam.on(CreateRoleCommand).rejects(exists());
    iam.on(GetRoleCommand).resolves({ Role: ours });

    await iamStackRoleApi(new IAMClient({}), settings).ensure(cluster);

    expect(iam.commandCalls(TagRoleCommand)).toHaveLength(0);
  });

  it('is never adopted when a role of its name carries another cluster hash', async () => {
    iam.on(CreateRoleCommand).rejects(exists());
    iam.on(GetRoleCommand).resolves({
      Role: {
        ...ours,
        Tags: [
          ...ours.Tags.slice(0, 2),
          { Key: 'kopsless.io/cluster-hash', Value: 'cd59d56fd6a74d31' },
        ],
      },
    });

    await expect(iamStackRoleApi(new IAMClient({}), settings).ensure(cluster)).rejects.toThrow(
      `its kopsless.io/cluster-hash tag is not ${clusterHash(cluster)}`,
    );
    expect(iam.commandCalls(TagRoleCommand)).toHaveLength(0);
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

  it('is never adopted when a role of its name trusts another account', async () => {
    const trust = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::999999999999:root' },
          Action: 'sts:AssumeRole',
        },
      ],
    };
    iam.on(CreateRoleCommand).rejects(exists());
    iam.on(GetRoleCommand).resolves({
      Role: { ...ours, AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(trust)) },
    });

    const ensured = iamStackRoleApi(new IAMClient({}), settings).ensure(cluster);

    await expect(ensured).rejects.toThrow(StackFailedError);
    await expect(ensured).rejects.toThrow(
      `IAM role ${stackRoleName(cluster)} exists but is not the stack role kopsless makes for cluster ${cluster}: its trust policy is not the stack role's (only cloudformation.amazonaws.com may assume it): ${JSON.stringify(trust)}`,
    );
    expect(iam.commandCalls(AttachRolePolicyCommand)).toHaveLength(0);
  });

  it('is adopted when IAM spells its trust policy otherwise: keys reordered, lists of one', async () => {
    const respelled = {
      Statement: [
        {
          Action: ['sts:AssumeRole'],
          Principal: { Service: ['cloudformation.amazonaws.com'] },
          Effect: 'Allow',
        },
      ],
      Version: '2012-10-17',
    };
    iam.on(CreateRoleCommand).rejects(exists());
    iam.on(GetRoleCommand).resolves({
      Role: { ...ours, AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(respelled)) },
    });

    expect(await iamStackRoleApi(new IAMClient({}), settings).ensure(cluster)).toBe(arn);
  });

  it('goes with every other role under the cluster path, each with its policies', async () => {
    const path = `/kopsless/stack/${cluster}/`;
    iam.on(ListRolesCommand, { PathPrefix: path, Marker: undefined }).resolves({
      Roles: [{ ...ours }],
      IsTruncated: true,
      Marker: 'm1',
    });
    iam.on(ListRolesCommand, { PathPrefix: path, Marker: 'm1' }).resolves({
      Roles: [{ ...ours, RoleName: 'extra', Path: `${path}deeper/` }],
    });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });
    iam.on(ListAttachedRolePoliciesCommand, { RoleName: 'extra' }).resolves({
      AttachedPolicies: [{ PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }],
    });
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
    iam.on(ListRolePoliciesCommand, { RoleName: 'extra' }).resolves({ PolicyNames: ['inline'] });

    const removal = await iamStackRoleApi(new IAMClient({}), settings).remove(cluster);

    expect(removal).toEqual({ deleted: [stackRoleName(cluster), 'extra'] });
    expect(iam.commandCalls(DetachRolePolicyCommand).map((c) => c.args[0].input)).toEqual([
      ...settings.policyArns.map((PolicyArn) => ({ RoleName: stackRoleName(cluster), PolicyArn })),
      ...settings.policyArns.map((PolicyArn) => ({ RoleName: 'extra', PolicyArn })),
      { RoleName: 'extra', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
    ]);
    expect(iam.commandCalls(DeleteRolePolicyCommand)[0]!.args[0].input).toEqual({
      RoleName: 'extra',
      PolicyName: 'inline',
    });
    expect(iam.commandCalls(DeleteRoleCommand).map((c) => c.args[0].input.RoleName)).toEqual([
      stackRoleName(cluster),
      'extra',
    ]);
  });

  it('is deleted by its name when IAM refuses the listing, saying the path was not searched', async () => {
    iam.on(ListRolesCommand).rejects(
      Object.assign(new Error('not authorized to perform: iam:ListRoles'), {
        name: 'AccessDenied',
      }),
    );
    iam.on(ListAttachedRolePoliciesCommand).resolves({});
    iam.on(ListRolePoliciesCommand).resolves({});

    const removal = await iamStackRoleApi(new IAMClient({}), settings).remove(cluster);

    expect(removal.deleted).toEqual([stackRoleName(cluster)]);
    expect(removal.unlisted).toBe(
      `IAM refused to list the roles under /kopsless/stack/${cluster}/ (iam:ListRoles): only ${stackRoleName(cluster)} was looked for: not authorized to perform: iam:ListRoles`,
    );
  });

  it('is deleted when IAM refuses to list its policies, the stack policies detached by name', async () => {
    const denied = () => Object.assign(new Error('not authorized'), { name: 'AccessDenied' });
    iam.on(ListRolesCommand).resolves({ Roles: [{ ...ours }] });
    iam.on(ListAttachedRolePoliciesCommand).rejects(denied());
    iam.on(ListRolePoliciesCommand).rejects(denied());

    const removal = await iamStackRoleApi(new IAMClient({}), settings).remove(cluster);

    expect(removal).toEqual({ deleted: [stackRoleName(cluster)] });
    expect(iam.commandCalls(DetachRolePolicyCommand).map((c) => c.args[0].input.PolicyArn)).toEqual(
      settings.policyArns,
    );
  });

  it('reports, and keeps, another role under the path that IAM does not let it delete', async () => {
    iam.on(ListRolesCommand).resolves({
      Roles: [{ ...ours }, { ...ours, RoleName: 'foreign' }],
    });
    iam.on(ListAttachedRolePoliciesCommand).resolves({});
    iam.on(ListRolePoliciesCommand).resolves({});
    iam.on(DeleteRoleCommand, { RoleName: 'foreign' }).rejects(
      Object.assign(new Error('Cannot delete entity, must detach all policies first.'), {
        name: 'DeleteConflictException',
      }),
    );

    const removal = await iamStackRoleApi(new IAMClient({}), settings).remove(cluster);

    expect(removal).toEqual({
      deleted: [stackRoleName(cluster)],
      kept: ['foreign: Cannot delete entity, must detach all policies first.'],
    });
  });

  it('is reported absent when an earlier delete removed it', async () => {
    iam.on(ListRolesCommand).resolves({ Roles: [] });
    iam.on(ListAttachedRolePoliciesCommand).rejects(missing());
    iam.on(DetachRolePolicyCommand).rejects(missing());
    iam.on(DeleteRoleCommand).rejects(missing());

    expect(await iamStackRoleApi(new IAMClient({}), settings).remove(cluster)).toEqual({
      deleted: [],
    });
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
