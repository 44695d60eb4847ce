import { describe, expect, it } from 'vitest';
import {
  DEFAULT_WATCHER_SETTINGS,
  decide,
  freePrefixes,
  type GroupObservation,
  type WatcherState,
} from '../../src/planning/eni-decision.js';
import { INSTANCE_TYPES } from './fixtures.js';

const NOW = new Date('2026-11-22T12:00:00Z');
const subnet = {
  subnetId: 'subnet-a',
  cidr: '172.30.0.0/18',
  usedIps: ['172.30.0.4', '172.30.0.5'],
};

function group(overrides: Partial<GroupObservation> = {}): GroupObservation {
  return {
    instanceGroup: 'nodes',
    nodes: [
      { name: 'n1', instanceType: 't3.medium', usedPods: 17, maxPods: 17 },
      { name: 'n2', instanceType: 't3.medium', usedPods: 16, maxPods: 17 },
    ],
    pendingTooManyPods: 4,
    instanceTypes: [INSTANCE_TYPES['t3.medium']!],
    subnets: [subnet],
    ...overrides,
  };
}

function run(
  groups: GroupObservation[],
  state: WatcherState = { consecutive: {} },
  extra: { prefixDelegationOn?: boolean; lockHolder?: string; now?: Date } = {},
) {
  return decide({
    cluster: 'c.example.com',
    now: extra.now ?? NOW,
    groups,
    prefixDelegationOn: extra.prefixDelegationOn ?? false,
    state,
    settings: DEFAULT_WATCHER_SETTINGS,
    ...(extra.lockHolder ? { lockHolder: extra.lockHolder } : {}),
  });
}

