import { describe, expect, it } from 'vitest';
import type { GroupState } from '../../src/aws/autoscaling.js';
import type { KubeNode } from '../../src/kube/port.js';
import { checkManifest } from '../../src/manifest/check.js';
import { groupName } from '../../src/planning/names.js';
import { evaluateValidation } from '../../src/stages/validate-cluster.js';
import { readFixture } from '../helpers.js';

const seed = checkManifest(readFixture('seed.yaml')).completed!;
const cluster = seed.cluster.metadata.name;
const withVersion = (version: string) => ({
  ...seed,
  cluster: { ...seed.cluster, spec: { ...seed.cluster.spec, kubernetesVersion: version } },
});

/** One in-service instance and one Ready node per instance group (bastions have no node), each on `versionOf(group)`. */
function observed(versionOf: (group: string) => string) {
  const groups: GroupState[] = [];
  const nodes: KubeNode[] = [];
  for (const ig of seed.instanceGroups) {
    const instanceId = `i-${ig.metadata.name}`;
    const size = ig.spec.minSize ?? 1;
    const instances = Array.from({ length: size }, (_, i) => ({
      instanceId: `${instanceId}-${i}`,
      lifecycleState: 'InService',
      healthStatus: 'Healthy',
      zone: 'us-east-1a',
    }));
    groups.push({
      name: groupName(ig.metadata.name, cluster),
      minSize: size,
      maxSize: size,
      desiredCapacity: size,
      subnetIds: [],
      tags: {},
      instances,
    });
    if (ig.spec.role === 'Bastion') continue;
    for (const instance of instances) {
      nodes.push({
        name: `node-${instance.instanceId}`,
        providerId: `aws:///us-east-1a/${instance.instanceId}`,
        instanceId: instance.instanceId,
        instanceGroup: ig.metadata.name,
        role: ig.spec.role === 'Node' ? 'node' : 'control-plane',
        ready: true,
        unschedulable: false,
        allocatablePods: 17,
        kubeletVersion: versionOf(ig.metadata.name),
      });
    }
  }
  return { groups, nodes, apiRecords: {} };
}

const isControlPlane = (group: string) => group.startsWith('control-plane');

describe('validate cluster: kubelet versions', () => {
  it('is valid when every node runs the spec version', () => {
    const result = evaluateValidation({
      manifest: withVersion('v1.33.1'),
      ...observed(() => 'v1.33.1'),
    });

    expect(result.failures).toEqual([]);
  });

  it("reports each node whose version is not its instance group's", () => {
    const result = evaluateValidation({
      manifest: withVersion('1.33.1'),
      ...observed((g) => (isControlPlane(g) ? 'v1.33.1' : 'v1.32.0')),
    });

    expect(result.valid).toBe(false);
    expect(result.failures.length).toBeGreaterThan(0);
    for (const failure of result.failures) {
      expect(failure).toMatchObject({
        type: 'Node',
        message: expect.stringMatching(
          /^node "node-i-nodes-[^"]+" of role "node" runs kubelet v1\.32\.0, but instance group "nodes-[^"]+" specifies Kubernetes 1\.33\.1/,
        ),
      });
    }
  });

  it('lets nodes not replaced yet run the old version during a roll', () => {
    const result = evaluateValidation({
      manifest: withVersion('1.33.1'),
      ...observed((g) => (isControlPlane(g) ? 'v1.33.1' : 'v1.32.0')),
      rolling: true,
    });

    expect(result.failures).toEqual([]);
  });

  it('fails a node ahead of the control plane, during a roll too', () => {
    const result = evaluateValidation({
      manifest: withVersion('1.33.1'),
      ...observed((g) => (isControlPlane(g) ? 'v1.32.0' : 'v1.33.1')),
      rolling: true,
    });

    expect(result.valid).toBe(false);
    expect(result.failures[0]?.message).toMatch(
      /^node "node-i-nodes-[^"]+" of role "node" runs kubelet v1\.33\.1, newer than the control plane's v1\.32\.0: nodes must never be ahead of the control plane$/,
    );
  });

  it('lets nodes on a newer patch of the same minor wait for their step in a patch downgrade (control plane rolled to 1.33.0 first)', () => {
    const result = evaluateValidation({
      manifest: withVersion('1.33.0'),
      ...observed((g) => (isControlPlane(g) ? 'v1.33.0' : 'v1.33.1')),
      rolling: true,
    });

    expect(result.failures).toEqual([]);
  });
});
