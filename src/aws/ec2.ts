import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DescribeAvailabilityZonesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  type EC2Client,
  type Filter,
  type Instance,
  ModifyLaunchTemplateCommand,
  paginateDescribeImages,
  paginateDescribeInstances,
  paginateDescribeInstanceTypes,
  paginateDescribeNetworkInterfaces,
  paginateDescribeSubnets,
  type RequestLaunchTemplateData,
  type InstanceTypeInfo as SdkInstanceTypeInfo,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { isAwsErrorCode, rethrowAws } from '../errors.js';
import type { SubnetView } from '../planning/eni-decision.js';
import type { InstanceTypeInfo } from '../planning/max-pods.js';
import { CLUSTER_TAG } from '../planning/names.js';
import { isLeftoverInterfaceOf, leftoverInterfaceFilters } from './leftover-interfaces.js';
import { allItems } from './pages.js';

/** The EC2 calls of the launch stage. */
export interface Ec2Api {
  describeInstanceTypes(types: string[]): Promise<SdkInstanceTypeInfo[]>;
  findImage(owner: string | undefined, name: string): Promise<string | undefined>;
  /** The launch template of that name, with its tags (whose `KubernetesCluster` says who owns it). */
  describeLaunchTemplate(
    name: string,
  ): Promise<
    | { id: string; latestVersion: number; defaultVersion: number; tags: Record<string, string> }
    | undefined
  >;
  latestLaunchTemplateData(id: string): Promise<RequestLaunchTemplateData | undefined>;
  createLaunchTemplate(
    name: string,
    data: RequestLaunchTemplateData,
    tags: Array<{ Key: string; Value: string }>,
    clientToken: string,
  ): Promise<{ id: string; version: number }>;
  createLaunchTemplateVersion(
    id: string,
    data: RequestLaunchTemplateData,
    clientToken: string,
  ): Promise<number>;
  setDefaultLaunchTemplateVersion(id: string, version: number): Promise<void>;
  describeInstances(filters: Filter[]): Promise<Instance[]>;
  terminateInstances(instanceIds: string[]): Promise<void>;
  /** Names of the region's availability zones. */
  availabilityZones(): Promise<string[]>;
  /**
   * The cluster of each instance, from its `KubernetesCluster` tag; instances of no cluster, and
   * IDs EC2 no longer knows, are absent.
   */
  clustersOfInstances(instanceIds: string[]): Promise<Map<string, string>>;
  /** Each subnet's CIDR and the addresses in use in it (private IPs and the first address of each prefix). */
  subnetUsage(subnetIds: string[]): Promise<Map<string, SubnetView>>;
  /**
   * The network interfaces in these VPCs that the VPC CNI left behind for the cluster: attached
   * to nothing, tagged for the cluster, not managed by an AWS service (see `leftover-interfaces.ts`).
   */
  detachedNetworkInterfaces(cluster: string, vpcIds: string[]): Promise<string[]>;
}

/** Instance IDs per DescribeInstances call (one `instance-id` filter's values). */
export const INSTANCE_IDS_PER_DESCRIBE = 200;

/** Max 100 instance types per DescribeInstanceTypes call. */
const INSTANCE_TYPES_PER_CALL = 100;

/** `client` is a whole SDK client: the SDK's paginators insist on one. */
export function ec2Api(client: EC2Client): Ec2Api {
  return {
    describeInstanceTypes: (...args) => describeInstanceTypes(client, ...args),
    findImage: (...args) => findImage(client, ...args),
    describeLaunchTemplate: (...args) => describeLaunchTemplate(client, ...args),
    latestLaunchTemplateData: (...args) => latestLaunchTemplateData(client, ...args),
    createLaunchTemplate: (...args) => createLaunchTemplate(client, ...args),
    createLaunchTemplateVersion: (...args) => createLaunchTemplateVersion(client, ...args),
    setDefaultLaunchTemplateVersion: (...args) => setDefaultLaunchTemplateVersion(client, ...args),
    terminateInstances: (...args) => terminateInstances(client, ...args),
    availabilityZones: (...args) => availabilityZones(client, ...args),
    describeInstances: (...args) => describeInstances(client, ...args),
    clustersOfInstances: (...args) => clustersOfInstances(client, ...args),
    subnetUsage: (...args) => subnetUsage(client, ...args),
    detachedNetworkInterfaces: (...args) => detachedNetworkInterfaces(client, ...args),
  };
}

