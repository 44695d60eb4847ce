import type { SharedNetworkApi } from '../aws/shared-network.js';
import { ConfigError } from '../errors.js';
import type { ClusterSpec } from '../manifest/types.js';
import {
  checkSharedNetwork,
  type SharedNetworkCheck,
  sharedSubnetIds,
  sharedVpcId,
} from '../planning/shared-network.js';

/**
 * Reads the VPC and subnets a manifest shares and checks the manifest against them. A manifest
 * that shares nothing makes no call.
 */
export async function inspectSharedNetwork(
  spec: Pick<ClusterSpec, 'networkID' | 'networkCIDR' | 'subnets'>,
  network: SharedNetworkApi | undefined,
): Promise<SharedNetworkCheck> {
  const subnetIds = sharedSubnetIds(spec);
  const written = typeof spec.networkID === 'string' && spec.networkID !== '';
  if (!written && subnetIds.length === 0) return { issues: [], existing: {}, sharedIds: [] };
  if (!network)
    throw new ConfigError('this function has no EC2 access to read the shared VPC and subnets');
  const subnets = await network.describeSubnets(subnetIds);
  const vpcId = sharedVpcId(spec, subnets);
  const vpc = vpcId === undefined ? undefined : await network.describeVpc(vpcId);
  return checkSharedNetwork(spec, vpc, subnets);
}
