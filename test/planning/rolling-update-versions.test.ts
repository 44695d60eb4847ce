import { describe, expect, it } from 'vitest';
import { ClusterNotValidError } from '../../src/errors.js';
import { nextRollStep, type RollGroup } from '../../src/planning/rolling-update.js';

/** A group of `size` instances running `running`, whose launch template now installs `wanted`. */
function group(
  name: string,
  role: string,
  wanted: string,
  running: Array<string | undefined>,
): RollGroup {
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
    const groups = [
      group('nodes-a', 'Node', '1.33.1', ['1.32.0']),
      group('control-plane-a', 'ControlPlane', '1.33.1', ['1.32.0']),
    ];

    const step = nextRollStep(groups);

    expect(step).toMatchObject({
      kind: 'replace',
      instanceGroup: 'control-plane-a',
      controlPlane: true,
    });
  });

  it('rolls the nodes once the control plane runs the new version', () => {
    const groups = [
      group('nodes-a', 'Node', '1.33.1', ['1.32.0']),
      group('control-plane-a', 'ControlPlane', '1.33.1', ['1.33.1']),
    ];

    const step = nextRollStep(groups);

    expect(step).toMatchObject({ kind: 'surge', instanceGroup: 'nodes-a' });
  });

  it('refuses a roll of node groups alone while the control plane runs the older version', () => {
    const groups = [
      group('nodes-a', 'Node', '1.33.1', ['1.32.0']),
      group('control-plane-a', 'ControlPlane', '1.33.1', ['1.32.0']),
    ];

    const roll = () => nextRollStep(groups, { instanceGroups: ['nodes-a'] });

    expect(roll).toThrow(ClusterNotValidError);
    expect(roll).toThrow(
      /cannot roll instance group "nodes-a" to Kubernetes 1\.33\.1: control-plane instance control-plane-a-0 \(instance group "control-plane-a"\) runs 1\.32\.0/,
    );
  });

  it('rolls node groups alone for a change that keeps their version (a maxPods change)', () => {
    const nodes = group('nodes-a', 'Node', '1.32.0', ['1.32.0']);
    nodes.members[0]!.specHash = 'old';
    const groups = [nodes, group('control-plane-a', 'ControlPlane', '1.32.0', ['1.32.0'])];

    const step = nextRollStep(groups, { instanceGroups: ['nodes-a'] });

    expect(step).toMatchObject({ kind: 'surge', instanceGroup: 'nodes-a' });
  });

  it('does not count control-plane instances without a version tag (launched before it was set)', () => {
    const groups = [
      group('nodes-a', 'Node', '1.33.1', ['1.32.0']),
      group('control-plane-a', 'ControlPlane', '1.33.1', [undefined]),
    ];

    const step = nextRollStep(groups, { instanceGroups: ['nodes-a'] });

    expect(step).toMatchObject({ kind: 'surge', instanceGroup: 'nodes-a' });
  });
});

describe('the control plane one minor version at a time during a roll', () => {
  it('refuses to roll the control plane two minor versions above its oldest member, naming group, instance and versions', () => {
    // An update to 1.33 applied and not rolled, then an update to 1.34: the template says 1.34, the instance runs 1.32.
    const groups = [
      group('control-plane-a', 'ControlPlane', '1.34.0', ['1.32.0']),
      group('nodes-a', 'Node', '1.34.0', ['1.32.0']),
    ];

    const roll = () => nextRollStep(groups);

    expect(roll).toThrow(ClusterNotValidError);
    expect(roll).toThrow(
      'cannot roll control-plane instance group "control-plane-a" to Kubernetes 1.34.0: control-plane instance control-plane-a-0 (instance group "control-plane-a") runs 1.32.0, and Kubernetes upgrades the control plane one minor version at a time; set spec.kubernetesVersion to a 1.33.x version',
    );
  });

  it('counts the oldest member of every control-plane group, even one whose own group is current', () => {
    const groups = [
      group('control-plane-a', 'ControlPlane', '1.34.0', ['1.33.1']),
      group('control-plane-b', 'ControlPlane', '1.34.0', ['1.32.0']),
    ];

    const roll = () => nextRollStep(groups);

    expect(roll).toThrow(
      /cannot roll control-plane instance group "control-plane-a" to Kubernetes 1\.34\.0: control-plane instance control-plane-b-0 \(instance group "control-plane-b"\) runs 1\.32\.0/,
    );
  });

  it('rolls the control plane one minor version up while some members still run the older one', () => {
    const groups = [
      group('control-plane-a', 'ControlPlane', '1.33.1', ['1.33.1', '1.32.0', '1.32.0']),
    ];

    const step = nextRollStep(groups);

    expect(step).toMatchObject({
      kind: 'replace',
      instanceGroup: 'control-plane-a',
      instanceIds: ['control-plane-a-1'],
    });
  });

  it('refuses to roll the control plane a minor version down', () => {
    const groups = [group('control-plane-a', 'ControlPlane', '1.32.9', ['1.33.1'])];

    const roll = () => nextRollStep(groups);

    expect(roll).toThrow(
      /cannot roll control-plane instance group "control-plane-a" to Kubernetes 1\.32\.9: control-plane instance control-plane-a-0 \(instance group "control-plane-a"\) runs 1\.33\.1, and minor version downgrades are not supported/,
    );
  });

  it('rolls the control plane to a lower patch version of the same minor', () => {
    const groups = [group('control-plane-a', 'ControlPlane', '1.33.0', ['1.33.1'])];

    const step = nextRollStep(groups);

    expect(step).toMatchObject({
      kind: 'replace',
      instanceGroup: 'control-plane-a',
      controlPlane: true,
    });
  });

  it('does not judge a control plane whose members carry no version tag', () => {
    const groups = [group('control-plane-a', 'ControlPlane', '1.34.0', [undefined])];

    const step = nextRollStep(groups);

    expect(step).toMatchObject({ kind: 'replace', instanceGroup: 'control-plane-a' });
  });
});
