import type { FieldIssue } from '../errors.js';
import type { ClusterSpec, ClusterSubnetSpec } from './types.js';

/**
 * kOps's `create cluster` flags for where the cluster lives and how its API is reached:
 * `--network-id`, `--subnets`, `--utility-subnets`, `--dns`, `--api-loadbalancer-type`. Pure:
 * what AWS says of the VPC and subnets comes in as a {@link NetworkLookup}, read by the CLI
 * (kOps reads them too before it writes the manifest).
 */

export interface NetworkFlags {
  networkId?: string;
  subnets?: string[];
  utilitySubnets?: string[];
  dns?: 'public' | 'private' | 'none';
  apiLoadBalancerType?: 'public' | 'internal';
}

/** The VPC and the subnets the flags name, as EC2 describes them. */
export interface NetworkLookup {
  vpc?: { id: string; cidr: string };
  subnets: ReadonlyMap<string, { id: string; vpcId: string; zone: string; cidr: string }>;
}

/** True when the flags name a VPC or subnets, so AWS must be read before the manifest is written. */
export function needsNetworkLookup(flags: NetworkFlags): boolean {
  return Boolean(flags.networkId || flags.subnets?.length || flags.utilitySubnets?.length);
}

/**
 * The VPC the flags share: `--network-id`, else the VPC of the first of `--subnets`
 * (kOps's setupVPC).
 */
export function flagsVpcId(flags: NetworkFlags, lookup: NetworkLookup): string | undefined {
  if (flags.networkId) return flags.networkId;
  const first = flags.subnets?.[0] ?? flags.utilitySubnets?.[0];
  return first ? lookup.subnets.get(first)?.vpcId : undefined;
}

/**
 * Zone -> subnet ID for one of the subnet flags, with kOps's errors (getAWSZoneToSubnetProviderID):
 * a subnet outside the VPC, two subnets of one zone.
 */
function zoneToSubnet(
  flag: string,
  ids: string[],
  vpcId: string | undefined,
  lookup: NetworkLookup,
  issues: FieldIssue[],
): Map<string, string> {
  const byZone = new Map<string, string>();
  for (const id of ids) {
    const subnet = lookup.subnets.get(id);
    if (!subnet || (vpcId !== undefined && subnet.vpcId !== vpcId)) {
      issues.push({ path: flag, message: `subnet ${id} not found in VPC ${vpcId ?? '(none)'}` });
      continue;
    }
    const other = byZone.get(subnet.zone);
    if (other) {
      issues.push({ path: flag, message: `subnet ${id} and ${other} have the same zone` });
      continue;
    }
    byZone.set(subnet.zone, id);
  }
  return byZone;
}

/**
 * Sets `networkID`, the VPC's CIDR and the IDs (and, from AWS, the CIDRs) of the shared subnets
 * on a spec whose subnets are laid out per zone (`<zone>`, `utility-<zone>`), as kOps's
 * `create cluster` does. Returns the problems, by flag.
 */
export function applySharedNetworkFlags(
  spec: ClusterSpec,
  flags: NetworkFlags,
  lookup: NetworkLookup,
  networkCidrGiven: boolean,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (!needsNetworkLookup(flags)) return issues;
  const vpcId = flagsVpcId(flags, lookup);
  if (flags.networkId && !lookup.vpc)
    issues.push({
      path: '--network-id',
      message: `VPC ${JSON.stringify(flags.networkId)} not found`,
    });
  if (vpcId) spec.networkID = vpcId;
  // kOps takes the VPC's CIDR when --network-cidr is not given.
  if (lookup.vpc && !networkCidrGiven) spec.networkCIDR = lookup.vpc.cidr;
  const nodeSubnets = zoneToSubnet('--subnets', flags.subnets ?? [], vpcId, lookup, issues);
  const utility = zoneToSubnet(
    '--utility-subnets',
    flags.utilitySubnets ?? [],
    vpcId,
    lookup,
    issues,
  );
  for (const subnet of spec.subnets ?? []) {
    const id = subnet.type === 'Utility' ? utility.get(subnet.zone) : nodeSubnets.get(subnet.zone);
    if (!id) continue;
    setShared(subnet, id, lookup);
  }
  return issues;
}

/** A laid-out subnet made the shared one: its ID, and its CIDR as AWS has it (kOps's assignCIDRsToSubnets). */
function setShared(subnet: ClusterSubnetSpec, id: string, lookup: NetworkLookup): void {
  subnet.id = id;
  const cidr = lookup.subnets.get(id)?.cidr;
  if (cidr) subnet.cidr = cidr;
}

/**
 * `topology.dns.type` and `api` as kOps's setupDNSTopology and setupAPI set them, for `--dns` and
 * `--api-loadbalancer-type`: DNS none, and private topology, reach the API through a Network Load
 * Balancer (public unless `--api-loadbalancer-type internal`); otherwise `api.dns`.
 */
export function applyApiFlags(
  spec: ClusterSpec,
  flags: NetworkFlags,
  topology: 'public' | 'private',
): void {
  const dnsType = flags.dns === 'none' ? 'None' : flags.dns === 'private' ? 'Private' : 'Public';
  spec.topology = { ...(spec.topology ?? {}), dns: { type: dnsType } };
  const loadBalanced =
    flags.apiLoadBalancerType !== undefined || topology === 'private' || dnsType === 'None';
  spec.api = loadBalanced
    ? {
        loadBalancer: {
          class: 'Network',
          type: flags.apiLoadBalancerType === 'internal' ? 'Internal' : 'Public',
        },
      }
    : { dns: {} };
}
