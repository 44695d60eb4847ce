import {
  type AutoScalingClient,
  DeleteAutoScalingGroupCommand,
  paginateDescribeAutoScalingGroups,
} from '@aws-sdk/client-auto-scaling';
import {
  DeleteInternetGatewayCommand,
  DeleteLaunchTemplateCommand,
  DeleteNatGatewayCommand,
  DeleteNetworkInterfaceCommand,
  DeleteRouteTableCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteVolumeCommand,
  DeleteVpcCommand,
  DescribeAddressesCommand,
  DescribeInternetGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DetachInternetGatewayCommand,
  DisassociateRouteTableCommand,
  type EC2Client,
  type Filter,
  paginateDescribeInstances,
  paginateDescribeInternetGateways,
  paginateDescribeLaunchTemplates,
  paginateDescribeNatGateways,
  paginateDescribeNetworkInterfaces,
  paginateDescribeRouteTables,
  paginateDescribeSecurityGroups,
  paginateDescribeSubnets,
  paginateDescribeVolumes,
  paginateDescribeVpcs,
  ReleaseAddressCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import {
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  type IAMClient,
  paginateListRolePolicies,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import type { Route53Client, RRType } from '@aws-sdk/client-route-53';
import { classifyAwsError, isAwsErrorCode } from '../errors.js';
import { instanceProfilePath } from '../planning/instance-profiles.js';
import {
  CLUSTER_TAG,
  fqdn,
  type InstanceRoleKind,
  iamRoleName,
  OWNER_TAG,
} from '../planning/names.js';
import { isOwnedBy } from '../planning/ownership.js';
import { CLUSTER_ROLE_PATH } from '../planning/stack-iam.js';
import { allItems } from './pages.js';
import { deleteRecordSet, recordSetsNamed } from './route53.js';

/**
 * Finding a cluster's resources by its tags, as `kops delete cluster` does, and deleting the ones
 * the stack does not own. Every entry is `TYPE NAME ID`, kOps's listing.
 */

export interface CloudResource {
  type: string;
  name: string;
  id: string;
  /**
   * Tagged for the cluster but without the owner tag (`kopsless.io/owner`): an etcd volume of a
   * cluster made before volumes carried it. IAM lets kopsless delete only what carries the tag,
   * so it is never tried: the delete names it as left for its owner to delete by hand.
   */
  leftForOwner?: true;
}

/**
 * The cluster's records in the user's hosted zone: these names, in this zone, and nothing else
 * of the zone (other clusters' records, the user's own) is ever listed or deleted.
 */
export interface ClusterRecords {
  zoneId: string;
  /** Absolute names (api.<cluster>., api.internal.<cluster>.). */
  names: string[];
}

export interface InventoryApi {
  /**
   * Everything tagged for the cluster (and the IAM it owns by name), the stack aside, and, given
   * `records`, the record sets of those names in that zone.
   */
  list(cluster: string, records?: ClusterRecords): Promise<CloudResource[]>;
  deleteAutoScalingGroup(name: string): Promise<void>;
  deleteLaunchTemplate(id: string): Promise<void>;
  deleteNetworkInterface(id: string): Promise<void>;
  /**
   * Deletes one resource directly (what a stack delete left behind): `blocked` when something
   * still depends on it, to be tried again after its dependents go.
   */
  deleteResource(resource: CloudResource): Promise<'deleted' | 'blocked'>;
}

/** The order kOps deletes in: dependents before what they depend on. */
export const DELETE_ORDER = [
  'autoscaling-group',
  'instance',
  'autoscaling-config',
  'volume',
  'nat-gateway',
  'elastic-ip',
  'network-interface',
  'internet-gateway',
  'route-table',
  'security-group',
  'subnet',
  'vpc',
  'iam-instance-profile',
  'iam-role',
  'dns-record',
];

const BLOCKED_CODES = [
  'VolumeInUse',
  'IncorrectState',
  'DependencyViolation',
  'DeleteConflict',
  'DeleteConflictException',
  'InvalidParameterValue',
  'ResourceInUse',
  'AuthFailure',
];
const GONE_CODES = [
  'InvalidVolume.NotFound',
  'InvalidVpcID.NotFound',
  'InvalidSubnetID.NotFound',
  'InvalidGroup.NotFound',
  'InvalidRouteTableID.NotFound',
  'InvalidInternetGatewayID.NotFound',
  'InvalidAllocationID.NotFound',
  'NatGatewayNotFound',
  'NoSuchEntity',
  'NoSuchEntityException',
  'InvalidNetworkInterfaceID.NotFound',
  'NoSuchHostedZone',
];

/** Whole SDK clients, not just `send`: the SDK's paginators insist on them. */

export interface InventoryClients {
  ec2: EC2Client;
  autoscaling: AutoScalingClient;
  iam: IAMClient;
  route53: Route53Client;
}

/**
 * A step that a retry may find done already: its first attempt went through and only the answer
 * was lost (a 5xx or a timeout on the way back). The codes say "already so"; anything else is an
 * error. Without this, the NotFound of a step would end the whole resource's delete early.
 */
async function done(call: Promise<unknown>, ...alreadyDone: string[]): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (!isAwsErrorCode(error, ...alreadyDone)) throw error;
  }
}

