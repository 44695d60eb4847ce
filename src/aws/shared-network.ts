import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeVpcAttributeCommand,
  type EC2Client,
  paginateDescribeInternetGateways,
  paginateDescribeNetworkInterfaces,
  paginateDescribeSubnets,
  paginateDescribeVpcs,
} from '@aws-sdk/client-ec2';
import { rethrowAws } from '../errors.js';
import { ownedTagKey } from '../planning/names.js';
import { isLeftoverInterfaceOf, leftoverInterfaceFilters } from './leftover-interfaces.js';
import { allItems } from './pages.js';

/**
 * A VPC and subnets a cluster shares with their owner (kOps's `networkID` and subnet `id`): read
 * to check the manifest against them, tagged `kubernetes.io/cluster/<name>=shared` while the
 * cluster uses them (the AWS cloud provider and load balancer controller look for it), untagged
 * at delete. Nothing here creates or deletes a VPC or a subnet.
 */

/** The tag value kOps gives a VPC or subnet a cluster uses but does not own. */
export const SHARED_TAG_VALUE = 'shared';

export interface SharedVpc {
  id: string;
  /** The VPC's primary IPv4 CIDR. */
  cidr: string;
  /** Every IPv4 CIDR associated with it, the primary first. */
  cidrs: string[];
  enableDnsSupport: boolean;
  /** The internet gateway attached to it, if one is. */
  internetGatewayId?: string;
}

export interface SharedSubnet {
  id: string;
  vpcId: string;
  cidr: string;
  zone: string;
}

export interface SharedNetworkApi {
  /** The VPC, or undefined when no VPC has that ID. */
  describeVpc(vpcId: string): Promise<SharedVpc | undefined>;
  /** The subnets of these IDs that exist; an ID no subnet has is absent from the map. */
  describeSubnets(subnetIds: string[]): Promise<Map<string, SharedSubnet>>;
  /** Tags the VPC and subnets `kubernetes.io/cluster/<cluster>=shared`; tagging twice is harmless. */
  tagShared(resourceIds: string[], cluster: string): Promise<void>;
  /**
   * Removes the cluster's `shared` tag from every VPC and subnet that carries it, found by the
   * tag (a VPC or subnet the cluster owns carries `owned` and is deleted with the stack).
   * Returns the IDs untagged.
   */
  untagShared(cluster: string): Promise<string[]>;
  /**
   * The interfaces the VPC CNI left behind for the cluster that hold one of these security
   * groups: in a shared VPC, the cluster's, and no one else's (see `leftover-interfaces.ts`).
   */
  detachedInterfacesOfGroups(cluster: string, securityGroupIds: string[]): Promise<string[]>;
}

/** `client` is a whole SDK client: the SDK's paginators insist on one. */
export function sharedNetworkApi(client: EC2Client): SharedNetworkApi {
  const pages = { client };
  const sharedFilter = (cluster: string) => [
    { Name: `tag:${ownedTagKey(cluster)}`, Values: [SHARED_TAG_VALUE] },
  ];
  return {
    async describeVpc(vpcId) {
      try {
        // A filter, not VpcIds: an unknown ID is an empty answer rather than an error.
        const [vpc] = await allItems(
          paginateDescribeVpcs(pages, { Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }),
          (p) => p.Vpcs,
        );
        if (!vpc?.VpcId) return undefined;
        const [dns, gateways] = await Promise.all([
          client.send(
            new DescribeVpcAttributeCommand({ VpcId: vpc.VpcId, Attribute: 'enableDnsSupport' }),
          ),
          allItems(
            paginateDescribeInternetGateways(pages, {
              Filters: [{ Name: 'attachment.vpc-id', Values: [vpc.VpcId] }],
            }),
            (p) => p.InternetGateways,
          ),
        ]);
        const cidrs = [
          vpc.CidrBlock ?? '',
          ...(vpc.CidrBlockAssociationSet ?? [])
            .filter((a) => a.CidrBlockState?.State === 'associated')
            .map((a) => a.CidrBlock ?? ''),
        ].filter((c, i, all) => c !== '' && all.indexOf(c) === i);
        const gateway = gateways.find((g) => g.InternetGatewayId)?.InternetGatewayId;
        return {
          id: vpc.VpcId,
          cidr: vpc.CidrBlock ?? '',
          cidrs,
          enableDnsSupport: dns.EnableDnsSupport?.Value !== false,
          ...(gateway ? { internetGatewayId: gateway } : {}),
        };
      } catch (error) {
        rethrowAws(error);
      }
    },
    async describeSubnets(subnetIds) {
      const found = new Map<string, SharedSubnet>();
      if (subnetIds.length === 0) return found;
      try {
        const subnets = await allItems(
          paginateDescribeSubnets(pages, { Filters: [{ Name: 'subnet-id', Values: subnetIds }] }),
          (p) => p.Subnets,
        );
        for (const s of subnets) {
          if (!s.SubnetId) continue;
          found.set(s.SubnetId, {
            id: s.SubnetId,
            vpcId: s.VpcId ?? '',
            cidr: s.CidrBlock ?? '',
            zone: s.AvailabilityZone ?? '',
          });
        }
        return found;
      } catch (error) {
        rethrowAws(error);
      }
    },
    async tagShared(resourceIds, cluster) {
      if (resourceIds.length === 0) return;
      try {
        await client.send(
          new CreateTagsCommand({
            Resources: resourceIds,
            Tags: [{ Key: ownedTagKey(cluster), Value: SHARED_TAG_VALUE }],
          }),
        );
      } catch (error) {
        rethrowAws(error);
      }
    },
    async detachedInterfacesOfGroups(cluster, securityGroupIds) {
      if (securityGroupIds.length === 0) return [];
      try {
        const found = await allItems(
          paginateDescribeNetworkInterfaces(pages, {
            Filters: [
              { Name: 'group-id', Values: securityGroupIds },
              ...leftoverInterfaceFilters(cluster),
            ],
          }),
          (p) => p.NetworkInterfaces,
        );
        return found
          .filter((n) => isLeftoverInterfaceOf(cluster, n))
          .map((n) => n.NetworkInterfaceId ?? '');
      } catch (error) {
        rethrowAws(error);
      }
    },
    async untagShared(cluster) {
      try {
        const [vpcs, subnets] = await Promise.all([
          allItems(paginateDescribeVpcs(pages, { Filters: sharedFilter(cluster) }), (p) => p.Vpcs),
          allItems(
            paginateDescribeSubnets(pages, { Filters: sharedFilter(cluster) }),
            (p) => p.Subnets,
          ),
        ]);
        const ids = [
          ...subnets.map((s) => s.SubnetId ?? ''),
          ...vpcs.map((v) => v.VpcId ?? ''),
        ].filter(Boolean);
        if (ids.length > 0)
          // The value named too, so that a tag someone changed to another value stays.
          await client.send(
            new DeleteTagsCommand({
              Resources: ids,
              Tags: [{ Key: ownedTagKey(cluster), Value: SHARED_TAG_VALUE }],
            }),
          );
        return ids;
      } catch (error) {
        rethrowAws(error);
      }
    },
  };
}
