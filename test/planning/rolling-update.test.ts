import { describe, expect, it } from 'vitest';
import type { Cluster, InstanceGroup } from '../../src/manifest/types.js';
import {
  forcedMembers,
  nextRollStep,
  orderGroups,
  type RollGroup,
  type RollSettings,
  resolveRollSettings,
  rollStatus,
} from '../../src/planning/rolling-update.js';

const cluster = (rollingUpdate?: Cluster['spec']['rollingUpdate']): Cluster => ({
  apiVersion: 'kops.k8s.io/v1alpha2',
  kind: 'Cluster',
  metadata: { name: 'c.example.com' },
  spec: { ...(rollingUpdate ? { rollingUpdate } : {}) },
});
const ig = (
  role: InstanceGroup['spec']['role'],
  rollingUpdate?: InstanceGroup['spec']['rollingUpdate'],
): InstanceGroup => ({
  apiVersion: 'kops.k8s.io/v1alpha2',
  kind: 'InstanceGroup',
  metadata: { name: 'g' },
  spec: { role, ...(rollingUpdate ? { rollingUpdate } : {}) },
});

describe('rolling update settings (kOps resolveSettings on AWS)', () => {
  it.each([
    ['defaults', undefined, undefined, 3, { maxSurge: 1, maxUnavailable: 0 }],
    [
      'surge 0 makes unavailable 1',
      { maxSurge: 0 },
      undefined,
      3,
      { maxSurge: 0, maxUnavailable: 1 },
    ],
    [
      'group surge percentage rounds up',
      { maxSurge: '25%' },
      undefined,
      6,
      { maxSurge: 2, maxUnavailable: 0 },
    ],
    [
      'unavailable percentage rounds down',
      { maxSurge: 0, maxUnavailable: '50%' },
      undefined,
      5,
      { maxSurge: 0, maxUnavailable: 2 },
    ],
    [
      'unavailable percentage is at least 1',
      { maxSurge: 0, maxUnavailable: '10%' },
      undefined,
      3,
      { maxSurge: 0, maxUnavailable: 1 },
    ],
    [
      'cluster default applies when the group has none',
      undefined,
      { maxSurge: 2, maxUnavailable: 1 },
      4,
      { maxSurge: 2, maxUnavailable: 1 },
    ],
    [
      'group setting wins over the cluster default',
      { maxSurge: 3 },
      { maxSurge: 2 },
      4,
      { maxSurge: 3, maxUnavailable: 0 },
    ],
  ] as const)('%s', (_name, group, clusterDefault, size, expected) => {
    expect(
      resolveRollSettings(cluster(clusterDefault as never), ig('Node', group as never), size),
    ).toEqual(expected);
  });

  it('refuses a setting that skipped validation, naming the field, instead of reading it as 0', () => {
    const attempt = () =>
      resolveRollSettings(
        cluster(undefined as never),
        ig('Node', { maxSurge: 'a lot' } as never),
        3,
      );

    expect(attempt).toThrow(
      expect.objectContaining({
        name: 'InvalidInputError',
        message: expect.stringContaining('spec.rollingUpdate.maxSurge'),
      }),
    );
  });
});

function group(
  name: string,
  role: string,
  size: number,
  outdated: number,
  settings: RollSettings,
  detached: string[] = [],
): RollGroup {
  return {
    instanceGroup: name,
    role,
    asgName: `${name}.c.example.com`,
    min: size,
    max: size,
    desired: size,
    specHash: 'new',
    members: Array.from({ length: size }, (_, i) => ({
      instanceId: `${name}-${i}`,
      specHash: i < outdated ? 'old' : 'new',
      lifecycleState: 'InService',
    })),
    detached,
    settings,
  };
}

