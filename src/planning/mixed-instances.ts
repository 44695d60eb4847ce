import type { FieldIssue } from '../errors.js';
import { field, index } from '../manifest/field.js';
import { igPath } from '../manifest/parse.js';
import { isObject } from '../manifest/shapes.js';
import type { InstanceGroup } from '../manifest/types.js';
import { calculateMaxPods, type InstanceTypeInfo } from './max-pods.js';

/**
 * kOps's `mixedInstancesPolicy` (spot and several instance types in one group) as the Auto Scaling
 * group's MixedInstancesPolicy, as kOps's awsmodel builds it. The launch template keeps the
 * group's `machineType`; the overrides list the others. Pure.
 */

/** kOps's `spec.mixedInstancesPolicy`. */
export interface MixedInstancesPolicySpec {
  instances?: string[];
  instanceRequirements?: {
    cpu?: { min?: string | number; max?: string | number };
    memory?: { min?: string | number; max?: string | number };
    excludedInstanceTypes?: string[];
  };
  onDemandAllocationStrategy?: string;
  onDemandBase?: number;
  onDemandAboveBase?: number;
  spotAllocationStrategy?: string;
  spotInstancePools?: number;
}

/** kOps's SpotAllocationStrategies. */
export const SPOT_ALLOCATION_STRATEGIES = [
  'lowest-price',
  'diversified',
  'capacity-optimized',
  'capacity-optimized-prioritized',
  'price-capacity-optimized',
] as const;

/** The Auto Scaling MixedInstancesPolicy, less the launch template the launch stage names. */
export interface MixedInstancesPolicy {
  Overrides?: Array<{
    InstanceType?: string;
    InstanceRequirements?: {
      VCpuCount: { Min: number; Max?: number };
      MemoryMiB: { Min: number; Max?: number };
      ExcludedInstanceTypes?: string[];
    };
  }>;
  InstancesDistribution: {
    OnDemandAllocationStrategy?: string;
    OnDemandBaseCapacity?: number;
    OnDemandPercentageAboveBaseCapacity?: number;
    SpotAllocationStrategy?: string;
    SpotInstancePools?: number;
  };
}

/** The group's mixed instances policy as written, if it has one. */
export function mixedInstancesSpec(ig: InstanceGroup): MixedInstancesPolicySpec | undefined {
  const value = ig.spec.mixedInstancesPolicy;
  return isObject(value) ? (value as MixedInstancesPolicySpec) : undefined;
}

/** The policy's instance types (kOps lets one entry list several, comma separated). */
export function listedInstanceTypes(ig: InstanceGroup): string[] {
  const listed = (mixedInstancesSpec(ig)?.instances ?? []).flatMap((entry) =>
    String(entry)
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  );
  return [...new Set(listed)];
}

/**
 * Every instance type an instance of the group may have: the launch template's machineType and
 * the policy's instances. Without a policy, the machineType alone.
 */
