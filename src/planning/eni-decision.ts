import { formatNet, type Ipv4Net, ipv4Net } from '../manifest/cidr.js';
import { calculateMaxPods, type InstanceTypeInfo, prefixDelegationSupport } from './max-pods.js';
import { VPC_CNI_VERSION } from './vpc-cni.js';

/**
 * The ENI capacity watcher's decision, pure: from what one run observed (pod slots per node
 * group, pods Pending for want of slots, free /28 blocks in the subnets) and what earlier runs
 * saw, whether to switch the VPC CNI to prefix delegation now. It acts only on a group that is
 * full on two observations in a row, never twice within the cooldown, never over a maxPods the
 * user set, and never into subnets too small or too fragmented for /28 prefixes.
 */

export interface WatcherSettings {
  /** Utilization (used slots / max pods) at which a group counts as full. */
  threshold: number;
  /** Consecutive full observations before acting. */
  observationsNeeded: number;
  cooldownSeconds: number;
  cniVersion: string;
  /**
   * Seconds that must pass after an observation that counted before the next one counts towards
   * `observationsNeeded`. EC2 events run the watcher seconds apart; without this, two of them
   * would be "two observations in a row" and defeat the hysteresis. A little under the schedule's
   * 5 minutes, so that the scheduled runs always count.
   */
  minObservationIntervalSeconds: number;
  /**
   * A run that only EC2 state-change events asked for is skipped when the cluster was observed
   * less than this many seconds ago (the schedule and runs by hand never are): concurrent batches
   * of one burst then cost one observation, not one each. Undefined or 0: never skipped.
   */
  eventDebounceSeconds?: number;
}

export const DEFAULT_WATCHER_SETTINGS = {
  threshold: 0.9,
  observationsNeeded: 2,
  cooldownSeconds: 30 * 60,
  cniVersion: VPC_CNI_VERSION,
  minObservationIntervalSeconds: 240,
  eventDebounceSeconds: 60,
} satisfies WatcherSettings;

export interface SubnetView {
  subnetId: string;
  cidr: string;
  /** Addresses in use (instances' and network interfaces' private IPs). */
  usedIps: string[];
}

export interface GroupObservation {
  instanceGroup: string;
  nodes: Array<{ name: string; instanceType: string; usedPods: number; maxPods: number }>;
  /** Pods Pending with "Too many pods" that this group's nodes could not take. */
  pendingTooManyPods: number;
  instanceTypes: InstanceTypeInfo[];
  subnets: SubnetView[];
  /** kubelet.maxPods as the user set it in the manifest (group or cluster), if set. */
  userMaxPods?: number;
}

export interface WatcherState {
  consecutive: Record<string, number>;
  lastActionAt?: string;
  /** When the last observation that counted towards `consecutive` was made. */
  lastCountedAt?: string;
}

export interface GroupFigures {
  instanceGroup: string;
  nodes: number;
  usedPods: number;
  maxPods: number;
  utilization: number;
  pendingTooManyPods: number;
  full: boolean;
  consecutive: number;
}

export type WatcherAction = 'none' | 'report' | 'deferred' | 'refused' | 'enable-prefix-delegation';

export interface Decision {
  cluster: string;
  at: string;
  action: WatcherAction;
  reason: string;
  prefixDelegationOn: boolean;
  groups: GroupFigures[];
  /** Groups acted on, with the kubelet maxPods they get. */
  raise: Array<{ instanceGroup: string; from: number; to: number }>;
  /** False when this observation came too soon after the last one that counted (see minObservationIntervalSeconds). */
  counted: boolean;
}

export interface DecisionInput {
  cluster: string;
  now: Date;
  groups: GroupObservation[];
  prefixDelegationOn: boolean;
  state: WatcherState;
  settings: WatcherSettings;
  /** The execution holding the cluster lock, if any. */
  lockHolder?: string;
}

const ADDRESSES_PER_PREFIX = 16;