/** One DescribeInstanceTypes, every page. */
function describeTypes(client: EC2Client, types: string[]) {
  return allItems(
    paginateDescribeInstanceTypes({ client }, { InstanceTypes: types as never }),
    (p) => p.InstanceTypes,
  );
}

async function describeInstanceTypes(
  client: EC2Client,
  types: string[],
): ReturnType<Ec2Api['describeInstanceTypes']> {
  const result: SdkInstanceTypeInfo[] = [];
  for (let i = 0; i < types.length; i += INSTANCE_TYPES_PER_CALL) {
    const batch = types.slice(i, i + INSTANCE_TYPES_PER_CALL);
    try {
      result.push(...(await describeTypes(client, batch)));
    } catch (error) {
      if (!isAwsErrorCode(error, 'InvalidInstanceType')) rethrowAws(error);
      // One unknown type fails the whole call; ask one at a time so the known ones still answer.
      for (const type of batch) {
        try {
          result.push(...(await describeTypes(client, [type])));
        } catch (inner) {
          if (!isAwsErrorCode(inner, 'InvalidInstanceType')) rethrowAws(inner);
        }
      }
    }
  }
  return result;
}

async function findImage(
  client: EC2Client,
  owner: string | undefined,
  name: string,
): ReturnType<Ec2Api['findImage']> {
  try {
    const images = await allItems(
      paginateDescribeImages(
        { client },
        { ...(owner ? { Owners: [owner] } : {}), Filters: [{ Name: 'name', Values: [name] }] },
      ),
      (p) => p.Images,
    );
    const newest = images.sort((a, b) =>
      (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''),
    )[0];
    return newest?.ImageId;
  } catch (error) {
    return rethrowAws(error);
  }
}

async function describeLaunchTemplate(
  client: EC2Client,
  name: string,
): ReturnType<Ec2Api['describeLaunchTemplate']> {
  try {
    const out = await client.send(
      new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: [name] }),
    );
    const lt = out.LaunchTemplates?.[0];
    if (!lt) return undefined;
    const tags = Object.fromEntries((lt.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    return {
      id: lt.LaunchTemplateId ?? '',
      latestVersion: lt.LatestVersionNumber ?? 1,
      defaultVersion: lt.DefaultVersionNumber ?? 1,
      tags,
    };
  } catch (error) {
    if (
      isAwsErrorCode(
        error,
        'InvalidLaunchTemplateName.NotFoundException',
        'InvalidLaunchTemplateId.NotFound',
      )
    )
      return undefined;
    return rethrowAws(error);
  }
}

async function latestLaunchTemplateData(
  client: EC2Client,
  id: string,
): ReturnType<Ec2Api['latestLaunchTemplateData']> {
  try {
    const out = await client.send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateId: id,
        Versions: ['$Latest'],
      }),
    );
    return out.LaunchTemplateVersions?.[0]?.LaunchTemplateData as
      | RequestLaunchTemplateData
      | undefined;
  } catch (error) {
    return rethrowAws(error);
  }
}

async function createLaunchTemplate(
  client: EC2Client,
  name: string,
  data: RequestLaunchTemplateData,
  tags: Array<{ Key: string; Value: string }>,
  clientToken: string,
): ReturnType<Ec2Api['createLaunchTemplate']> {
  try {
    const out = await client.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: name,
        LaunchTemplateData: data,
        ClientToken: clientToken,
        TagSpecifications: [{ ResourceType: 'launch-template', Tags: tags }],
      }),
    );
    return {
      id: out.LaunchTemplate?.LaunchTemplateId ?? '',
      version: out.LaunchTemplate?.LatestVersionNumber ?? 1,
    };
  } catch (error) {
    if (isAwsErrorCode(error, 'InvalidLaunchTemplateName.AlreadyExistsException')) {
      // A retried create whose first attempt went through (EC2 answers the same ClientToken
      // with the first result; moto does not): it is ours when it carries the tags we gave it.
      const existing = await client
        .send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: [name] }))
        .catch(() => undefined);
      const lt = existing?.LaunchTemplates?.[0];
      const ours =
        lt && tags.every((t) => lt.Tags?.some((x) => x.Key === t.Key && x.Value === t.Value));
      if (ours) return { id: lt.LaunchTemplateId ?? '', version: lt.LatestVersionNumber ?? 1 };
    }
    return rethrowAws(error);
  }
}

