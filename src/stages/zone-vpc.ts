import type { StackApi } from '../aws/cloudformation.js';
import type { ZoneVpc, ZoneVpcApi } from '../aws/zone-vpc.js';
import type { CompletedManifest } from '../manifest/completed.js';
import { stackName } from '../planning/names.js';
import { isOwnedBy } from '../planning/ownership.js';
import type { ObjectStore } from '../state/object-store.js';

/**
 * A private hosted zone answers only inside the VPCs associated with it: the nodes' lookups of
 * `api.internal.<cluster>` need the cluster's VPC among them. As kOps's DNSZone task does, the
 * launch associates the cluster's VPC with the private zone when it is not associated yet; what
 * kopsless associated is recorded in the state store, and delete disassociates exactly that,
 * never a VPC the user had associated and never the zone's last VPC (Route53 keeps one).
 */

/** The state store's record of an association kopsless made (a VPC the user associated has none). */
export function associationKey(cluster: string): string {
  return `${cluster}/dns-vpc-association.json`;
}

interface Association extends ZoneVpc {
  zoneId: string;
}

export interface ZoneAssociationDeps {
  zoneVpc: ZoneVpcApi;
  objects: Pick<ObjectStore, 'get' | 'put' | 'delete'>;
  stacks: Pick<StackApi, 'describe'>;
  region: string;
}

const sameVpc = (a: ZoneVpc, b: ZoneVpc) => a.vpcId === b.vpcId && a.region === b.region;

/**
 * After the cluster stack is ready: for `topology.dns.type: Private`, the stack's VPC is
 * associated with the zone that holds the records, unless it already is. The record is written
 * before the call, so a delete after a crash between the two still knows; a record of an
 * association that never happened is harmless (the VPC is found not associated).
 */
export async function associateClusterVpc(
  manifest: CompletedManifest,
  deps: ZoneAssociationDeps,
): Promise<'associated' | 'already associated' | 'not private'> {
  if (manifest.cluster.spec.topology.dns.type !== 'Private') return 'not private';
  const cluster = manifest.cluster.metadata.name;
  const stack = await deps.stacks.describe(stackName(cluster));
  const zoneId = stack?.outputs.HostedZoneId;
  const vpcId = stack?.outputs.VpcId;
  if (!stack || !isOwnedBy(stack.tags, cluster) || !zoneId || !vpcId) return 'not private';
  const zone = await deps.zoneVpc.zoneVpcs(zoneId);
  if (!zone?.private) return 'not private';
  const vpc = { vpcId, region: deps.region };
  if (zone.vpcs.some((v) => sameVpc(v, vpc))) return 'already associated';
  // A shared VPC (spec.networkID) outlives the cluster and may serve other clusters of the same
  // zone: its association is left in place at delete, so it is not recorded.
  if (!manifest.cluster.spec.networkID) {
    const record: Association = { zoneId, ...vpc };
    await deps.objects.put(associationKey(cluster), JSON.stringify(record));
  }
  await deps.zoneVpc.associate(zoneId, vpc);
  return 'associated';
}

/** What delete did with the association launch recorded. */
export type Disassociation =
  | 'disassociated'
  | 'kept as the zone last VPC'
  | 'not associated'
  | { refused: string };

/**
 * At delete: the association kopsless recorded is undone, unless the VPC is the zone's last
 * (Route53 refuses that, and the zone is the user's); then the record goes. Nothing recorded,
 * nothing done. The record is only a note: the VPC disassociated is the cluster's own,
 * `clusterVpcId` (its stack's `VpcId`, or its tagged VPC), and a record naming any other VPC, or
 * a cluster whose VPC is not known, is refused and reported, never acted on: the session that
 * disassociates is tagged with the VPC, so the record must not choose it.
 */
export async function disassociateClusterVpc(
  cluster: string,
  clusterVpcId: string | undefined,
  deps: Pick<ZoneAssociationDeps, 'zoneVpc' | 'objects'>,
): Promise<Disassociation | undefined> {
  const stored = await deps.objects.get(associationKey(cluster));
  if (!stored) return undefined;
  const { zoneId, vpcId, region } = JSON.parse(stored.body) as Association;
  // The record stays (the state store's delete takes it): each later step reports it again.
  if (vpcId !== clusterVpcId) {
    return {
      refused: clusterVpcId
        ? `${associationKey(cluster)} names VPC ${vpcId}, but cluster ${cluster}'s VPC is ${clusterVpcId}: no VPC was disassociated from hosted zone ${zoneId}`
        : `${associationKey(cluster)} names VPC ${vpcId}, but no VPC of cluster ${cluster} is left to compare it with: no VPC was disassociated from hosted zone ${zoneId}`,
    };
  }
  const vpc = { vpcId, region };
  const zone = await deps.zoneVpc.zoneVpcs(zoneId);
  let outcome: Disassociation = 'not associated';
  if (zone?.vpcs.some((v) => sameVpc(v, vpc))) {
    const answer =
      zone.vpcs.length > 1 ? await deps.zoneVpc.disassociate(zoneId, vpc) : ('last' as const);
    outcome =
      answer === 'disassociated'
        ? 'disassociated'
        : answer === 'last'
          ? 'kept as the zone last VPC'
          : 'not associated';
  }
  await deps.objects.delete(associationKey(cluster));
  return outcome;
}