const nameTag = (tags: Array<{ Key?: string; Value?: string }> | undefined, fallback: string) =>
  tags?.find((t) => t.Key === 'Name')?.Value ?? fallback;

/** Resources of one type as `kops delete cluster` lists them: the Name tag (else `name`), the ID. */
function listed<T extends { Tags?: Array<{ Key?: string; Value?: string }> }>(
  type: string,
  items: T[],
  id: (item: T) => string | undefined,
  name: (item: T) => string | undefined = id,
): CloudResource[] {
  return items.map((item) => ({
    type,
    name: nameTag(item.Tags, name(item) ?? ''),
    id: id(item) ?? '',
  }));
}

/** Finds and deletes a cluster's resources with these clients. */
export function inventoryApi(clients: InventoryClients): InventoryApi {
  return {
    list: (cluster, records) => listClusterResources(clients, cluster, records),
    deleteAutoScalingGroup: (name) => deleteAutoScalingGroup(clients.autoscaling, name),
    deleteLaunchTemplate: (id) => deleteLaunchTemplate(clients.ec2, id),
    deleteNetworkInterface: (id) => deleteNetworkInterface(clients.ec2, id),
    deleteResource: (resource) => deleteLeftover(clients, resource),
  };
}

// ---- Listing ----------------------------------------------------------------------------

async function listClusterResources(
  { ec2, autoscaling, iam, route53 }: InventoryClients,
  cluster: string,
  records: ClusterRecords | undefined,
): Promise<CloudResource[]> {
  try {
    const found = await Promise.all([
      listAutoScalingGroups(autoscaling, cluster),
      listEc2Resources(ec2, cluster),
      listIamResources(iam, cluster),
      listDnsRecords(route53, records),
    ]);
    return found.flat();
  } catch (error) {
    throw classifyAwsError(error);
  }
}

/** The EC2 resources tagged for the cluster. Every Describe here pages (NextToken); DescribeAddresses alone has no pages. */
async function describeTaggedEc2(ec2: EC2Client, cluster: string) {
  const byTag: Filter[] = [{ Name: `tag:${CLUSTER_TAG}`, Values: [cluster] }];
  const client = { client: ec2 };
  const [vpcs, subnets, groups, gateways, tables, nats, addresses, instances, templates, volumes] =
    await Promise.all([
      allItems(paginateDescribeVpcs(client, { Filters: byTag }), (p) => p.Vpcs),
      allItems(paginateDescribeSubnets(client, { Filters: byTag }), (p) => p.Subnets),
      allItems(paginateDescribeSecurityGroups(client, { Filters: byTag }), (p) => p.SecurityGroups),
      allItems(
        paginateDescribeInternetGateways(client, { Filters: byTag }),
        (p) => p.InternetGateways,
      ),
      allItems(paginateDescribeRouteTables(client, { Filters: byTag }), (p) => p.RouteTables),
      allItems(paginateDescribeNatGateways(client, { Filter: byTag }), (p) => p.NatGateways),
      ec2.send(new DescribeAddressesCommand({ Filters: byTag })).then((o) => o.Addresses ?? []),
      allItems(
        paginateDescribeInstances(client, {
          Filters: [
            ...byTag,
            {
              Name: 'instance-state-name',
              Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'],
            },
          ],
        }),
        (p) => (p.Reservations ?? []).flatMap((r) => r.Instances ?? []),
      ),
      allItems(
        paginateDescribeLaunchTemplates(client, { Filters: byTag }),
        (p) => p.LaunchTemplates,
      ),
      allItems(paginateDescribeVolumes(client, { Filters: byTag }), (p) => p.Volumes),
    ]);
  return {
    vpcs,
    subnets,
    groups,
    gateways,
    tables,
    nats,
    addresses,
    instances,
    templates,
    volumes,
  };
}