async function createLaunchTemplateVersion(
  client: EC2Client,
  id: string,
  data: RequestLaunchTemplateData,
  clientToken: string,
): ReturnType<Ec2Api['createLaunchTemplateVersion']> {
  try {
    const out = await client.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: id,
        LaunchTemplateData: data,
        ClientToken: clientToken,
      }),
    );
    return out.LaunchTemplateVersion?.VersionNumber ?? 1;
  } catch (error) {
    return rethrowAws(error);
  }
}

async function setDefaultLaunchTemplateVersion(
  client: EC2Client,
  id: string,
  version: number,
): ReturnType<Ec2Api['setDefaultLaunchTemplateVersion']> {
  try {
    await client.send(
      new ModifyLaunchTemplateCommand({
        LaunchTemplateId: id,
        DefaultVersion: String(version),
      }),
    );
  } catch (error) {
    rethrowAws(error);
  }
}

async function terminateInstances(
  client: EC2Client,
  instanceIds: string[],
): ReturnType<Ec2Api['terminateInstances']> {
  if (instanceIds.length === 0) return;
  try {
    await client.send(new TerminateInstancesCommand({ InstanceIds: instanceIds }));
  } catch (error) {
    if (isAwsErrorCode(error, 'InvalidInstanceID.NotFound')) return;
    rethrowAws(error);
  }
}

async function availabilityZones(client: EC2Client): ReturnType<Ec2Api['availabilityZones']> {
  // DescribeAvailabilityZones has no pages: one answer holds the region's zones.
  try {
    const out = await client.send(new DescribeAvailabilityZonesCommand({}));
    return (out.AvailabilityZones ?? []).map((z) => z.ZoneName ?? '').filter(Boolean);
  } catch (error) {
    return rethrowAws(error);
  }
}

async function describeInstances(
  client: EC2Client,
  filters: Filter[],
): ReturnType<Ec2Api['describeInstances']> {
  try {
    return await allItems(paginateDescribeInstances({ client }, { Filters: filters }), (p) =>
      (p.Reservations ?? []).flatMap((r) => r.Instances ?? []),
    );
  } catch (error) {
    return rethrowAws(error);
  }
}

async function clustersOfInstances(
  client: EC2Client,
  instanceIds: string[],
): ReturnType<Ec2Api['clustersOfInstances']> {
  // As few calls as the IDs need, page by page. A filter rather than InstanceIds: an ID EC2 no
  // longer knows is simply absent, instead of failing the whole call.
  const clusters = new Map<string, string>();
  try {
    for (let i = 0; i < instanceIds.length; i += INSTANCE_IDS_PER_DESCRIBE) {
      const filters = [
        { Name: 'instance-id', Values: instanceIds.slice(i, i + INSTANCE_IDS_PER_DESCRIBE) },
      ];
      for await (const page of paginateDescribeInstances(
        { client, pageSize: 1000 },
        { Filters: filters },
      )) {
        for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
          const cluster = instance.Tags?.find((t) => t.Key === CLUSTER_TAG)?.Value;
          if (instance.InstanceId && cluster) clusters.set(instance.InstanceId, cluster);
        }
      }
    }
  } catch (error) {
    rethrowAws(error);
  }
  return clusters;
}

async function subnetUsage(
  client: EC2Client,
  subnetIds: string[],
): ReturnType<Ec2Api['subnetUsage']> {
  // Only the addresses are kept, never the network interfaces: a busy subnet holds far more than a page of them.
  const views = new Map<string, SubnetView>();
  if (subnetIds.length === 0) return views;
  try {
    for await (const page of paginateDescribeSubnets({ client }, { SubnetIds: subnetIds })) {
      for (const s of page.Subnets ?? [])
        if (s.SubnetId)
          views.set(s.SubnetId, { subnetId: s.SubnetId, cidr: s.CidrBlock ?? '', usedIps: [] });
    }
    for await (const page of paginateDescribeNetworkInterfaces(
      { client },
      { Filters: [{ Name: 'subnet-id', Values: subnetIds }] },
    )) {
      for (const n of page.NetworkInterfaces ?? []) {
        const view = n.SubnetId ? views.get(n.SubnetId) : undefined;
        if (!view) continue;
        for (const a of n.PrivateIpAddresses ?? [])
          if (a.PrivateIpAddress) view.usedIps.push(a.PrivateIpAddress);
        for (const p of n.Ipv4Prefixes ?? [])
          if (p.Ipv4Prefix) view.usedIps.push(p.Ipv4Prefix.split('/')[0]!);
      }
    }
  } catch (error) {
    rethrowAws(error);
  }
  return views;
}

