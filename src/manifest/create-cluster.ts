import { type FieldIssue, SpecInvalidError } from '../errors.js';
import { formatNet, ipv4Net, subdivide } from './cidr.js';
import {
  applyApiFlags,
  applySharedNetworkFlags,
  type NetworkFlags,
  type NetworkLookup,
} from './create-cluster-network.js';
import { DEFAULT_IMAGE } from './defaults.js';
import { regionOfZones } from './region.js';
import {
  API_VERSION,
  type ClusterManifest,
  type ClusterSubnetSpec,
  type InstanceGroup,
} from './types.js';

/**
 * `kopsless create cluster --name ... --zones ...`: the manifest `kops create cluster` writes for
 * the same flags (kOps's layout and names: `control-plane-<zone>`, `nodes-<zone>`, utility
 * subnets for private topology), so a user can compare the two side by side.
 */

export interface CreateClusterFlags {
  name: string;
  zones: string[];
  controlPlaneZones?: string[];
  networking?: string;
  nodeCount?: number;
  nodeSize?: string;
  controlPlaneSize?: string;
  controlPlaneCount?: number;
  networkCidr?: string;
  kubernetesVersion?: string;
  topology?: 'public' | 'private';
  dns?: 'public' | 'private' | 'none';
  /** `--dns-zone`: the hosted zone (name or ID) for the records; unset, kOps's longest match. */
  dnsZone?: string;
  sshAccess?: string[];
  adminAccess?: string[];
  image?: string;
  cloudLabels?: Record<string, string>;
  bastion?: boolean;
  /** `--api-loadbalancer-type` (kOps: public or internal). */
  apiLoadBalancerType?: NetworkFlags['apiLoadBalancerType'];
  /** `--network-id`: an existing VPC. */
  networkId?: string;
  /** `--subnets`: existing subnets, one per zone. */
  subnets?: string[];
  /** `--utility-subnets`: existing utility subnets, one per zone (private topology). */
  utilitySubnets?: string[];
}

export const DEFAULT_KUBERNETES_VERSION = 'v1.34.0';
export const DEFAULT_NETWORK_CIDR = '172.20.0.0/16';

const NETWORKING: Record<string, Record<string, unknown>> = {
  amazonvpc: { amazonvpc: {} },
  'amazon-vpc-routed-eni': { amazonvpc: {} },
  cni: { cni: {} },
  kubenet: { kubenet: {} },
  cilium: { cilium: {} },
  calico: { calico: {} },
  flannel: { flannel: { backend: 'vxlan' } },
};

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** kOps's subnet layout: public subnets split the VPC; private ones leave the first block to utility /8ths. */
function layoutSubnets(
  networkCidr: string,
  zones: string[],
  topology: 'public' | 'private',
): ClusterSubnetSpec[] {
  const network = ipv4Net(networkCidr);
  if (!network)
    throw new SpecInvalidError([
      {
        path: '--network-cidr',
        message: `Invalid value: ${JSON.stringify(networkCidr)}: not an IPv4 CIDR`,
      },
    ]);
  if (topology === 'public') {
    const pieces = Math.max(4, nextPowerOfTwo(zones.length));
    const prefix = network.prefix + Math.log2(pieces);
    return zones.map((zone, i) => ({
      cidr: formatNet(subdivide(network, prefix, i)),
      name: zone,
      type: 'Public',
      zone,
    }));
  }
  const pieces = nextPowerOfTwo(zones.length + 1);
  const prefix = network.prefix + Math.log2(pieces);
  const utilityBlock = subdivide(network, prefix, 0);
  const privateSubnets: ClusterSubnetSpec[] = zones.map((zone, i) => ({
    cidr: formatNet(subdivide(network, prefix, i + 1)),
    name: zone,
    type: 'Private',
    zone,
  }));
  const utility: ClusterSubnetSpec[] = zones.map((zone, i) => ({
    cidr: formatNet(subdivide(utilityBlock, prefix + 3, i)),
    name: `utility-${zone}`,
    type: 'Utility',
    zone,
  }));
  return [...privateSubnets, ...utility];
}

