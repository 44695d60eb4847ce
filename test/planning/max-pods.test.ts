import { describe, expect, it } from 'vitest';
import {
  calculateMaxPods,
  prefixDelegationEnabled,
  prefixDelegationSupport,
} from '../../src/planning/max-pods.js';
import { INSTANCE_TYPES } from './fixtures.js';

const type = (name: string) => INSTANCE_TYPES[name]!;

describe('max pods, plain VPC CNI formula ENIs*(IPs-1)+2', () => {
  it.each([
    ['t3.medium', 17],
    ['t3.micro', 4],
    ['m5.large', 29],
    ['m4.large', 20],
    ['m5.8xlarge', 234],
    ['m5.24xlarge', 737],
  ])('%s allows %i pods uncapped', (name, expected) => {
    expect(calculateMaxPods(type(name), { showMaxAllowed: true }).maxPods).toBe(expected);
  });

  it('caps at 110 for 30 vCPUs or fewer and 250 above', () => {
    expect(calculateMaxPods(type('m5.24xlarge')).maxPods).toBe(250);
    expect(calculateMaxPods({ ...type('m5.24xlarge'), vcpus: 30 }).maxPods).toBe(110);
    expect(calculateMaxPods(type('m5.8xlarge')).maxPods).toBe(234);
  });

  it('counts only the default network card of a multi-card type', () => {
    expect(calculateMaxPods(type('p4d.24xlarge'), { showMaxAllowed: true }).maxPods).toBe(
      15 * 49 + 2,
    );
  });

  it('uses one ENI fewer with custom networking', () => {
    expect(calculateMaxPods(type('t3.medium'), { customNetworking: true }).maxPods).toBe(12);
  });

  it('honours a lower MAX_ENI', () => {
    expect(calculateMaxPods(type('m5.large'), { cniMaxEni: 1, showMaxAllowed: true }).maxPods).toBe(
      11,
    );
  });
});

describe('max pods with prefix delegation ENIs*((IPs-1)*16)+2', () => {
  it('gives a Nitro t3.medium 110 (capped from 242)', () => {
    expect(
      calculateMaxPods(type('t3.medium'), { prefixDelegation: true, showMaxAllowed: true }).maxPods,
    ).toBe(242);
    expect(calculateMaxPods(type('t3.medium'), { prefixDelegation: true }).maxPods).toBe(110);
  });

  it('applies to bare metal', () => {
    expect(calculateMaxPods(type('m5.metal'), { prefixDelegation: true }).prefixDelegation).toBe(
      true,
    );
  });

  it('does not apply to a Xen instance, and says why', () => {
    const result = calculateMaxPods(type('t2.medium'), { prefixDelegation: true });

    expect(result.maxPods).toBe(17);
    expect(result.notes.join(' ')).toMatch(/not a Nitro or bare-metal instance/);
  });

  it('needs CNI 1.9 or later', () => {
    expect(prefixDelegationSupport(type('t3.medium'), '1.8.0').supported).toBe(false);
    expect(prefixDelegationSupport(type('t3.medium'), 'v1.9.0').supported).toBe(true);
  });

  it('reads ENABLE_PREFIX_DELEGATION from the amazonvpc env', () => {
    expect(prefixDelegationEnabled([{ name: 'ENABLE_PREFIX_DELEGATION', value: 'true' }])).toBe(
      true,
    );
    expect(prefixDelegationEnabled([{ name: 'WARM_PREFIX_TARGET', value: '1' }])).toBe(false);
  });
});