async function detachedNetworkInterfaces(
  client: EC2Client,
  cluster: string,
  vpcIds: string[],
): ReturnType<Ec2Api['detachedNetworkInterfaces']> {
  if (vpcIds.length === 0) return [];
  try {
    const filters = [{ Name: 'vpc-id', Values: vpcIds }, ...leftoverInterfaceFilters(cluster)];
    return (
      await allItems(
        paginateDescribeNetworkInterfaces({ client }, { Filters: filters }),
        (p) => p.NetworkInterfaces,
      )
    )
      .filter((n) => isLeftoverInterfaceOf(cluster, n))
      .map((n) => n.NetworkInterfaceId ?? '');
  } catch (error) {
    return rethrowAws(error);
  }
}

/** The calculator's view of an EC2 instance type: ENIs of the default network card only. */
export function toInstanceTypeInfo(t: SdkInstanceTypeInfo): InstanceTypeInfo {
  const net = t.NetworkInfo;
  const defaultCard = net?.NetworkCards?.find(
    (c) => c.NetworkCardIndex === (net.DefaultNetworkCardIndex ?? 0),
  );
  return {
    instanceType: t.InstanceType ?? '',
    vcpus: t.VCpuInfo?.DefaultVCpus ?? 0,
    maxEnis: defaultCard?.MaximumNetworkInterfaces ?? net?.MaximumNetworkInterfaces ?? 0,
    ipv4PerEni: net?.Ipv4AddressesPerInterface ?? 0,
    ...(t.Hypervisor ? { hypervisor: t.Hypervisor } : {}),
    bareMetal: t.BareMetal === true,
  };
}

/** Looks up instance types in batches; returns what EC2 knows, keyed by type. */
export async function lookupInstanceTypes(
  ec2: Pick<Ec2Api, 'describeInstanceTypes'>,
  types: Iterable<string>,
): Promise<Map<string, InstanceTypeInfo>> {
  const unique = [...new Set(types)].sort();
  const infos = unique.length > 0 ? await ec2.describeInstanceTypes(unique) : [];
  return new Map(infos.map((t) => [t.InstanceType ?? '', toInstanceTypeInfo(t)]));
}

/** Well-known image owner aliases kOps accepts in `image: <alias>/<name>`. */
const OWNER_ALIASES: Record<string, string> = {
  ubuntu: '099720109477',
  canonical: '099720109477',
  debian: '136693071363',
  amazon: 'amazon',
  redhat: '309956199498',
};

/** Splits a kOps image reference into the owner and name to search for (or an AMI ID). */
export function parseImageReference(
  image: string,
): { amiId: string } | { owner?: string; name: string } {
  if (/^ami-[0-9a-f]+$/.test(image)) return { amiId: image };
  const slash = image.indexOf('/');
  if (slash > 0) {
    const first = image.slice(0, slash);
    if (/^\d{12}$/.test(first)) return { owner: first, name: image.slice(slash + 1) };
    const alias = OWNER_ALIASES[first];
    // `ubuntu/images/...` is both an alias form and a plain name; kOps tries the name as written.
    if (alias && first !== 'ubuntu') return { owner: alias, name: image.slice(slash + 1) };
  }
  return { name: image };
}

/** Resolves each distinct image reference to an AMI ID; unresolved ones are left out. */
export async function resolveImages(
  ec2: Pick<Ec2Api, 'findImage'>,
  images: Iterable<string>,
): Promise<Map<string, string>> {
  const resolved = new Map<string, string>();
  for (const image of new Set(images)) {
    const ref = parseImageReference(image);
    const id = 'amiId' in ref ? ref.amiId : await ec2.findImage(ref.owner, ref.name);
    if (id) resolved.set(image, id);
  }
  return resolved;
}
