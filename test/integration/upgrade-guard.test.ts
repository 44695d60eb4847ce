import { DescribeLaunchTemplatesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { checkManifest } from '../../src/manifest/check.js';
import { groupName } from '../../src/planning/names.js';
import { readFixture } from '../helpers.js';
import { createCluster, startTestEnvironment, type TestEnvironment } from '../support/cluster.js';

// The update-cluster state machine, started without the CLI (as the API starts it), keeps the version rules.
const cluster = 'guard.example.com';
let env: TestEnvironment;

async function latestVersions(): Promise<Record<string, number>> {
  const found = await new EC2Client({}).send(
    new DescribeLaunchTemplatesCommand({
      Filters: [{ Name: 'tag:KubernetesCluster', Values: [cluster] }],
    }),
  );
  return Object.fromEntries(
    (found.LaunchTemplates ?? []).map((lt) => [
      lt.LaunchTemplateName ?? '',
      lt.LatestVersionNumber ?? 0,
    ]),
  );
}

beforeAll(async () => {
  env = await startTestEnvironment();
  await createCluster(
    env,
    readFixture('seed.yaml').replaceAll('seed.example.com', cluster),
    cluster,
  );
}, 120_000);
afterAll(async () => env?.stop());

/** Writes the spec with a Kubernetes version, as the API's replace does (checked, no version guard of the CLI). */
async function writeVersion(version: string): Promise<void> {
  const current = await env.store.readManifest(cluster);
  current.cluster.spec.kubernetesVersion = version;
  const check = checkManifest(
    [current.cluster, ...current.instanceGroups].map((d) => JSON.stringify(d)).join('\n---\n'),
  );
  await env.store.writeSpecs(check.manifest!, check.completed!);
}

describe('update-cluster and Kubernetes versions', () => {
  it('fails on a skipped minor version for the control plane, with the field path, and makes no new launch template version', async () => {
    const current = await env.store.readManifest(cluster);
    current.cluster.spec.kubernetesVersion = 'v1.34.0';
    const check = checkManifest(
      [current.cluster, ...current.instanceGroups].map((d) => JSON.stringify(d)).join('\n---\n'),
    );
    await env.store.writeSpecs(check.manifest!, check.completed!);
    const before = await latestVersions();

    const update = await runStateMachine('update-cluster', { input: { cluster }, waitMs: 20 });

    expect(update.status).toBe('FAILED');
    expect(update.error).toMatchObject({
      name: 'SpecInvalidError',
      cause: expect.stringContaining(
        'spec.kubernetesVersion: Forbidden: cannot upgrade the control plane from 1.32.0 to 1.34.0',
      ),
    });
    expect(await latestVersions()).toEqual(before);
    expect(Object.keys(before)).toContain(groupName('control-plane-us-east-1a', cluster));
  }, 60_000);

  it('fails on a second minor step after an update that was applied and not rolled: the control plane still runs the first version', async () => {
    await writeVersion('1.33.1');
    const first = await runStateMachine('update-cluster', { input: { cluster }, waitMs: 20 });
    await writeVersion('1.34.0');
    const before = await latestVersions();

    const second = await runStateMachine('update-cluster', { input: { cluster }, waitMs: 20 });

    expect(first.status, JSON.stringify(first.error)).toBe('SUCCEEDED');
    expect(second.status).toBe('FAILED');
    expect(second.error).toMatchObject({
      name: 'SpecInvalidError',
      cause: expect.stringMatching(
        /spec\.kubernetesVersion: Forbidden: cannot upgrade the control plane from 1\.32\.0 to 1\.34\.0: .*\(control-plane instance i-[0-9a-f]+ \(instance group "control-plane-us-east-1a"\) runs Kubernetes 1\.32\.0\)/,
      ),
    });
    expect(await latestVersions()).toEqual(before);
  }, 120_000);
});
