import type { FieldIssue } from '../errors.js';
import { index } from '../manifest/field.js';
import type { ClusterSpec } from '../manifest/types.js';
import { type ExistingNetwork, isSharedSubnet } from './stack-network.js';

/**
 * A manifest's shared VPC and subnets against what AWS says of them. Pure: the caller reads the
 * VPC and subnets. The messages are kOps's own (awstasks: "VPC with id ... not found", and
 * "field is immutable: old=<in AWS> new=<in the manifest>" for a CIDR or zone that differs).
 */

/** A VPC as the check needs it. */
export interface VpcFacts {
  id: string;
  cidr: string;
  enableDnsSupport: boolean;
  internetGatewayId?: string;
}

/** A subnet as the check needs it. */
export interface SubnetFacts {
  id: string;
  vpcId: string;
  cidr: string;
  zone: string;
}

export interface SharedNetworkCheck {
  issues: FieldIssue[];
  /** What the stack template needs (stack-network.ts). */
  existing: ExistingNetwork;
  /** The VPC and subnets to tag `shared` for the cluster. */
  sharedIds: string[];
}

const immutable = (path: string, actual: string, wanted: string): FieldIssue => ({
  path,
  message: `Forbidden: field is immutable: old=${JSON.stringify(actual)} new=${JSON.stringify(wanted)}`,
});

/** The VPC a manifest shares: `spec.networkID`, else the VPC of its shared subnets. */
export function sharedVpcId(
  spec: Pick<ClusterSpec, 'networkID' | 'subnets'>,
  subnets: ReadonlyMap<string, SubnetFacts>,
): string | undefined {
  if (typeof spec.networkID === 'string' && spec.networkID !== '') return spec.networkID;
  for (const s of spec.subnets ?? []) {
    const found = isSharedSubnet(s) ? subnets.get(s.id!) : undefined;
    if (found) return found.vpcId;
  }
  return undefined;
}

/** The IDs of the shared subnets a manifest names. */
export function sharedSubnetIds(spec: Pick<ClusterSpec, 'subnets'>): string[] {
  return (spec.subnets ?? []).filter(isSharedSubnet).map((s) => s.id!);
}

/**
 * Compares the manifest with the VPC (undefined: not found) and the subnets found. Returns the
 * problems, with the field path and kOps's words, and what the stack needs.
 */
export function checkSharedNetwork(
  spec: Pick<ClusterSpec, 'networkID' | 'networkCIDR' | 'subnets'>,
  vpc: VpcFacts | undefined,
  subnets: ReadonlyMap<string, SubnetFacts>,
): SharedNetworkCheck {
  const issues: FieldIssue[] = [];
  const vpcId = sharedVpcId(spec, subnets);
  const written = typeof spec.networkID === 'string' && spec.networkID !== '';
  if (vpcId !== undefined && !vpc) {
    issues.push({
      path: written ? 'spec.networkID' : 'spec.subnets',
      message: `VPC with id ${JSON.stringify(vpcId)} not found`,
    });
  }
  if (vpc) {
    if (!vpc.enableDnsSupport)
      issues.push({
        path: 'spec.networkID',
        message: `VPC with id ${JSON.stringify(vpc.id)} was set to be shared, but did not have EnableDNSSupport=true.`,
      });
    if (typeof spec.networkCIDR === 'string' && spec.networkCIDR !== vpc.cidr)
      issues.push(immutable('spec.networkCIDR', vpc.cidr, spec.networkCIDR));
  }
  (spec.subnets ?? []).forEach((subnet, i) => {
    if (!isSharedSubnet(subnet)) return;
    const path = index('spec.subnets', i);
    const found = subnets.get(subnet.id!);
    if (!found) {
      issues.push({
        path: `${path}.id`,
        message: `subnet with id ${JSON.stringify(subnet.id)} not found`,
      });
      return;
    }
    if (vpcId !== undefined && found.vpcId !== vpcId) {
      issues.push({
        path: `${path}.id`,
        message: `subnet ${subnet.id} not found in VPC ${vpcId}`,
      });
      return;
    }
    if (subnet.cidr && subnet.cidr !== found.cidr)
      issues.push(immutable(`${path}.cidr`, found.cidr, subnet.cidr));
    if (subnet.zone && subnet.zone !== found.zone)
      issues.push(immutable(`${path}.zone`, found.zone, subnet.zone));
  });
  return {
    issues,
    existing: {
      ...(vpcId !== undefined && !written ? { vpcId } : {}),
      ...(vpc?.internetGatewayId ? { internetGatewayId: vpc.internetGatewayId } : {}),
    },
    sharedIds: vpcId === undefined ? [] : [vpcId, ...sharedSubnetIds(spec)],
  };
}
