import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../src/manifest/check.js';
import type { CompletedManifest } from '../../src/manifest/completed.js';
import { planGroups } from '../../src/planning/launch-plan.js';
import { parseQuantity, renderMixedInstancesPolicy } from '../../src/planning/mixed-instances.js';
import { editManifest, readFixture } from '../helpers.js';
import { INSTANCE_TYPES, SEED_IMAGE, SEED_OUTPUTS } from './fixtures.js';

const seed = readFixture('seed.yaml');

/** The seed with a mixed instances policy on nodes-us-east-1a. */
function withPolicy(policy: Record<string, unknown>): string {
  return editManifest(seed, (_c, groups) => {
    groups.get('nodes-us-east-1a')!.spec.mixedInstancesPolicy = policy;
  });
}

function plan(text: string) {
  const check = checkManifest(text);
  expect(check.errors).toEqual([]);
  expect(check.unsupported).toEqual([]);
  return planGroups({
    manifest: check.completed as CompletedManifest,
    outputs: SEED_OUTPUTS,
    images: new Map([[SEED_IMAGE, 'ami-0a1b2c3d4e5f60001']]),
    instanceTypes: new Map(Object.entries(INSTANCE_TYPES)),
    stateBucket: 'state-bucket',
    region: 'us-east-1',
  }).find((p) => p.instanceGroup === 'nodes-us-east-1a')!;
}

const spot = {
  instances: ['t3.medium', 'm5.large', 't3.micro'],
  onDemandBase: 0,
  onDemandAboveBase: 20,
  spotAllocationStrategy: 'price-capacity-optimized',
};

describe('mixedInstancesPolicy', () => {
  it('becomes the group MixedInstancesPolicy, the listed types as overrides', () => {
    const group = plan(withPolicy(spot));

    expect(group.mixedInstancesPolicy).toEqual({
      Overrides: [
        { InstanceType: 't3.medium' },
        { InstanceType: 'm5.large' },
        { InstanceType: 't3.micro' },
      ],
      InstancesDistribution: {
        OnDemandBaseCapacity: 0,
        OnDemandPercentageAboveBaseCapacity: 20,
        SpotAllocationStrategy: 'price-capacity-optimized',
      },
    });
  });

  it('sizes kubelet maxPods for the smallest type the group may launch', () => {
    const group = plan(withPolicy(spot));

    // t3.micro: 2 ENIs x (2 - 1) + 2 = 4, below t3.medium's 17 and m5.large's 29.
    expect(group.maxPods).toBe(4);
    expect(group.maxPodsInstanceType).toBe('t3.micro');
  });

  it('changes the spec hash when a type is taken off the list, so the roll replaces instances', () => {
    const before = plan(withPolicy(spot));
    const after = plan(withPolicy({ ...spot, instances: ['t3.medium', 'm5.large'] }));

    expect(after.specHash).not.toBe(before.specHash);
  });

  it('turns instanceRequirements into vCPU and memory bounds, memory in MB as kOps scales it', () => {
    const group = plan(
      withPolicy({
        instanceRequirements: {
          cpu: { min: '2', max: '8' },
          memory: { min: '4G', max: '16G' },
          excludedInstanceTypes: ['t2.*'],
        },
        onDemandAboveBase: 0,
      }),
    );

    expect(group.mixedInstancesPolicy?.Overrides).toEqual([
      {
        InstanceRequirements: {
          VCpuCount: { Min: 2, Max: 8 },
          MemoryMiB: { Min: 4000, Max: 16000 },
          ExcludedInstanceTypes: ['t2.*'],
        },
      },
    ]);
  });

  it('refuses a listed type the region does not offer, naming the group', () => {
    const text = withPolicy({ instances: ['t3.medium', 'x9.huge'] });

    expect(() => plan(text)).toThrow(/x9\.huge.*not offered/);
  });

  it("keeps kOps's rules: onDemandAboveBase within 0-100 and a known spot strategy", () => {
    const text = withPolicy({ onDemandAboveBase: 120, spotAllocationStrategy: 'cheapest' });

    expect(checkManifest(text).errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'instanceGroups[nodes-us-east-1a].spec.mixedInstancesPolicy.onDemandAboveBase: Invalid value: 120: cannot be greater than 100',
      'instanceGroups[nodes-us-east-1a].spec.mixedInstancesPolicy.spotAllocationStrategy: Unsupported value: "cheapest": supported values: "lowest-price", "diversified", "capacity-optimized", "capacity-optimized-prioritized", "price-capacity-optimized"',
    ]);
  });

  it('reads Kubernetes quantities', () => {
    expect(parseQuantity('4Gi')).toBe(4 * 2 ** 30);
    expect(parseQuantity('8G')).toBe(8e9);
    expect(parseQuantity(2)).toBe(2);
    expect(parseQuantity('lots')).toBeUndefined();
  });

  it('is undefined for a group without a policy', () => {
    const check = checkManifest(seed);

    expect(renderMixedInstancesPolicy(check.completed!.instanceGroups[0]!)).toBeUndefined();
  });
});