function ipToNumber(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/**
 * Free /28 blocks of a subnet, aligned as the VPC hands out prefixes, none of whose addresses is
 * in use or reserved by AWS (the first four and the last address of every subnet).
 */
export function freePrefixes(subnet: SubnetView): { freeAddresses: number; freeBlocks: number } {
  const net: Ipv4Net | undefined = ipv4Net(subnet.cidr);
  if (!net) return { freeAddresses: 0, freeBlocks: 0 };
  const size = 2 ** (32 - net.prefix);
  const used = new Set(subnet.usedIps.map(ipToNumber));
  for (const offset of [0, 1, 2, 3, size - 1]) used.add(net.base + offset);
  let freeAddresses = 0;
  let freeBlocks = 0;
  for (let block = net.base; block < net.base + size; block += ADDRESSES_PER_PREFIX) {
    let free = 0;
    for (let a = block; a < block + ADDRESSES_PER_PREFIX && a < net.base + size; a++)
      if (!used.has(a)) free++;
    freeAddresses += free;
    if (free === ADDRESSES_PER_PREFIX) freeBlocks++;
  }
  return { freeAddresses, freeBlocks };
}

/**
 * A group's figures. A full group adds to its streak only on an observation that counts; a group
 * with room ends its streak on any observation, since room seen in between means the fullness
 * was not continuous.
 */
function figures(
  group: GroupObservation,
  threshold: number,
  previous: number,
  counts: boolean,
): GroupFigures {
  const usedPods = group.nodes.reduce((n, node) => n + node.usedPods, 0);
  const maxPods = group.nodes.reduce((n, node) => n + node.maxPods, 0);
  const utilization = maxPods === 0 ? 0 : usedPods / maxPods;
  const full = group.nodes.length > 0 && (utilization >= threshold || group.pendingTooManyPods > 0);
  return {
    instanceGroup: group.instanceGroup,
    nodes: group.nodes.length,
    usedPods,
    maxPods,
    utilization: Math.round(utilization * 1000) / 1000,
    pendingTooManyPods: group.pendingTooManyPods,
    full,
    consecutive: full ? previous + (counts ? 1 : 0) : 0,
  };
}

export function decide(input: DecisionInput): { decision: Decision; state: WatcherState } {
  const { settings, now } = input;
  const sinceCounted = input.state.lastCountedAt
    ? (now.getTime() - new Date(input.state.lastCountedAt).getTime()) / 1000
    : Infinity;
  // A clock that went backwards (or a state written by a later run) does not make a run count.
  const counts = sinceCounted >= settings.minObservationIntervalSeconds;
  const groups = input.groups.map((g) =>
    figures(g, settings.threshold, input.state.consecutive[g.instanceGroup] ?? 0, counts),
  );
  const consecutive = Object.fromEntries(groups.map((g) => [g.instanceGroup, g.consecutive]));
  const base = {
    cluster: input.cluster,
    at: now.toISOString(),
    prefixDelegationOn: input.prefixDelegationOn,
    groups,
    raise: [],
    counted: counts,
  };
  const lastCountedAt = counts ? now.toISOString() : input.state.lastCountedAt;
  const kept: WatcherState = {
    ...input.state,
    consecutive,
    ...(lastCountedAt ? { lastCountedAt } : {}),
  };
  const keep = (action: WatcherAction, reason: string, state: WatcherState = kept) => ({
    decision: { ...base, action, reason },
    state,
  });
  const due = groups.filter((g) => g.consecutive >= settings.observationsNeeded);
  const pct = `${Math.round(settings.threshold * 100)}%`;
  if (due.length === 0) {
    const watching = groups
      .filter((g) => g.full)
      .map((g) => `${g.instanceGroup} (${g.consecutive}/${settings.observationsNeeded})`);
    const early = counts
      ? ''
      : ` (this observation does not count: ${Math.round(sinceCounted)} s after the last one that did, ${settings.minObservationIntervalSeconds} s needed)`;
    return keep(
      'none',
      (watching.length > 0
        ? `full, watching: ${watching.join(', ')}`
        : `no group at ${pct} of its pod slots or with pods Pending for want of slots`) + early,
    );
  }
  const names = due.map((g) => g.instanceGroup).join(', ');
  // Prefix delegation on in aws-node (the watcher's earlier run, or a user's `kubectl set env`)
  // only helps once kubelet maxPods is raised: while a full group's nodes still run below the
  // prefix-delegation value, raising it is the action; once they run at it, only more nodes help.
  const raised = (g: GroupFigures) => {
    const group = input.groups.find((o) => o.instanceGroup === g.instanceGroup)!;
    const to = Math.min(
      ...group.instanceTypes.map(
        (t) =>
          calculateMaxPods(t, { prefixDelegation: true, cniVersion: settings.cniVersion }).maxPods,
      ),
    );
    return group.userMaxPods !== undefined || group.nodes.every((n) => n.maxPods >= to);
  };
  if (input.prefixDelegationOn && due.every(raised)) {
    return keep(
      'report',
      `prefix delegation is already on and ${names} ${due.length > 1 ? 'are' : 'is'} still full: add nodes (maxSize) or use bigger instances`,
    );
  }
  if (input.state.lastActionAt) {
    const until = new Date(
      new Date(input.state.lastActionAt).getTime() + settings.cooldownSeconds * 1000,
    );
    if (until > now)
      return keep(
        'none',
        `acted at ${input.state.lastActionAt}; cooling down until ${until.toISOString()}`,
      );
  }
  const observed = new Map(input.groups.map((g) => [g.instanceGroup, g]));
  for (const g of due) {
    const group = observed.get(g.instanceGroup)!;
    if (group.userMaxPods !== undefined) {
      return keep(
        'refused',
        `kubelet.maxPods is set to ${group.userMaxPods} in the manifest for ${g.instanceGroup}; kopsless does not override a maxPods the user set`,
      );
    }
    const unsupported = group.instanceTypes
      .map((t) => [t.instanceType, prefixDelegationSupport(t, settings.cniVersion)] as const)
      .filter(([, s]) => !s.supported);
    if (unsupported.length > 0) {
      return keep(
        'refused',
        `prefix delegation is not possible for ${g.instanceGroup}: ${unsupported.map(([, s]) => s.reason).join('; ')}`,
      );
    }
  }
  const raise: Decision['raise'] = [];
  for (const g of due) {
    const group = observed.get(g.instanceGroup)!;
    const to = Math.min(
      ...group.instanceTypes.map(
        (t) =>
          calculateMaxPods(t, { prefixDelegation: true, cniVersion: settings.cniVersion }).maxPods,
      ),
    );
    const from = Math.max(...group.nodes.map((n) => n.maxPods));
    // Each node holds a /28 per 16 pods, plus the one WARM_PREFIX_TARGET=1 keeps spare.
    const needed = group.nodes.length * (Math.ceil(to / ADDRESSES_PER_PREFIX) + 1);
    const room = group.subnets.map((s) => ({ subnet: s, ...freePrefixes(s) }));
    const blocks = room.reduce((n, r) => n + r.freeBlocks, 0);
    const addresses = room.reduce((n, r) => n + r.freeAddresses, 0);
    if (blocks < needed) {
      const where = room
        .map(
          (r) =>
            `${r.subnet.subnetId} (${formatNet(ipv4Net(r.subnet.cidr)!)}): ${r.freeAddresses} free addresses, ${r.freeBlocks} free /28 blocks`,
        )
        .join('; ');
      const why = addresses >= needed * ADDRESSES_PER_PREFIX ? 'fragmented' : 'too small';
      return keep(
        'refused',
        `the subnets of ${g.instanceGroup} are ${why} for prefix delegation: ${needed} free /28 blocks needed, ${blocks} found (${where})`,
      );
    }
    raise.push({ instanceGroup: g.instanceGroup, from, to });
  }
  if (input.lockHolder) {
    return keep(
      'deferred',
      `cluster is locked by ${input.lockHolder}; trying again at the next run`,
    );
  }
  const reset = Object.fromEntries(groups.map((g) => [g.instanceGroup, 0]));
  return {
    decision: {
      ...base,
      action: 'enable-prefix-delegation',
      raise,
      reason: `${names} full for ${settings.observationsNeeded} observations: enabling prefix delegation, maxPods ${raise.map((r) => `${r.instanceGroup} ${r.from} -> ${r.to}`).join(', ')}`,
    },
    state: {
      consecutive: reset,
      lastActionAt: now.toISOString(),
      ...(lastCountedAt ? { lastCountedAt } : {}),
    },
  };
}