function instanceGroup(cluster: string, name: string, spec: InstanceGroup['spec']): InstanceGroup {
  return {
    apiVersion: API_VERSION,
    kind: 'InstanceGroup',
    metadata: { name, labels: { 'kops.k8s.io/cluster': cluster } },
    spec: { ...spec, nodeLabels: { 'kops.k8s.io/instancegroup': name } },
  };
}

/**
 * kOps's etcd member names: the control-plane group names without `control-plane-`, less the
 * prefix they all share (`a`, `b`, `c` for three zones); one that would start with a digit gets
 * `etcd-` (`etcd-1` for a second group in one zone).
 */
export function etcdMemberNames(groupNames: string[]): string[] {
  const names = groupNames.map((n) => n.replace(/^control-plane-/, '').replace(/^master-/, ''));
  while (names.length > 0 && names[0]!.length > 1) {
    const first = names[0]![0]!;
    if (!names.every((n) => n.startsWith(first))) break;
    for (let i = 0; i < names.length; i++) names[i] = names[i]!.slice(1);
  }
  return names.map((n) => (/^[0-9]/.test(n) ? `etcd-${n}` : n));
}

/**
 * Builds the manifest for the flags; bad flags are reported by flag name. `network` is what AWS
 * says of the VPC and subnets the flags name (`--network-id`, `--subnets`, `--utility-subnets`).
 */