describe('ordering', () => {
  it('rolls bastions, then control-plane groups, then node groups', () => {
    const groups = [
      group('nodes-b', 'Node', 1, 1, { maxSurge: 1, maxUnavailable: 0 }),
      group('control-plane-a', 'Master', 1, 1, { maxSurge: 0, maxUnavailable: 1 }),
      group('bastions', 'Bastion', 1, 1, { maxSurge: 1, maxUnavailable: 0 }),
      group('nodes-a', 'Node', 1, 1, { maxSurge: 1, maxUnavailable: 0 }),
    ];

    expect(orderGroups(groups).map((g) => g.instanceGroup)).toEqual([
      'bastions',
      'control-plane-a',
      'nodes-a',
      'nodes-b',
    ]);
  });

  it('starts with the first group that needs an update and skips up-to-date ones', () => {
    const step = nextRollStep([
      group('control-plane-a', 'Master', 1, 0, { maxSurge: 0, maxUnavailable: 1 }),
      group('nodes', 'Node', 2, 2, { maxSurge: 0, maxUnavailable: 1 }),
    ]);

    expect(step).toMatchObject({
      kind: 'replace',
      instanceGroup: 'nodes',
      instanceIds: ['nodes-0'],
    });
  });

  it('says done when nothing is out of date', () => {
    expect(
      nextRollStep([group('nodes', 'Node', 2, 0, { maxSurge: 1, maxUnavailable: 0 })]),
    ).toEqual({ kind: 'done' });
  });

  it('only rolls the instance groups asked for', () => {
    const groups = [
      group('nodes-a', 'Node', 1, 1, { maxSurge: 0, maxUnavailable: 1 }),
      group('nodes-b', 'Node', 1, 1, { maxSurge: 0, maxUnavailable: 1 }),
    ];

    expect(nextRollStep(groups, { instanceGroups: ['nodes-b'] })).toMatchObject({
      instanceGroup: 'nodes-b',
    });
  });

  it('replaces everything with --force, even up-to-date instances', () => {
    const step = nextRollStep([group('nodes', 'Node', 2, 0, { maxSurge: 0, maxUnavailable: 1 })], {
      forceIds: ['nodes-0', 'nodes-1'],
    });

    expect(step).toMatchObject({ kind: 'replace', instanceIds: ['nodes-0'] });
  });
});

describe('batches', () => {
  it('never surges a control-plane group and replaces it one instance at a time', () => {
    const step = nextRollStep([
      group('control-plane-a', 'Master', 1, 1, { maxSurge: 1, maxUnavailable: 2 }),
    ]);

    expect(step).toEqual({
      kind: 'replace',
      instanceGroup: 'control-plane-a',
      asgName: 'control-plane-a.c.example.com',
      instanceIds: ['control-plane-a-0'],
      detachedIds: [],
      controlPlane: true,
    });
  });

  it('surges first: detaches maxSurge instances from the end of the list', () => {
    expect(
      nextRollStep([group('nodes', 'Node', 3, 3, { maxSurge: 1, maxUnavailable: 0 })]),
    ).toMatchObject({ kind: 'surge', instanceIds: ['nodes-2'] });
  });

  it('then replaces kept instances before detached ones, maxSurge+maxUnavailable at a time', () => {
    const g = group('nodes', 'Node', 3, 2, { maxSurge: 1, maxUnavailable: 1 }, ['old-detached']);

    expect(nextRollStep([g])).toMatchObject({
      kind: 'replace',
      instanceIds: ['nodes-0', 'nodes-1'],
      detachedIds: [],
    });
  });

  it('does not surge with --cloudonly', () => {
    expect(
      nextRollStep([group('nodes', 'Node', 3, 3, { maxSurge: 1, maxUnavailable: 0 })], {
        cloudOnly: true,
      }),
    ).toMatchObject({ kind: 'replace' });
  });
});

/**
 * Plays a whole roll against a model of an Auto Scaling group: detaching keeps the instance
 * serving and launches a replacement; terminating an instance of the group launches one after it
 * is gone. Records the fewest serving instances seen at any moment.
 */
