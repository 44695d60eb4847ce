import { describe, expect, it } from 'vitest';
import { ClusterNotValidError } from '../../src/errors.js';
import { nextRollStep, type RollGroup } from '../../src/planning/rolling-update.js';

/** A group of `size` instances running `running`, whose launch template now installs `wanted`. */
function group(name: string, role: string, wanted: string, running: Array<string | undefined>): RollGroup {
  return {
    instanceGroup: name,
    role,
    asgName: `${name}.c.example.com`,
    min: running.length,
    max: running.length,
    desired: running.length,
    specHash: `hash-${wanted}`,
    kubernetesVersion: wanted,
    members: running.map((version, i) => ({
      instanceId: `${name}-${i}`,
      lifecycleState: 'InService',
      specHash: version === wanted ? `hash-${wanted}` : 'old',
      ...(version ? { kubernetesVersion: version } : {}),
    })),
    detached: [],
    settings: { maxSurge: 1, maxUnavailable: 0 },
  };
}

describe('nodes never ahead of the control plane during a roll', () => {
  it('replaces the control plane first in an upgrade of every group', () => {
    const groups = [group('nodes-a', 'Node', '1.33.1', ['1.32.0']), group('control-plane-a', 'ControlPlane', '1.33.1', ['1.32.0'])];

    const step = nextRollStep(groups);

    expect(step).toMatchObject({ kind: 'replace', instanceGroup: 'control-plane-a', controlPlane: true });
  });

  it('rolls the nodes once the control plane runs the new version', () => {
    const groups = [group('nodes-a', 'Node', '1.33.1', ['1.32.0']), group('control-plane-a', 'ControlPlane', '1.33.1', ['1.33.1'])];

    const step = nextRollStep(groups);

    expect(step).toMatchObject({ kind: 'surge', instanceGroup: 'nodes-a' });
  });

  it('refuses a roll of node groups alone while the control plane runs the older version', () => {
    const groups = [group('nodes-a', 'Node', '1.33.1', ['1.32.0']), group('control-plane-a', 'ControlPlane', '1.33.1', ['1.32.0'])];

    const roll = () => nextRollStep(groups, { instanceGroups: ['nodes-a'] });

    expect(roll).toThrow(ClusterNotValidError);
    expect(roll).toThrow(/cannot roll instance group "nodes-a" to Kubernetes 1\.33\.1: control-plane instance control-plane-a-0 \(instance group "control-plane-a"\) runs 1\.32\.0/);
  });

  it('rolls node groups alone for a change that keeps their version (a maxPods change)', () => {
    const nodes = group('nodes-a', 'Node', '1.32.0', ['1.32.0']);
    nodes.members[0]!.specHash = 'old';
    const groups = [nodes, group('control-plane-a', 'ControlPlane', '1.32.0', ['1.32.0'])];

    const step = nextRollStep(groups, { instanceGroups: ['nodes-a'] });

    expect(step).toMatchObject({ kind: 'surge', instanceGroup: 'nodes-a' });
  });

  it('does not count control-plane instances without a version tag (launched before it was set)', () => {
    const groups = [group('nodes-a', 'Node', '1.33.1', ['1.32.0']), group('control-plane-a', 'ControlPlane', '1.33.1', [undefined])];

    const step = nextRollStep(groups, { instanceGroups: ['nodes-a'] });

    expect(step).toMatchObject({ kind: 'surge', instanceGroup: 'nodes-a' });
  });
});