export function groupInstanceTypes(ig: InstanceGroup): string[] {
  const machineType = ig.spec.machineType;
  return [...new Set([...(machineType ? [machineType] : []), ...listedInstanceTypes(ig)])];
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** A Kubernetes quantity (`4Gi`, `8G`, `2`) as a number, or undefined if it is not one. */
export function parseQuantity(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(value.trim());
  if (!match) return undefined;
  const unit = match[2] ?? '';
  const factor = BINARY[unit] ?? DECIMAL[unit];
  return factor === undefined ? undefined : Number(match[1]) * factor;
}

/** kOps's `ScaledValue(resource.Mega)`: the quantity in millions, rounded up. */
const mega = (value: string | number) => Math.ceil((parseQuantity(value) ?? 0) / 1e6);
const whole = (value: string | number) => Math.ceil(parseQuantity(value) ?? 0);

/** The MixedInstancesPolicy for the group, or undefined without one. */
export function renderMixedInstancesPolicy(ig: InstanceGroup): MixedInstancesPolicy | undefined {
  const spec = mixedInstancesSpec(ig);
  if (!spec) return undefined;
  const overrides: NonNullable<MixedInstancesPolicy['Overrides']> = [];
  const requirements = spec.instanceRequirements;
  if (requirements) {
    const { cpu, memory } = requirements;
    overrides.push({
      InstanceRequirements: {
        VCpuCount: {
          Min: cpu?.min !== undefined ? whole(cpu.min) : 0,
          ...(cpu?.max !== undefined ? { Max: whole(cpu.max) } : {}),
        },
        MemoryMiB: {
          Min: memory?.min !== undefined ? mega(memory.min) : 0,
          ...(memory?.max !== undefined ? { Max: mega(memory.max) } : {}),
        },
        ...(requirements.excludedInstanceTypes?.length
          ? { ExcludedInstanceTypes: requirements.excludedInstanceTypes }
          : {}),
      },
    });
  }
  // As kOps: the overrides are the listed types; the launch template's own type is used only
  // when none is listed.
  for (const type of listedInstanceTypes(ig)) overrides.push({ InstanceType: type });
  return {
    ...(overrides.length > 0 ? { Overrides: overrides } : {}),
    InstancesDistribution: {
      ...(spec.onDemandAllocationStrategy
        ? { OnDemandAllocationStrategy: spec.onDemandAllocationStrategy }
        : {}),
      ...(spec.onDemandBase !== undefined ? { OnDemandBaseCapacity: spec.onDemandBase } : {}),
      ...(spec.onDemandAboveBase !== undefined
        ? { OnDemandPercentageAboveBaseCapacity: spec.onDemandAboveBase }
        : {}),
      ...(spec.spotAllocationStrategy
        ? { SpotAllocationStrategy: spec.spotAllocationStrategy }
        : {}),
      ...(spec.spotInstancePools !== undefined
        ? { SpotInstancePools: spec.spotInstancePools }
        : {}),
    },
  };
}

/**
 * The instance type with the fewest pod slots among `infos`: kubelet's maxPods is one value in
 * the launch template for every instance the group launches, so it must fit the smallest.
 */
export function smallestInstanceType(
  infos: InstanceTypeInfo[],
  prefixDelegation: boolean,
): InstanceTypeInfo | undefined {
  let smallest: { info: InstanceTypeInfo; pods: number } | undefined;
  for (const info of infos) {
    const pods = calculateMaxPods(info, { prefixDelegation }).maxPods;
    if (!smallest || pods < smallest.pods) smallest = { info, pods };
  }
  return smallest?.info;
}

/** kOps's rules for `mixedInstancesPolicy` that need no cloud (aws.go awsValidateMixedInstancesPolicy). */
export function validateMixedInstancesPolicy(ig: InstanceGroup): FieldIssue[] {
  const spec = mixedInstancesSpec(ig);
  if (!spec) return [];
  const path = igPath(ig.metadata.name, 'spec.mixedInstancesPolicy');
  const issues: FieldIssue[] = [];
  const { onDemandBase, onDemandAboveBase, spotAllocationStrategy } = spec;
  if (typeof onDemandBase === 'number') {
    if (onDemandBase < 0)
      issues.push(field.invalid(`${path}.onDemandBase`, onDemandBase, 'cannot be less than zero'));
    if (onDemandBase > (ig.spec.maxSize ?? 0))
      issues.push(
        field.invalid(`${path}.onDemandBase`, onDemandBase, 'cannot be greater than max size'),
      );
  }
  if (typeof onDemandAboveBase === 'number') {
    if (onDemandAboveBase < 0)
      issues.push(
        field.invalid(`${path}.onDemandAboveBase`, onDemandAboveBase, 'cannot be less than 0'),
      );
    if (onDemandAboveBase > 100)
      issues.push(
        field.invalid(`${path}.onDemandAboveBase`, onDemandAboveBase, 'cannot be greater than 100'),
      );
  }
  if (
    spotAllocationStrategy !== undefined &&
    !(SPOT_ALLOCATION_STRATEGIES as readonly string[]).includes(String(spotAllocationStrategy))
  )
    issues.push(
      field.notSupported(
        `${path}.spotAllocationStrategy`,
        spotAllocationStrategy,
        SPOT_ALLOCATION_STRATEGIES,
      ),
    );
  if (spec.instances !== undefined && !Array.isArray(spec.instances))
    issues.push(
      field.invalid(`${path}.instances`, spec.instances, 'must be a list of instance types'),
    );
  (Array.isArray(spec.instances) ? spec.instances : []).forEach((entry, i) => {
    if (typeof entry !== 'string' || entry.trim() === '')
      issues.push(field.invalid(index(`${path}.instances`, i), entry, 'must be an instance type'));
  });
  return issues;
}
