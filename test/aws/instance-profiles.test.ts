import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  iamInstanceProfileApi,
  whileInstanceProfilePropagates,
} from '../../src/aws/instance-profiles.js';
import { AwsRequestError, ResourceOwnedError, TransientAwsError } from '../../src/errors.js';
import { iamRoleName } from '../../src/planning/names.js';
import { startTestBackend, type TestBackend } from '../support/moto.js';

// The cluster's instance profiles over moto's IAM: made, found again, refused when not ours.
let backend: TestBackend;
let iam: IAMClient;
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ],
});

beforeAll(async () => {
  backend = await startTestBackend();
  iam = new IAMClient({});
}, 60_000);
afterAll(() => {
  iam?.destroy();
  backend?.stop();
});

const profiles = () => iamInstanceProfileApi(iam, { deployment: 'kopsless' });
const read = async (name: string) =>
  (await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }))).InstanceProfile;
const makeRole = (kind: 'masters' | 'nodes', cluster: string) =>
  iam.send(
    new CreateRoleCommand({
      RoleName: iamRoleName(kind, cluster),
      Path: '/kopsless/',
      AssumeRolePolicyDocument: TRUST,
    }),
  );

describe('iamInstanceProfileApi', () => {
  it("makes each kind's profile empty, under the cluster's path, with its tags", async () => {
    const cluster = 'make.example.com';

    await profiles().ensure(cluster, ['masters', 'nodes']);

    for (const kind of ['masters', 'nodes'] as const) {
      const made = await read(iamRoleName(kind, cluster));
      expect(made?.Path).toBe(`/kopsless/profiles/${cluster}/`);
      expect(made?.Roles).toEqual([]);
      expect(Object.fromEntries((made?.Tags ?? []).map((t) => [t.Key, t.Value]))).toEqual({
        KubernetesCluster: cluster,
        'kopsless.io/owner': 'kopsless',
      });
    }
  });

  it('finds its own profile again on a second run, not a second one', async () => {
    const cluster = 'again.example.com';
    await profiles().ensure(cluster, ['nodes']);
    const first = await read(iamRoleName('nodes', cluster));

    await profiles().ensure(cluster, ['nodes']);

    expect((await read(iamRoleName('nodes', cluster)))?.InstanceProfileId).toBe(
      first?.InstanceProfileId,
    );
  });

  it("puts each kind's role in its profile once, and returns the profiles' ARNs", async () => {
    const cluster = 'fill.example.com';
    await makeRole('masters', cluster);
    await makeRole('nodes', cluster);
    await profiles().ensure(cluster, ['masters', 'nodes']);

    const arns = await profiles().attachRoles(cluster, ['masters', 'nodes']);
    // A retried step: IAM would refuse a second role in a profile.
    await profiles().attachRoles(cluster, ['masters', 'nodes']);

    expect(arns.nodes).toBe(
      `arn:aws:iam::123456789012:instance-profile/kopsless/profiles/${cluster}/${iamRoleName('nodes', cluster)}`,
    );
    expect((await read(iamRoleName('nodes', cluster)))?.Roles?.map((r) => r.RoleName)).toEqual([
      iamRoleName('nodes', cluster),
    ]);
  });

  it('while the stack runs, fills the profiles whose role exists for the cluster and leaves the rest', async () => {
    const cluster = 'early.example.com';
    await iam.send(
      new CreateRoleCommand({
        RoleName: iamRoleName('masters', cluster),
        Path: '/kopsless/',
        AssumeRolePolicyDocument: TRUST,
        Tags: [{ Key: 'KubernetesCluster', Value: cluster }],
      }),
    );
    await profiles().ensure(cluster, ['masters', 'nodes']);

    const filled = await profiles().attachMadeRoles(cluster, ['masters', 'nodes']);
    const again = await profiles().attachMadeRoles(cluster, ['masters', 'nodes']);

    expect([filled, again]).toEqual([['masters'], ['masters']]);
    expect((await read(iamRoleName('masters', cluster)))?.Roles?.map((r) => r.RoleName)).toEqual([
      iamRoleName('masters', cluster),
    ]);
    expect((await read(iamRoleName('nodes', cluster)))?.Roles).toEqual([]);
  });

  it('while the stack runs, leaves a profile alone whose role of that name is not tagged for the cluster', async () => {
    const cluster = 'untagged.example.com';
    await makeRole('nodes', cluster);
    await profiles().ensure(cluster, ['nodes']);

    expect(await profiles().attachMadeRoles(cluster, ['nodes'])).toEqual([]);
    expect((await read(iamRoleName('nodes', cluster)))?.Roles).toEqual([]);
  });

  it('refuses a profile of its name under another path, naming it, and changes nothing', async () => {
    const cluster = 'elsewhere.example.com';
    const name = iamRoleName('nodes', cluster);
    await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name, Path: '/' }));

    const attempt = profiles().attachRoles(cluster, ['nodes']);

    await expect(attempt).rejects.toThrow(ResourceOwnedError);
    await expect(profiles().attachRoles(cluster, ['nodes'])).rejects.toThrow(
      `IAM instance profile ${name} exists but is not the one kopsless makes for cluster ${cluster}: its path is /, not /kopsless/profiles/${cluster}/`,
    );
    expect((await read(name))?.Roles).toEqual([]);
  });

  it("refuses a profile under the cluster's path tagged for another cluster", async () => {
    const cluster = 'tagged.example.com';
    await iam.send(
      new CreateInstanceProfileCommand({
        InstanceProfileName: iamRoleName('masters', cluster),
        Path: `/kopsless/profiles/${cluster}/`,
        Tags: [
          { Key: 'KubernetesCluster', Value: 'other.example.com' },
          { Key: 'kopsless.io/owner', Value: 'kopsless' },
        ],
      }),
    );

    await expect(profiles().ensure(cluster, ['masters'])).rejects.toThrow(
      `its KubernetesCluster tag is not ${cluster}`,
    );
  });

  it('refuses its own profile when it holds a role of another cluster', async () => {
    const cluster = 'held.example.com';
    await makeRole('nodes', 'other.example.com');
    await profiles().ensure(cluster, ['nodes']);
    await iam.send(
      new AddRoleToInstanceProfileCommand({
        InstanceProfileName: iamRoleName('nodes', cluster),
        RoleName: iamRoleName('nodes', 'other.example.com'),
      }),
    );

    await expect(profiles().attachRoles(cluster, ['nodes'])).rejects.toThrow(
      `it holds ${iamRoleName('nodes', 'other.example.com')}, not ${iamRoleName('nodes', cluster)}`,
    );
  });

  it("takes each kind's role out of the cluster's profile once, leaving the profile", async () => {
    const cluster = 'failed.example.com';
    await makeRole('masters', cluster);
    await profiles().attachRoles(cluster, ['masters']);

    const emptied = await profiles().detachRoles(cluster, ['masters', 'nodes', 'bastions']);
    const again = await profiles().detachRoles(cluster, ['masters', 'nodes', 'bastions']);

    expect([emptied, again]).toEqual([['masters'], []]);
    expect((await read(iamRoleName('masters', cluster)))?.Roles).toEqual([]);
  });

  it('leaves a profile of its name under another path holding its role', async () => {
    const cluster = 'foreign.example.com';
    const name = iamRoleName('nodes', cluster);
    await makeRole('nodes', cluster);
    await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name, Path: '/' }));
    await iam.send(
      new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }),
    );

    expect(await profiles().detachRoles(cluster, ['nodes'])).toEqual([]);
    expect((await read(name))?.Roles?.map((r) => r.RoleName)).toEqual([name]);
  });
});

describe('whileInstanceProfilePropagates', () => {
  it('turns Auto Scaling refusing a new profile into a transient error the state machine retries', async () => {
    const attempt = whileInstanceProfilePropagates(async () => {
      throw new AwsRequestError(
        'ValidationError: You must use a valid fully-formed launch template. Invalid IAM Instance Profile name',
      );
    });

    await expect(attempt).rejects.toThrow(TransientAwsError);
    await expect(attempt).rejects.toThrow(/IAM is still propagating it/);
  });

  it('passes any other error on as it is', async () => {
    const attempt = whileInstanceProfilePropagates(async () => {
      throw new AwsRequestError('ValidationError: MaxSize must be at least MinSize');
    });

    await expect(attempt).rejects.toThrow(AwsRequestError);
  });

  it("returns the operation's result", async () => {
    expect(await whileInstanceProfilePropagates(async () => 'created')).toBe('created');
  });
});