export function manifestFromFlags(
  flags: CreateClusterFlags,
  network: NetworkLookup = { subnets: new Map() },
): ClusterManifest {
  const problems: FieldIssue[] = [];
  if (!flags.name)
    problems.push({
      path: '--name',
      message: 'Required value: the cluster name (e.g. --name=mycluster.example.com)',
    });
  if (flags.zones.length === 0)
    problems.push({
      path: '--zones',
      message: 'Required value: at least one availability zone (e.g. --zones=us-east-1a)',
    });
  const zonesRegion = regionOfZones(flags.zones);
  if (zonesRegion.issue) problems.push(zonesRegion.issue);
  const networkingKey = flags.networking ?? 'amazonvpc';
  const networking = Object.hasOwn(NETWORKING, networkingKey)
    ? NETWORKING[networkingKey]
    : undefined;
  if (!networking)
    problems.push({
      path: '--networking',
      message: `Unsupported value: ${JSON.stringify(networkingKey)}: supported values: ${Object.keys(
        NETWORKING,
      )
        .map((k) => `"${k}"`)
        .join(', ')}`,
    });
  // kOps: the count defaults to the number of --control-plane-zones, else 1; both given, the
  // count may not be below the zones'.
  const controlPlaneCount = flags.controlPlaneCount ?? (flags.controlPlaneZones?.length || 1);
  const controlPlaneZones =
    flags.controlPlaneZones ??
    flags.zones.slice(0, Math.max(1, Math.min(controlPlaneCount, flags.zones.length)));
  if (
    flags.controlPlaneZones &&
    flags.controlPlaneCount !== undefined &&
    flags.controlPlaneCount < flags.controlPlaneZones.length
  )
    problems.push({
      path: '--control-plane-count',
      message: `specified ${flags.controlPlaneZones.length} control-plane zones, but also requested ${flags.controlPlaneCount} control-plane nodes.  If specifying both, the count should match.`,
    });
  if (controlPlaneCount % 2 === 0)
    problems.push({
      path: '--control-plane-count',
      message: `Invalid value: ${controlPlaneCount}: must be odd for etcd quorum`,
    });
  if (problems.length > 0) throw new SpecInvalidError(problems);

  const name = flags.name;
  const topology = flags.topology ?? 'public';
  const networkCidr = flags.networkCidr ?? DEFAULT_NETWORK_CIDR;
  const image = flags.image ?? DEFAULT_IMAGE;
  const usesVpcCni = 'amazonvpc' in networking!;
  const controlPlaneGroups = Array.from({ length: controlPlaneCount }, (_, i) => {
    const zone = controlPlaneZones[i % controlPlaneZones.length]!;
    const suffix =
      controlPlaneCount > controlPlaneZones.length
        ? `-${Math.floor(i / controlPlaneZones.length) + 1}`
        : '';
    return { zone, name: `control-plane-${zone}${suffix}` };
  });
  const memberNames = etcdMemberNames(controlPlaneGroups.map((g) => g.name));
  const etcdMembers = controlPlaneGroups.map((g, i) => ({
    encryptedVolume: true,
    instanceGroup: g.name,
    name: memberNames[i]!,
  }));
  const etcd = (clusterName: string, cpu: string) => ({
    cpuRequest: cpu,
    etcdMembers,
    manager: { backupRetentionDays: 90 },
    memoryRequest: '100Mi',
    name: clusterName,
  });

  const cluster = {
    apiVersion: API_VERSION,
    kind: 'Cluster' as const,
    metadata: { name },
    spec: {
      api: { dns: {} },
      authorization: { rbac: {} },
      channel: 'stable',
      cloudProvider: 'aws',
      ...(flags.dnsZone ? { dnsZone: flags.dnsZone } : {}),
      ...(flags.cloudLabels && Object.keys(flags.cloudLabels).length > 0
        ? { cloudLabels: flags.cloudLabels }
        : {}),
      etcdClusters: [etcd('main', '200m'), etcd('events', '100m')],
      iam: { allowContainerRegistry: true, legacy: false },
      kubelet: { anonymousAuth: false },
      kubernetesApiAccess: flags.adminAccess ?? ['0.0.0.0/0', '::/0'],
      kubernetesVersion: flags.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION,
      networkCIDR: networkCidr,
      networking: networking!,
      nonMasqueradeCIDR: usesVpcCni ? networkCidr : '100.64.0.0/10',
      sshAccess: flags.sshAccess ?? ['0.0.0.0/0', '::/0'],
      subnets: layoutSubnets(networkCidr, flags.zones, topology),
      topology: { dns: { type: 'None' } },
    },
  };
  const networkIssues = applySharedNetworkFlags(
    cluster.spec,
    flags,
    network,
    flags.networkCidr !== undefined,
  );
  if (networkIssues.length > 0) throw new SpecInvalidError(networkIssues);
  if (usesVpcCni) cluster.spec.nonMasqueradeCIDR = cluster.spec.networkCIDR;
  // kOps's default: DNS public with a zone given, none (the API behind a load balancer) without.
  const dns = flags.dns ?? (flags.dnsZone ? 'public' : 'none');
  applyApiFlags(cluster.spec, { ...flags, dns }, topology);
  const groups: InstanceGroup[] = controlPlaneGroups.map((g) =>
    instanceGroup(name, g.name, {
      image,
      machineType: flags.controlPlaneSize ?? 't3.medium',
      maxSize: 1,
      minSize: 1,
      role: 'Master',
      subnets: [g.zone],
    }),
  );
  if (flags.bastion || topology === 'private') {
    groups.unshift(
      instanceGroup(name, 'bastions', {
        image,
        machineType: 't3.micro',
        maxSize: 1,
        minSize: 1,
        role: 'Bastion',
        subnets: topology === 'private' ? flags.zones.map((z) => `utility-${z}`) : flags.zones,
      }),
    );
  }
  // Nodes spread over the zones as evenly as counts allow, the first zones taking the remainder.
  const nodeCount = flags.nodeCount ?? flags.zones.length;
  flags.zones.forEach((zone, i) => {
    const size =
      Math.floor(nodeCount / flags.zones.length) + (i < nodeCount % flags.zones.length ? 1 : 0);
    if (size === 0) return;
    groups.push(
      instanceGroup(name, `nodes-${zone}`, {
        image,
        machineType: flags.nodeSize ?? 't3.medium',
        maxSize: size,
        minSize: size,
        role: 'Node',
        subnets: [zone],
      }),
    );
  });
  return { cluster, instanceGroups: groups };
}