function simulate(size: number, outdated: number, settings: RollSettings) {
  let g = group('nodes', 'Node', size, outdated, settings);
  let next = 0;
  let fewest = size;
  const steps: string[] = [];
  for (let guard = 0; guard < 100; guard++) {
    const step = nextRollStep([g]);
    if (step.kind === 'done') break;
    if (step.kind === 'surge') {
      g = {
        ...g,
        members: g.members
          .filter((m) => !step.instanceIds.includes(m.instanceId))
          .concat(
            step.instanceIds.map(() => ({
              instanceId: `new-${next++}`,
              specHash: 'new',
              lifecycleState: 'InService',
            })),
          ),
        detached: [...g.detached, ...step.instanceIds],
      };
    } else {
      const kept = g.members.filter((m) => !step.instanceIds.includes(m.instanceId));
      const detached = g.detached.filter((id) => !step.instanceIds.includes(id));
      fewest = Math.min(fewest, kept.length + detached.length);
      const replacements = step.instanceIds
        .filter((id) => !step.detachedIds.includes(id))
        .map(() => ({ instanceId: `new-${next++}`, specHash: 'new', lifecycleState: 'InService' }));
      g = { ...g, members: [...kept, ...replacements], detached };
    }
    steps.push(`${step.kind}:${step.instanceIds.length}`);
  }
  return { steps, fewest, final: g };
}

describe('a whole roll keeps at least desired - maxUnavailable serving', () => {
  it.each([
    [3, 3, { maxSurge: 1, maxUnavailable: 0 }],
    [3, 2, { maxSurge: 1, maxUnavailable: 0 }],
    [4, 4, { maxSurge: 2, maxUnavailable: 0 }],
    [4, 4, { maxSurge: 0, maxUnavailable: 1 }],
    [5, 5, { maxSurge: 1, maxUnavailable: 2 }],
    [6, 6, { maxSurge: 0, maxUnavailable: 3 }],
    [2, 1, { maxSurge: 3, maxUnavailable: 0 }],
  ])('%i instances, %i out of date, %o', (size, outdated, settings) => {
    const { fewest, final } = simulate(size, outdated, settings);

    expect(fewest).toBeGreaterThanOrEqual(size - settings.maxUnavailable);
    expect(final.members).toHaveLength(size);
    expect(final.members.every((m) => m.specHash === 'new')).toBe(true);
    expect(final.detached).toEqual([]);
  });

  it('replaces exactly the out-of-date instances', () => {
    const { steps } = simulate(4, 2, { maxSurge: 1, maxUnavailable: 0 });

    expect(steps).toEqual(['surge:1', 'replace:1', 'replace:1']);
  });
});

describe('status table', () => {
  it('counts what needs an update per group', () => {
    const rows = rollStatus([group('nodes', 'Node', 3, 2, { maxSurge: 1, maxUnavailable: 0 })], {
      nodes: 3,
    });

    expect(rows).toEqual([
      {
        name: 'nodes',
        status: 'NeedsUpdate',
        needUpdate: 2,
        ready: 1,
        min: 3,
        target: 3,
        max: 3,
        nodes: 3,
      },
    ]);
  });
});

describe('forcedMembers (--force)', () => {
  const g = (members: Array<[string, string]>): RollGroup => ({
    instanceGroup: 'nodes',
    role: 'Node',
    asgName: 'nodes.c.example.com',
    min: members.length,
    max: members.length,
    desired: members.length,
    specHash: 'h',
    members: members.map(([instanceId, launchedAt]) => ({
      instanceId,
      launchedAt,
      specHash: 'h',
      lifecycleState: 'InService',
    })),
    detached: [],
    settings: { maxSurge: 1, maxUnavailable: 0 },
  });

  it('takes every member of a fresh roll', () => {
    expect(
      forcedMembers([
        g([
          ['i-old', '2026-01-01T00:00:00Z'],
          ['i-older', '2025-01-01T00:00:00Z'],
        ]),
      ]),
    ).toEqual(['i-old', 'i-older']);
  });

  it('leaves out the replacements an interrupted roll launched after it began', () => {
    const groups = [
      g([
        ['i-not-yet-replaced', '2026-01-01T00:00:00Z'],
        ['i-replacement', '2026-01-01T00:10:05Z'],
      ]),
    ];

    expect(forcedMembers(groups, '2026-01-01T00:10:00Z')).toEqual(['i-not-yet-replaced']);
  });
});
