import { describe, expect, it } from 'vitest';
import { SpecInvalidError } from '../../src/errors.js';
import { checkManifest } from '../../src/manifest/check.js';
import type { CompletedManifest } from '../../src/manifest/completed.js';
import { parseGoDuration, planGroups, resolveMaxPods } from '../../src/planning/launch-plan.js';
import { groupName } from '../../src/planning/names.js';
import { readFixture } from '../helpers.js';
import { INSTANCE_TYPES, SEED_IMAGE, SEED_OUTPUTS } from './fixtures.js';

const seed = checkManifest(readFixture('seed.yaml')).completed!;

function plan(manifest: CompletedManifest = seed) {
  return planGroups({
    manifest,
    outputs: SEED_OUTPUTS,
    images: new Map([[SEED_IMAGE, 'ami-0a1b2c3d4e5f60001']]),
    instanceTypes: new Map(Object.entries(INSTANCE_TYPES)),
    stateBucket: 'state-bucket',
    region: 'us-east-1',
  });
}

function edited(edit: (m: CompletedManifest) => void): CompletedManifest {
  const copy = structuredClone(seed);
  edit(copy);
  return copy;
}

describe('launch plan', () => {
  it('names groups and templates with a hash of (group, cluster), keeps <ig>.<cluster> as the Name tag and tags instances for the cluster', () => {
    const nodes = plan().find((p) => p.instanceGroup === 'nodes-us-east-1a')!;
    const instanceTags = nodes.launchTemplate.TagSpecifications.find(
      (t) => t.ResourceType === 'instance',
    )!.Tags;

    expect(nodes.name).toBe(groupName('nodes-us-east-1a', 'seed.example.com'));
    expect(nodes.name).toMatch(/^kopsless-nodes-us-east-1a\.seed\.example\.com-[0-9a-f]{16}$/);
    expect(nodes.kopsName).toBe('nodes-us-east-1a.seed.example.com');
    expect(instanceTags).toEqual(
      expect.arrayContaining([
        { Key: 'Name', Value: 'nodes-us-east-1a.seed.example.com' },
        { Key: 'KubernetesCluster', Value: 'seed.example.com' },
        { Key: 'kubernetes.io/cluster/seed.example.com', Value: 'owned' },
        { Key: 'kops.k8s.io/instancegroup', Value: 'nodes-us-east-1a' },
        { Key: 'kopsless.io/spec-hash', Value: nodes.specHash },
      ]),
    );
    expect(nodes.subnetIds).toEqual(['subnet-a']);
  });

  it("tags every instance's primary interface for its cluster", () => {
    const interfaceTags = plan().map(
      (p) =>
        p.launchTemplate.TagSpecifications.find((t) => t.ResourceType === 'network-interface')
          ?.Tags,
    );

    expect(interfaceTags).toEqual(
      plan().map(() => [{ Key: 'KubernetesCluster', Value: 'seed.example.com' }]),
    );
  });

  it('computes maxPods from the instance type under the VPC CNI', () => {
    expect(plan().map((p) => [p.instanceGroup, p.maxPods, p.maxPodsSource])).toEqual([
      ['control-plane-us-east-1a', 17, 'calculated'],
      ['nodes-us-east-1a', 17, 'calculated'],
      ['nodes-us-east-1b', 17, 'calculated'],
    ]);
  });

  it('lets an instance group kubelet.maxPods win over the cluster one', () => {
    const manifest = edited((m) => {
      m.cluster.spec.kubelet = { maxPods: 50 };
      m.instanceGroups[1]!.spec.kubelet = { maxPods: 80 };
    });

    expect(
      resolveMaxPods(manifest.cluster, manifest.instanceGroups[1]!, INSTANCE_TYPES['t3.medium']),
    ).toEqual({ maxPods: 80, source: 'instanceGroup' });
    expect(
      resolveMaxPods(manifest.cluster, manifest.instanceGroups[2]!, INSTANCE_TYPES['t3.medium']),
    ).toEqual({ maxPods: 50, source: 'cluster' });
  });

  it('uses the prefix delegation formula when the amazonvpc env enables it', () => {
    const manifest = edited(
      (m) =>
        (m.cluster.spec.networking = {
          amazonvpc: { env: [{ name: 'ENABLE_PREFIX_DELEGATION', value: 'true' }] },
        }),
    );

    expect(
      resolveMaxPods(manifest.cluster, manifest.instanceGroups[1]!, INSTANCE_TYPES['t3.medium'])
        .maxPods,
    ).toBe(110);
  });

  it('changes the spec hash when the machine type changes', () => {
    const before = plan()[1]!.specHash;

    const after = plan(edited((m) => (m.instanceGroups[1]!.spec.machineType = 'm5.large')))[1]!
      .specHash;

    expect(after).not.toBe(before);
  });

  it('keeps the spec hash when only the group size changes', () => {
    const before = plan()[1]!.specHash;

    const after = plan(
      edited((m) => Object.assign(m.instanceGroups[1]!.spec, { minSize: 3, maxSize: 5 })),
    )[1]!.specHash;

    expect(after).toBe(before);
  });

  it('reports an instance type EC2 does not know, naming the group', () => {
    const manifest = edited((m) => (m.instanceGroups[1]!.spec.machineType = 't9.huge'));

    expect(() => plan(manifest)).toThrow(SpecInvalidError);
    expect(() => plan(manifest)).toThrow(
      /instanceGroups\[nodes-us-east-1a\]\.spec\.machineType: Invalid value: "t9.huge"/,
    );
  });

  it('parses Go durations for maxInstanceLifetime', () => {
    expect(parseGoDuration('48h20m')).toBe(174000);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('soon')).toBeUndefined();
  });
});
