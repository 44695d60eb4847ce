import type { Instance, RequestLaunchTemplateData } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../src/manifest/check.js';
import { groupName } from '../../src/planning/names.js';
import {
  type ControlPlaneVersionDeps,
  runningControlPlaneVersion,
} from '../../src/stages/control-plane-version.js';
import { readFixture } from '../helpers.js';

const cluster = 'seed.example.com';
const manifest = checkManifest(readFixture('seed.yaml')).completed!;
const controlPlaneGroup = 'control-plane-us-east-1a';

function instance(id: string, tags: Record<string, string>): Instance {
  return {
    InstanceId: id,
    Tags: Object.entries({ KubernetesCluster: cluster, ...tags }).map(([Key, Value]) => ({
      Key,
      Value,
    })),
  };
}
const controlPlane = (id: string, version?: string) =>
  instance(id, {
    'k8s.io/role/control-plane': '1',
    'kops.k8s.io/instancegroup': controlPlaneGroup,
    ...(version ? { 'kopsless.io/kubernetes-version': version } : {}),
  });
const node = (id: string, version: string) =>
  instance(id, {
    'k8s.io/role/node': '1',
    'kops.k8s.io/instancegroup': 'nodes-us-east-1a',
    'kopsless.io/kubernetes-version': version,
  });

/** EC2 as the guard reads it: these instances, and launch templates (by name) whose boot script installs a version. */
function ec2(
  instances: Instance[],
  templates: Record<string, string> = {},
): ControlPlaneVersionDeps {
  return {
    ec2: {
      describeInstances: async () => instances,
      describeLaunchTemplate: async (name) =>
        templates[name]
          ? { id: name, latestVersion: 1, defaultVersion: 1, tags: { KubernetesCluster: cluster } }
          : undefined,
      latestLaunchTemplateData: async (id): Promise<RequestLaunchTemplateData | undefined> => ({
        UserData: Buffer.from(
          `#!/bin/bash\nreadonly KUBERNETES_VERSION='${templates[id]}'\n`,
        ).toString('base64'),
      }),
    },
  };
}

describe('the version the control plane runs', () => {
  it('is the oldest version tag of the control-plane instances, naming the instance', async () => {
    const deps = ec2([controlPlane('i-new', '1.33.1'), controlPlane('i-old', '1.32.0')], {
      [groupName(controlPlaneGroup, cluster)]: '1.33.1',
    });

    const running = await runningControlPlaneVersion(cluster, manifest, deps);

    expect(running).toEqual({
      version: '1.32.0',
      instanceId: 'i-old',
      instanceGroup: controlPlaneGroup,
      source: 'instance',
    });
  });

  it('does not count nodes, which may run older versions', async () => {
    const deps = ec2([node('i-node', '1.31.0'), controlPlane('i-cp', 'v1.32.0')]);

    const running = await runningControlPlaneVersion(cluster, manifest, deps);

    expect(running?.version).toBe('1.32.0');
  });

  it('is the last applied version (the control plane launch template) when no instance carries a version tag', async () => {
    const deps = ec2([controlPlane('i-untagged')], {
      [groupName(controlPlaneGroup, cluster)]: '1.33.1',
    });

    const running = await runningControlPlaneVersion(cluster, manifest, deps);

    expect(running).toEqual({
      version: '1.33.1',
      instanceGroup: controlPlaneGroup,
      source: 'applied',
    });
  });

  it('is none for a cluster never applied: a spec only set is not running', async () => {
    const running = await runningControlPlaneVersion(cluster, manifest, ec2([]));

    expect(running).toBeUndefined();
  });
});
