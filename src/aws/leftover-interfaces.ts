import type { Filter, NetworkInterface } from '@aws-sdk/client-ec2';
import { CLUSTER_TAG } from '../planning/names.js';

/**
 * The DescribeNetworkInterfaces filters for the interfaces the VPC CNI left behind for a
 * cluster: attached to nothing (status `available`) and carrying the cluster's tag, which the
 * boot script has the CNI put on every interface it makes (`ADDITIONAL_ENI_TAGS`). The delete
 * session may delete only interfaces with that tag, so no other is ever asked for.
 */
export function leftoverInterfaceFilters(cluster: string): Filter[] {
  return [
    { Name: 'status', Values: ['available'] },
    { Name: `tag:${CLUSTER_TAG}`, Values: [cluster] },
  ];
}

/**
 * Whether an interface found with {@link leftoverInterfaceFilters} is the cluster's to delete.
 * AWS services manage their own interfaces (a NAT gateway's, a load balancer's: requester-managed)
 * and delete them with the resource; deleting one directly is refused, so they are never tried.
 * The status and tag are checked again here: a filter a backend ignores must not widen the set.
 */
export function isLeftoverInterfaceOf(cluster: string, eni: NetworkInterface): boolean {
  return (
    eni.Status === 'available' &&
    eni.RequesterManaged !== true &&
    Boolean(eni.NetworkInterfaceId) &&
    (eni.TagSet ?? []).some((t) => t.Key === CLUSTER_TAG && t.Value === cluster)
  );
}