/** ENIs the VPC CNI leaves behind carry its own tags, not the cluster's: they are found by VPC. */
async function networkInterfacesIn(ec2: EC2Client, vpcIds: string[]) {
  if (vpcIds.length === 0) return [];
  return allItems(
    paginateDescribeNetworkInterfaces(
      { client: ec2 },
      { Filters: [{ Name: 'vpc-id', Values: vpcIds }] },
    ),
    (p) => p.NetworkInterfaces,
  );
}

async function listEc2Resources(ec2: EC2Client, cluster: string): Promise<CloudResource[]> {
  const {
    vpcs,
    subnets,
    groups,
    gateways,
    tables,
    nats,
    addresses,
    instances,
    templates,
    volumes,
  } = await describeTaggedEc2(ec2, cluster);
  const enis = await networkInterfacesIn(
    ec2,
    vpcs.map((v) => v.VpcId ?? ''),
  );
  return [
    // NAME is the kOps name (the Name tag) as in `kops delete cluster`; the AWS name is hashed.
    ...listed(
      'autoscaling-config',
      templates,
      (t) => t.LaunchTemplateId,
      (t) => t.LaunchTemplateName,
    ),
    ...listed('instance', instances, (i) => i.InstanceId),
    ...enis
      // An instance's primary ENI goes with the instance; an interface an AWS service manages
      // (a NAT gateway's, a load balancer's) goes with the resource that service deletes.
      .filter(
        (n) => !(n.Attachment?.DeviceIndex === 0 && n.Attachment.InstanceId) && !n.RequesterManaged,
      )
      .map((n) => ({
        type: 'network-interface',
        name: n.Description || nameTag(n.TagSet, n.NetworkInterfaceId ?? ''),
        id: n.NetworkInterfaceId ?? '',
      })),
    // The control plane's etcd volume outlives its instances on purpose; delete takes it too.
    ...volumes
      .filter((v) => v.State !== 'deleting' && v.State !== 'deleted')
      .map((v) => ({
        type: 'volume',
        name: nameTag(v.Tags, v.VolumeId ?? ''),
        id: v.VolumeId ?? '',
        ...(v.Tags?.some((t) => t.Key === OWNER_TAG) ? {} : { leftForOwner: true as const }),
      })),
    ...listed(
      'nat-gateway',
      nats.filter((n) => n.State !== 'deleted'),
      (n) => n.NatGatewayId,
    ),
    ...listed(
      'elastic-ip',
      addresses,
      (a) => a.AllocationId,
      (a) => a.PublicIp,
    ),
    ...listed('internet-gateway', gateways, (g) => g.InternetGatewayId),
    ...listed('route-table', tables, (t) => t.RouteTableId),
    ...listed(
      'security-group',
      groups,
      (g) => g.GroupId,
      (g) => g.GroupName,
    ),
    ...listed('subnet', subnets, (s) => s.SubnetId),
    ...listed('vpc', vpcs, (v) => v.VpcId),
  ];
}

async function listAutoScalingGroups(
  autoscaling: AutoScalingClient,
  cluster: string,
): Promise<CloudResource[]> {
  const groups = await allItems(
    paginateDescribeAutoScalingGroups(
      { client: autoscaling },
      { Filters: [{ Name: `tag:${CLUSTER_TAG}`, Values: [cluster] }] },
    ),
    (p) => p.AutoScalingGroups,
  );
  return groups.map((g) => ({
    type: 'autoscaling-group',
    name: nameTag(g.Tags, g.AutoScalingGroupName ?? ''),
    id: g.AutoScalingGroupName ?? '',
  }));
}

/** A role and instance profile kopsless may have made for the cluster: today's names, then the unhashed ones of before. */
function iamNames(cluster: string): string[] {
  return (['masters', 'nodes', 'bastions'] as InstanceRoleKind[]).flatMap((kind) => [
    iamRoleName(kind, cluster),
    `${kind}.${cluster}`,
  ]);
}

const IAM_NOT_FOUND = ['NoSuchEntity', 'NoSuchEntityException', 'ValidationError'];

async function ownedRole(
  iam: IAMClient,
  name: string,
  cluster: string,
): Promise<{ id: string } | undefined> {
  try {
    const role = await iam.send(new GetRoleCommand({ RoleName: name }));
    return role.Role && isOwnedBy(role.Role.Tags, cluster)
      ? { id: role.Role.RoleId ?? name }
      : undefined;
  } catch (error) {
    if (isAwsErrorCode(error, ...IAM_NOT_FOUND)) return undefined;
    throw error;
  }
}

