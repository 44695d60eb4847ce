import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isControlPlaneRole } from '../../src/manifest/types.js';
import { orderGroups, planWaves, type WaveGroup } from '../../src/planning/rolling-update.js';

const ZONES = ['a', 'b', 'c', 'd', 'e', 'f'].map((z) => `eu-west-1${z}`);

// Groups with unique names, random roles and zone sets (sometimes none).
const groupsArb = fc
  .uniqueArray(
    fc.record({
      instanceGroup: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
      role: fc.constantFrom(
        'Node',
        'Node',
        'Node',
        'Master',
        'ControlPlane',
        'Bastion',
        'APIServer',
      ),
      zones: fc.uniqueArray(fc.constantFrom(...ZONES), { maxLength: 3 }),
    }),
    { selector: (g) => g.instanceGroup, maxLength: 25 },
  )
  .map((gs) => gs as WaveGroup[]);
const optionsArb = fc.record({
  parallelGroups: fc.integer({ min: 1, max: 20 }),
  allowSameZone: fc.boolean(),
});

describe('planWaves (which groups roll together)', () => {
  it('puts every group in exactly one wave', () => {
    fc.assert(
      fc.property(groupsArb, optionsArb, (groups, options) => {
        const names = planWaves(groups, options).flat();
        expect([...names].sort()).toEqual(groups.map((g) => g.instanceGroup).sort());
      }),
    );
  });

  it('is kOps order, one group per wave, with parallelGroups 1', () => {
    fc.assert(
      fc.property(groupsArb, fc.boolean(), (groups, allowSameZone) => {
        expect(planWaves(groups, { parallelGroups: 1, allowSameZone })).toEqual(
          orderGroups(groups).map((g) => [g.instanceGroup]),
        );
      }),
    );
  });

  it('never puts two groups sharing a zone (or of unknown zones) in one wave unless allowed', () => {
    fc.assert(
      fc.property(groupsArb, fc.integer({ min: 1, max: 20 }), (groups, parallelGroups) => {
        const byName = new Map(groups.map((g) => [g.instanceGroup, g]));
        for (const wave of planWaves(groups, { parallelGroups })) {
          const zones = wave.flatMap((n) => byName.get(n)!.zones);
          expect(new Set(zones).size).toBe(zones.length);
          if (wave.length > 1)
            expect(wave.every((n) => byName.get(n)!.zones.length > 0)).toBe(true);
        }
      }),
    );
  });

  it('rolls bastions and control-plane groups alone, before any node group, and at most parallelGroups per wave', () => {
    fc.assert(
      fc.property(groupsArb, optionsArb, (groups, options) => {
        const byName = new Map(groups.map((g) => [g.instanceGroup, g]));
        const waves = planWaves(groups, options);
        const rank = (n: string) =>
          byName.get(n)!.role === 'Bastion' ? 0 : isControlPlaneRole(byName.get(n)!.role) ? 1 : 2;
        for (const wave of waves) {
          expect(wave.length).toBeLessThanOrEqual(options.parallelGroups);
          if (wave.some((n) => rank(n) < 2)) expect(wave).toHaveLength(1);
        }
        const ranks = waves.map((w) => rank(w[0]!));
        expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
      }),
    );
  });

  it('rolls node groups of disjoint zones together, up to parallelGroups', () => {
    const groups: WaveGroup[] = [
      { instanceGroup: 'control-plane-a', role: 'ControlPlane', zones: ['eu-west-1a'] },
      { instanceGroup: 'nodes-a', role: 'Node', zones: ['eu-west-1a'] },
      { instanceGroup: 'nodes-b', role: 'Node', zones: ['eu-west-1b'] },
      { instanceGroup: 'nodes-c', role: 'Node', zones: ['eu-west-1c'] },
      { instanceGroup: 'spot-a', role: 'Node', zones: ['eu-west-1a'] },
    ];

    const waves = planWaves(groups, { parallelGroups: 2 });

    expect(waves).toEqual([['control-plane-a'], ['nodes-a', 'nodes-b'], ['nodes-c', 'spot-a']]);
  });

  it('lets groups share a zone when allowSameZone is set', () => {
    const groups: WaveGroup[] = [
      { instanceGroup: 'nodes-1', role: 'Node', zones: ['eu-west-1a'] },
      { instanceGroup: 'nodes-2', role: 'Node', zones: ['eu-west-1a'] },
    ];

    expect(planWaves(groups, { parallelGroups: 2, allowSameZone: true })).toEqual([
      ['nodes-1', 'nodes-2'],
    ]);
    expect(planWaves(groups, { parallelGroups: 2 })).toEqual([['nodes-1'], ['nodes-2']]);
  });
});
