import { CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { DescribeLaunchTemplateVersionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  GetInstanceProfileCommand,
  IAMClient,
  ListInstanceProfilesCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localHandler, localSettingsFromEnv } from '../../src/local/sfn/handlers.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { groupName, iamRoleName, stackName } from '../../src/planning/names.js';
import { readFixture } from '../helpers.js';
import { startTestBackend, type TestBackend } from '../support/moto.js';

// Each cluster's instance profiles are made by its launch session under its own path, tagged for
// it, outside its stack; delete removes them before the stack takes the roles in them.
let backend: TestBackend;
const cluster = 'profiles.example.com';
const iam = () => new IAMClient({});
const path = `/kopsless/profiles/${cluster}/`;

async function profilesUnderPath() {
  const out = await iam().send(new ListInstanceProfilesCommand({}));
  return (out.InstanceProfiles ?? []).filter((p) => p.Path === path);
}
const profile = async (kind: 'masters' | 'nodes') =>
  (
    await iam().send(
      new GetInstanceProfileCommand({ InstanceProfileName: iamRoleName(kind, cluster) }),
    )
  ).InstanceProfile;

beforeAll(async () => {
  backend = await startTestBackend();
  const manifest = readFixture('seed.yaml').replaceAll('seed.example.com', cluster);
  const created = await runStateMachine('create-cluster', { input: { manifest }, waitMs: 20 });
  if (created.status !== 'SUCCEEDED')
    throw new Error(`create failed: ${created.error?.name}: ${created.error?.cause}`);
}, 180_000);
afterAll(() => backend?.stop());

describe("a cluster's instance profiles", () => {
  it("live under the cluster's path, tagged for it, each holding its kind's role", async () => {
    const found = await profilesUnderPath();

    expect(found.map((p) => p.InstanceProfileName).sort()).toEqual(
      [iamRoleName('masters', cluster), iamRoleName('nodes', cluster)].sort(),
    );
    for (const kind of ['masters', 'nodes'] as const) {
      const made = await profile(kind);
      expect(Object.fromEntries((made?.Tags ?? []).map((t) => [t.Key, t.Value]))).toEqual({
        KubernetesCluster: cluster,
        'kopsless.io/owner': 'kopsless',
      });
      expect(made?.Roles?.map((r) => r.RoleName)).toEqual([iamRoleName(kind, cluster)]);
    }
  });

  it('are not in the stack, which makes no instance profile', async () => {
    const template = await new CloudFormationClient({}).send(
      new GetTemplateCommand({ StackName: stackName(cluster) }),
    );

    const types = Object.values(
      JSON.parse(template.TemplateBody ?? '{}').Resources as Record<string, { Type: string }>,
    ).map((r) => r.Type);
    expect(types).toContain('AWS::IAM::Role');
    expect(types).not.toContain('AWS::IAM::InstanceProfile');
  });

  it('are what the launch templates name', async () => {
    const versions = await new EC2Client({}).send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateName: groupName('nodes-us-east-1a', cluster),
        Versions: ['$Latest'],
      }),
    );

    expect(versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.IamInstanceProfile?.Arn).toBe(
      (await profile('nodes'))?.Arn,
    );
  });

  it('are found again, not made twice, when launch runs again', async () => {
    const before = await profile('masters');
    const launch = await localHandler('LaunchClusterFunction', localSettingsFromEnv(process.env));

    await launch({ action: 'ensureStack', cluster, owner: 'second-run' }, {} as never);
    await launch({ action: 'ensureGroups', cluster, owner: 'second-run' }, {} as never);

    expect((await profile('masters'))?.InstanceProfileId).toBe(before?.InstanceProfileId);
    expect((await profile('masters'))?.Roles).toHaveLength(1);
  });

  it('go with the cluster, before its roles', async () => {
    const deleted = await runStateMachine('delete-cluster', { input: { cluster }, waitMs: 20 });

    expect(deleted.status).toBe('SUCCEEDED');
    expect(await profilesUnderPath()).toEqual([]);
  }, 120_000);
});