/**
 * The instance profile of this name when it is the cluster's. One the launch stage made sits
 * under the cluster's path with its tags (planning/instance-profiles.ts). One a stack made before
 * profiles left it carries no tags (CloudFormation cannot tag them): it is the cluster's when it
 * sits under the cluster roles' path and the roles it holds are, or, emptied by a delete that
 * stopped, when its role of the same name is. A profile holding a role of another cluster, or
 * under another path, is never taken.
 */
async function ownedInstanceProfile(
  iam: IAMClient,
  name: string,
  cluster: string,
  sameNameRoleOwned: boolean,
): Promise<{ id: string } | undefined> {
  try {
    const profile = (await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name })))
      .InstanceProfile;
    if (!profile) return undefined;
    if (profile.Path === instanceProfilePath(cluster))
      return isOwnedBy(profile.Tags, cluster)
        ? { id: profile.InstanceProfileId ?? name }
        : undefined;
    if (profile.Path !== CLUSTER_ROLE_PATH) return undefined;
    const roles = profile.Roles ?? [];
    const owned =
      roles.length > 0
        ? (await Promise.all(roles.map((r) => ownedRole(iam, r.RoleName ?? '', cluster)))).every(
            Boolean,
          )
        : sameNameRoleOwned;
    return owned ? { id: profile.InstanceProfileId ?? name } : undefined;
  } catch (error) {
    if (isAwsErrorCode(error, ...IAM_NOT_FOUND)) return undefined;
    throw error;
  }
}

async function listIamResources(iam: IAMClient, cluster: string): Promise<CloudResource[]> {
  const found: CloudResource[] = [];
  for (const name of iamNames(cluster)) {
    const role = await ownedRole(iam, name, cluster);
    if (role) found.push({ type: 'iam-role', name, id: role.id });
    const profile = await ownedInstanceProfile(iam, name, cluster, !!role);
    if (profile) found.push({ type: 'iam-instance-profile', name, id: profile.id });
  }
  return found;
}

async function listDnsRecords(
  route53: Route53Client,
  records: ClusterRecords | undefined,
): Promise<CloudResource[]> {
  if (!records) return [];
  // Only the cluster's own names, read from where they start in the zone: the rest of the zone
  // (other clusters', the user's own records) is not listed.
  const found = await recordSetsNamed(route53, records.zoneId, records.names, 'A');
  return found.map((r) => ({
    type: 'dns-record',
    name: fqdn(r.Name ?? ''),
    id: `${records.zoneId}/${r.Type}`,
  }));
}

// ---- Deleting ---------------------------------------------------------------------------

async function deleteAutoScalingGroup(autoscaling: AutoScalingClient, name: string) {
  try {
    await autoscaling.send(
      new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name, ForceDelete: true }),
    );
  } catch (error) {
    if (isAwsErrorCode(error, 'ValidationError') && /not found/i.test((error as Error).message))
      return;
    throw classifyAwsError(error);
  }
}

async function deleteLaunchTemplate(ec2: EC2Client, id: string) {
  try {
    await ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: id }));
  } catch (error) {
    // By ID AWS answers InvalidLaunchTemplateId.NotFound; moto (and AWS by name) InvalidLaunchTemplateName.NotFoundException.
    if (
      isAwsErrorCode(
        error,
        'InvalidLaunchTemplateId.NotFound',
        'InvalidLaunchTemplateId.Malformed',
        'InvalidLaunchTemplateName.NotFoundException',
      )
    )
      return;
    throw classifyAwsError(error);
  }
}

async function deleteNetworkInterface(ec2: EC2Client, id: string) {
  try {
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id }));
  } catch (error) {
    if (isAwsErrorCode(error, 'InvalidNetworkInterfaceID.NotFound')) return;
    throw classifyAwsError(error);
  }
}

async function deleteInternetGateway(ec2: EC2Client, id: string) {
  const out = await ec2.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [id] }));
  for (const a of out.InternetGateways?.[0]?.Attachments ?? [])
    await done(
      ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: id, VpcId: a.VpcId })),
      'Gateway.NotAttached',
    );
  await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: id }));
}