describe('ENI watcher decision', () => {
  it('waits for a second full observation before acting (hysteresis)', () => {
    const first = run([group()]);

    expect(first.decision.action).toBe('none');
    expect(first.decision.reason).toContain('watching: nodes (1/2)');
    expect(first.state.consecutive).toEqual({ nodes: 1 });
  });

  it('acts on the second: prefix delegation, maxPods 17 -> 110 for t3.medium', () => {
    const second = run([group()], { consecutive: { nodes: 1 } });

    expect(second.decision.action).toBe('enable-prefix-delegation');
    expect(second.decision.raise).toEqual([{ instanceGroup: 'nodes', from: 17, to: 110 }]);
    expect(second.state).toEqual({
      consecutive: { nodes: 0 },
      lastActionAt: NOW.toISOString(),
      lastCountedAt: NOW.toISOString(),
    });
  });

  it('counts a group at 90% of its slots as full even with nothing Pending', () => {
    const busy = group({
      pendingTooManyPods: 0,
      nodes: [{ name: 'n1', instanceType: 't3.medium', usedPods: 16, maxPods: 17 }],
    });

    expect(run([busy]).decision.groups[0]).toMatchObject({ full: true, utilization: 0.941 });
  });

  it('forgets a full observation once the group has room again', () => {
    const calm = group({
      pendingTooManyPods: 0,
      nodes: [{ name: 'n1', instanceType: 't3.medium', usedPods: 5, maxPods: 17 }],
    });

    const result = run([calm], { consecutive: { nodes: 1 } });

    expect(result.decision.action).toBe('none');
    expect(result.state.consecutive).toEqual({ nodes: 0 });
  });

  it('never acts twice within the cooldown', () => {
    const result = run([group()], {
      consecutive: { nodes: 5 },
      lastActionAt: '2026-11-22T11:50:00.000Z',
    });

    expect(result.decision.action).toBe('none');
    expect(result.decision.reason).toContain('cooling down until 2026-11-22T12:20:00.000Z');
  });

  it('reports, and does nothing, when prefix delegation is already on and the full group runs at its prefix-delegation maxPods', () => {
    const atMax = group({
      nodes: [{ name: 'n1', instanceType: 't3.medium', usedPods: 110, maxPods: 110 }],
    });

    const result = run([atMax], { consecutive: { nodes: 1 } }, { prefixDelegationOn: true });

    expect(result.decision.action).toBe('report');
    expect(result.decision.reason).toContain('add nodes (maxSize) or use bigger instances');
  });

  it('raises maxPods when prefix delegation was turned on by hand (kubectl set env) but the kubelet still runs 17', () => {
    const result = run([group()], { consecutive: { nodes: 1 } }, { prefixDelegationOn: true });

    expect(result.decision.action).toBe('enable-prefix-delegation');
    expect(result.decision.raise).toEqual([{ instanceGroup: 'nodes', from: 17, to: 110 }]);
  });

  it('does not override a kubelet.maxPods the user set', () => {
    const result = run([group({ userMaxPods: 17 })], { consecutive: { nodes: 1 } });

    expect(result.decision.action).toBe('refused');
    expect(result.decision.reason).toContain(
      'kubelet.maxPods is set to 17 in the manifest for nodes',
    );
  });

  it('refuses a group with a Xen instance type, saying why', () => {
    const result = run([group({ instanceTypes: [INSTANCE_TYPES['t2.medium']!] })], {
      consecutive: { nodes: 1 },
    });

    expect(result.decision.action).toBe('refused');
    expect(result.decision.reason).toContain('t2.medium is not a Nitro or bare-metal instance');
  });

  it('refuses fragmented subnets: enough free addresses, too few free /28 blocks', () => {
    // A /22 with one address taken in every /28: over 900 free addresses, no whole /28.
    const fragmented = {
      subnetId: 'subnet-f',
      cidr: '10.0.0.0/22',
      usedIps: Array.from(
        { length: 64 },
        (_, i) => `10.0.${Math.floor(i / 16)}.${(i % 16) * 16 + 5}`,
      ),
    };

    const result = run([group({ subnets: [fragmented] })], { consecutive: { nodes: 1 } });

    expect(result.decision.action).toBe('refused');
    expect(result.decision.reason).toMatch(
      /subnets of nodes are fragmented for prefix delegation: 16 free \/28 blocks needed, 0 found/,
    );
  });

  it('refuses subnets too small for the prefixes', () => {
    const small = { subnetId: 'subnet-s', cidr: '10.0.0.0/26', usedIps: [] };

    expect(
      run([group({ subnets: [small] })], { consecutive: { nodes: 1 } }).decision.reason,
    ).toContain('are too small for prefix delegation');
  });

  it('does not count a full observation made sooner than the interval after the last counted one', () => {
    const result = run([group()], {
      consecutive: { nodes: 1 },
      lastCountedAt: '2026-11-22T11:59:30.000Z',
    });

    expect(result.decision).toMatchObject({ action: 'none', counted: false });
    expect(result.decision.reason).toContain(
      'does not count: 30 s after the last one that did, 240 s needed',
    );
    expect(result.state).toEqual({
      consecutive: { nodes: 1 },
      lastCountedAt: '2026-11-22T11:59:30.000Z',
    });
  });

  it('counts it once the interval has passed, and acts on that second observation', () => {
    const result = run([group()], {
      consecutive: { nodes: 1 },
      lastCountedAt: '2026-11-22T11:56:00.000Z',
    });

    expect(result.decision).toMatchObject({ action: 'enable-prefix-delegation', counted: true });
    expect(result.state.lastCountedAt).toBe(NOW.toISOString());
  });

  it('ends the streak when a group has room, even on an observation that does not count', () => {
    const calm = group({
      pendingTooManyPods: 0,
      nodes: [{ name: 'n1', instanceType: 't3.medium', usedPods: 5, maxPods: 17 }],
    });

    const result = run([calm], {
      consecutive: { nodes: 1 },
      lastCountedAt: '2026-11-22T11:59:50.000Z',
    });

    expect(result.state.consecutive).toEqual({ nodes: 0 });
  });

  it('defers while another execution holds the cluster lock, keeping its count', () => {
    const result = run(
      [group()],
      { consecutive: { nodes: 1 } },
      { lockHolder: 'arn:aws:states:...:execution:update' },
    );

    expect(result.decision.action).toBe('deferred');
    expect(result.state.consecutive).toEqual({ nodes: 2 });
  });
});

describe('free /28 blocks', () => {
  it('leaves out the addresses AWS reserves and those in use', () => {
    // Four blocks: the first and last hold reserved addresses, the second the one in use.
    expect(freePrefixes({ subnetId: 's', cidr: '10.0.0.0/26', usedIps: ['10.0.0.20'] })).toEqual({
      freeAddresses: 58,
      freeBlocks: 1,
    });
  });
});