async function deleteRouteTable(ec2: EC2Client, id: string) {
  const out = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [id] }));
  const associations = out.RouteTables?.[0]?.Associations ?? [];
  // A VPC's main route table goes with the VPC.
  if (associations.some((a) => a.Main)) return;
  for (const a of associations)
    if (a.RouteTableAssociationId)
      await done(
        ec2.send(new DisassociateRouteTableCommand({ AssociationId: a.RouteTableAssociationId })),
        'InvalidAssociationID.NotFound',
      );
  await ec2.send(new DeleteRouteTableCommand({ RouteTableId: id }));
}

async function deleteSecurityGroup(ec2: EC2Client, id: string) {
  const out = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }));
  const rules = out.SecurityGroups?.[0]?.IpPermissions ?? [];
  // The masters and nodes groups allow each other: the rules go first, or neither can.
  if (rules.length > 0)
    await done(
      ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: rules })),
      'InvalidPermission.NotFound',
    );
  await ec2.send(new DeleteSecurityGroupCommand({ GroupId: id }));
}

async function deleteInstanceProfile(iam: IAMClient, name: string) {
  const out = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }));
  for (const role of out.InstanceProfile?.Roles ?? [])
    await done(
      iam.send(
        new RemoveRoleFromInstanceProfileCommand({
          InstanceProfileName: name,
          RoleName: role.RoleName,
        }),
      ),
      'NoSuchEntity',
      'NoSuchEntityException',
    );
  await iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: name }));
}

async function deleteRole(iam: IAMClient, name: string) {
  const policies = await allItems(
    paginateListRolePolicies({ client: iam }, { RoleName: name }),
    (p) => p.PolicyNames,
  );
  for (const policy of policies)
    await done(
      iam.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: policy })),
      'NoSuchEntity',
      'NoSuchEntityException',
    );
  await iam.send(new DeleteRoleCommand({ RoleName: name }));
}

/** The record set as it is now: Route53 deletes only on an exact match of its values. */
async function deleteDnsRecord(route53: Route53Client, { id, name }: CloudResource) {
  const slash = id.lastIndexOf('/');
  await deleteRecordSet(route53, id.slice(0, slash), name, id.slice(slash + 1) as RRType);
}

/** How each type of resource is deleted directly; instances are terminated by the groups step. */
const DELETERS: Record<string, (clients: InventoryClients, r: CloudResource) => Promise<unknown>> =
  {
    volume: ({ ec2 }, r) => ec2.send(new DeleteVolumeCommand({ VolumeId: r.id })),
    'nat-gateway': ({ ec2 }, r) => ec2.send(new DeleteNatGatewayCommand({ NatGatewayId: r.id })),
    'elastic-ip': ({ ec2 }, r) => ec2.send(new ReleaseAddressCommand({ AllocationId: r.id })),
    'network-interface': ({ ec2 }, r) =>
      ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: r.id })),
    'internet-gateway': ({ ec2 }, r) => deleteInternetGateway(ec2, r.id),
    'route-table': ({ ec2 }, r) => deleteRouteTable(ec2, r.id),
    'security-group': ({ ec2 }, r) => deleteSecurityGroup(ec2, r.id),
    subnet: ({ ec2 }, r) => ec2.send(new DeleteSubnetCommand({ SubnetId: r.id })),
    vpc: ({ ec2 }, r) => ec2.send(new DeleteVpcCommand({ VpcId: r.id })),
    'iam-instance-profile': ({ iam }, r) => deleteInstanceProfile(iam, r.name),
    'iam-role': ({ iam }, r) => deleteRole(iam, r.name),
    'dns-record': ({ route53 }, r) => deleteDnsRecord(route53, r),
    'autoscaling-group': ({ autoscaling }, r) => deleteAutoScalingGroup(autoscaling, r.id),
    'autoscaling-config': ({ ec2 }, r) => deleteLaunchTemplate(ec2, r.id),
  };

/** Deletes what a stack delete left behind: gone counts as deleted, a dependency as blocked. */
async function deleteLeftover(
  clients: InventoryClients,
  resource: CloudResource,
): Promise<'deleted' | 'blocked'> {
  // Never tried: IAM denies it, and the answer would be an error on every retry.
  if (resource.leftForOwner) return 'blocked';
  try {
    await DELETERS[resource.type]?.(clients, resource);
    return 'deleted';
  } catch (error) {
    if (isAwsErrorCode(error, ...GONE_CODES)) return 'deleted';
    if (isAwsErrorCode(error, ...BLOCKED_CODES)) return 'blocked';
    throw classifyAwsError(error);
  }
}
