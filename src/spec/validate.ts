import type { FieldIssue } from '../errors.js';
import { contains, formatIpNet, formatNet, ipNet, ipv4Net, netsOverlap, overlaps, parseCidr, type IpNet, type Ipv4Net } from './cidr.js';
import { cIdentifierErrors, dns1123SubdomainErrors, labelKeyErrors, labelValueErrors, parseTaint, TAINT_EFFECTS } from './content.js';
import { field, index } from './field.js';
import { intOrPercent } from './int-or-percent.js';
import { validateKopsClusterRules, validateKopsInstanceGroupRules } from './kops-rules.js';
import { isKubernetesBuildLocation, kubernetesVersionRangeIssues, parseKubernetesVersion } from './kubernetes-version.js';
import { igPath } from './parse.js';
import { ownedTagKey } from '../planning/names.js';
import { isControlPlaneRole, type ClusterManifest, type InstanceGroup, type RollingUpdate } from './types.js';

/**
 * kOps's validation rules that decide whether a manifest is valid, worded as kOps words them.
 * Pure: no AWS calls (instance types are checked where the cloud is reached).
 */

const SUBNET_TYPES = ['Public', 'Private', 'Utility', 'DualStack'] as const;
const ROLES = ['ControlPlane', 'APIServer', 'Node', 'Bastion'] as const;
const DNS_TYPES = ['Public', 'Private', 'None'] as const;
const NETWORKING_OPTIONS = ['classic', 'kubenet', 'external', 'cni', 'kopeio', 'weave', 'flannel', 'calico', 'canal', 'kuberouter', 'romana', 'amazonvpc', 'cilium', 'lyftvpc', 'gce', 'kindnet'];

export { dns1123SubdomainErrors };

/** AWS's limit on a tag key, in characters. */
const TAG_KEY_LIMIT = 128;

/** A Route 53 hosted zone ID, which kOps accepts in place of the zone's name. */
export const HOSTED_ZONE_ID = /^Z[0-9A-Z]{1,31}$/;

// kOps's tolerant parser: `1.34`, ` 1.34.0 ` and `v1.34.0` are all Kubernetes 1.34.0.
export { parseKubernetesVersion };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function validateCidrField(cidr: unknown, path: string, { allowPrefixList = false } = {}): FieldIssue[] {
  if (typeof cidr !== 'string') return [field.invalid(path, cidr, 'Could not be parsed as a CIDR')];
  if (allowPrefixList && /^pl-[0-9a-f]+$/.test(cidr)) return [];
  const parsed = parseCidr(cidr);
  return parsed.ok ? [] : [field.invalid(path, cidr, parsed.detail)];
}

/** kOps's `validateRollingUpdate`: no surge on the control plane, not both zero, no negatives. */
export function validateRollingUpdate(rollingUpdate: RollingUpdate, path: string, onControlPlane: boolean): FieldIssue[] {
  const issues: FieldIssue[] = [];
  let unavailable = 1;
  if (rollingUpdate.maxUnavailable !== undefined) {
    const parsed = intOrPercent(rollingUpdate.maxUnavailable, 1, false);
    if (parsed instanceof Error) issues.push(field.invalid(`${path}.maxUnavailable`, rollingUpdate.maxUnavailable, `Unable to parse: ${parsed.message}`));
    else {
      unavailable = parsed;
      if (unavailable < 0) issues.push(field.invalid(`${path}.maxUnavailable`, rollingUpdate.maxUnavailable, 'Cannot be negative'));
    }
  }
  if (rollingUpdate.maxSurge !== undefined) {
    const parsed = intOrPercent(rollingUpdate.maxSurge, 1000, true);
    if (parsed instanceof Error) {
      issues.push(field.invalid(`${path}.maxSurge`, rollingUpdate.maxSurge, `Unable to parse: ${parsed.message}`));
    } else {
      if (onControlPlane && parsed !== 0) issues.push(field.forbidden(`${path}.maxSurge`, 'Cannot surge instance groups with role "ControlPlane"'));
      else if (parsed < 0) issues.push(field.invalid(`${path}.maxSurge`, rollingUpdate.maxSurge, 'Cannot be negative'));
      if (unavailable === 0 && parsed === 0) issues.push(field.forbidden(`${path}.maxSurge`, 'Cannot be zero if maxUnavailable is zero'));
    }
  }
  return issues;
}

function validateClusterName(name: string): FieldIssue[] {
  if (!name) return [field.required('metadata.name', 'Cluster Name is required (e.g. --name=mycluster.myzone.com)')];
  const errors = dns1123SubdomainErrors(name);
  if (errors.length > 0) {
    return [field.invalid('metadata.name', name, `Cluster Name must be a valid DNS name (e.g. --name=mycluster.myzone.com) errors: ${errors.join(', ')}`)];
  }
  if (!name.includes('.')) return [field.invalid('metadata.name', name, 'Cluster Name must be a fully-qualified DNS name (e.g. --name=mycluster.myzone.com)')];
  // AWS allows 128 characters in a tag key, and every resource carries kubernetes.io/cluster/<name>:
  // a longer name is a cluster that can never be created.
  if (ownedTagKey(name).length > TAG_KEY_LIMIT) {
    return [field.tooLong('metadata.name', TAG_KEY_LIMIT - ownedTagKey('').length, `the tag key ${ownedTagKey('<name>')} is limited to ${TAG_KEY_LIMIT} characters by AWS`)];
  }
  return [];
}

/** kOps's egress kinds, by the prefix of the ID (`nat-…`, `eipalloc-…`, `i-…`, `tgw-…`) or `External`. */
const EGRESS_KINDS = ['nat', 'eipalloc', 'i', 'External', 'tgw'];
const IPV6_SUBNET_NOTATION = /^\/(\d+)#([a-f0-9]+)$/;

/** True for an IPv6 cluster, which kOps recognises by an IPv6 `nonMasqueradeCIDR`. */
function isIPv6Only(spec: Record<string, unknown>): boolean {
  return typeof spec.nonMasqueradeCIDR === 'string' && spec.nonMasqueradeCIDR.includes(':');
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** kOps's `validateIPv6CIDR`: a CIDR, or `/<size>#<hex index>` for "the Nth block of that size". */
function validateIpv6Cidr(path: string, cidr: unknown, serviceRange: IpNet | undefined): FieldIssue[] {
  if (typeof cidr !== 'string') return [field.invalid(path, cidr, 'Could not be parsed as a CIDR')];
  if (cidr.startsWith('/')) {
    const match = IPV6_SUBNET_NOTATION.exec(cidr);
    if (!match) {
      return [field.invalid(path, cidr, `IPv6 CIDR subnet is not parsable: unable to parse CIDR subnet string ${JSON.stringify(cidr)} using ${JSON.stringify(IPV6_SUBNET_NOTATION.source)}`)];
    }
    return Number(match[1]) > 128 ? [field.invalid(path, cidr, 'IPv6 CIDR subnet size must be a value between 0 and 128')] : [];
  }
  const issues = validateCidrField(cidr, path);
  if (!cidr.includes(':')) issues.push(field.invalid(path, cidr, 'Network is not an IPv6 CIDR'));
  const net = ipNet(cidr);
  if (net && serviceRange && netsOverlap(net, serviceRange)) {
    issues.push(field.forbidden(path, `ipv6CIDR ${JSON.stringify(cidr)} must not overlap serviceClusterIPRange ${JSON.stringify(formatIpNet(serviceRange))}`));
  }
  return issues;
}

/**
 * A subnet's zone on AWS: kOps finds the zone of a shared subnet (`id`) from AWS, so only a subnet
 * kOps creates must name one; the zones must all be of one region.
 */
function validateZone(raw: Record<string, unknown>, path: string, name: string, region: { value?: string }): FieldIssue[] {
  const zone = raw.zone;
  if (zone === undefined || zone === '') {
    return raw.id ? [] : [field.required(`${path}.zone`, `subnet ${JSON.stringify(name)} must specify a zone or the ID of an existing subnet`)];
  }
  if (typeof zone !== 'string') return [field.invalid(`${path}.zone`, zone, 'must be a string')];
  if (zone.length <= 2) return [field.invalid(`${path}.zone`, zone, `invalid AWS zone: ${JSON.stringify(zone)} in subnet ${JSON.stringify(name)}`)];
  const zoneRegion = zone.slice(0, -1);
  if (region.value === undefined) region.value = zoneRegion;
  else if (zoneRegion !== region.value) {
    return [field.forbidden(`${path}.zone`, `Clusters cannot span multiple regions (found zone ${JSON.stringify(zone)}, but region is ${JSON.stringify(region.value)})`)];
  }
  return [];
}

function validateSubnets(spec: Record<string, unknown>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const subnets = asArray(spec.subnets);
  if (subnets.length === 0) return [field.required('spec.subnets', 'must configure at least one subnet (use --zones)')];
  const networkCidrs: Array<{ text: string; net: Ipv4Net }> = [];
  const primary = ipv4Net(typeof spec.networkCIDR === 'string' ? spec.networkCIDR : undefined);
  if (primary) networkCidrs.push({ text: String(spec.networkCIDR), net: primary });
  for (const extra of asArray(spec.additionalNetworkCIDRs)) {
    const net = ipv4Net(typeof extra === 'string' ? extra : undefined);
    if (net) networkCidrs.push({ text: String(extra), net });
  }
  const podCidr = ipNet(stringOf(spec.podCIDR));
  const serviceRange = ipNet(stringOf(spec.serviceClusterIPRange));
  const usesVpcCni = isObject(spec.networking) && spec.networking.amazonvpc !== undefined;
  const onAws = spec.cloudProvider === 'aws';
  const ipv6Only = isIPv6Only(spec);
  const region: { value?: string } = {};
  const firstHasId = isObject(subnets[0]) && Boolean(subnets[0].id);
  const seenNames = new Set<string>();
  // The IPv4 network of each subnet whose CIDR is valid, for the overlap check.
  const nets = subnets.map((raw, i) => {
    if (!isObject(raw) || raw.cidr === undefined) return undefined;
    return validateCidrField(raw.cidr, `${index('spec.subnets', i)}.cidr`).length === 0 ? ipv4Net(String(raw.cidr)) : undefined;
  });
  const earlierOverlaps = overlappingEarlier(nets);
  subnets.forEach((raw, i) => {
    const path = index('spec.subnets', i);
    if (!isObject(raw)) {
      issues.push(field.invalid(path, raw, 'must be a mapping with name, zone, type and cidr'));
      return;
    }
    const name = typeof raw.name === 'string' ? raw.name : '';
    if (!name) issues.push(field.required(`${path}.name`));
    else if (seenNames.has(name)) issues.push(field.duplicate(`${path}.name`, name));
    seenNames.add(name);
    if (Boolean(raw.id) !== firstHasId) issues.push(field.forbidden(`${path}.id`, 'cannot mix subnets with specified ID and unspecified ID'));
    if (onAws) issues.push(...validateZone(raw, path, name, region));
    if (raw.type === undefined) issues.push(field.required(`${path}.type`, `subnet type must be one of ${SUBNET_TYPES.join(', ')}`));
    else if (!SUBNET_TYPES.includes(raw.type as (typeof SUBNET_TYPES)[number])) issues.push(field.notSupported(`${path}.type`, raw.type, SUBNET_TYPES));
    else if (raw.type === 'DualStack' && !ipv6Only) issues.push(field.forbidden(`${path}.type`, 'subnet type DualStack may only be used in IPv6 clusters'));
    const ipv6Cidr = stringOf(raw.ipv6CIDR);
    if (raw.ipv6CIDR !== undefined && raw.ipv6CIDR !== '') issues.push(...validateIpv6Cidr(`${path}.ipv6CIDR`, raw.ipv6CIDR, serviceRange));
    if (raw.egress !== undefined && raw.egress !== '') {
      if (typeof raw.egress !== 'string' || !EGRESS_KINDS.includes(raw.egress.split('-')[0]!)) {
        issues.push(field.invalid(`${path}.egress`, raw.egress, 'egress must be of type NAT Gateway, NAT Gateway with existing ElasticIP, NAT EC2 Instance, Transit Gateway, or External'));
      }
      if (raw.egress !== 'External' && raw.type !== 'DualStack' && raw.type !== 'Private' && !(ipv6Cidr && raw.type === 'Public')) {
        issues.push(field.forbidden(`${path}.egress`, 'egress can only be specified for private or IPv6-capable public subnets'));
      }
    }
    if (raw.additionalRoutes !== undefined && onAws) {
      if (raw.id) issues.push(field.forbidden(`${path}.additionalRoutes`, 'additional routes cannot be added if the subnet is shared'));
      else if (raw.type !== 'Private') issues.push(field.forbidden(`${path}.additionalRoutes`, 'additional routes can only be added on private subnets'));
    }
    // No cidr is valid kOps: a shared subnet has AWS's, an IPv6 subnet needs none, and kOps
    // carves any other from the networkCIDR. The support check says which of these kopsless builds.
    if (raw.cidr === undefined || raw.cidr === '') return;
    const cidrIssues = validateCidrField(raw.cidr, `${path}.cidr`);
    issues.push(...cidrIssues);
    const cidr = String(raw.cidr);
    const any = cidrIssues.length === 0 ? ipNet(cidr) : undefined;
    if (any && podCidr && !usesVpcCni && netsOverlap(any, podCidr)) {
      issues.push(field.forbidden(`${path}.cidr`, `subnet ${JSON.stringify(name)} cidr ${JSON.stringify(cidr)} must not overlap podCIDR ${JSON.stringify(formatIpNet(podCidr))}`));
    }
    if (any && serviceRange && netsOverlap(any, serviceRange)) {
      issues.push(field.forbidden(`${path}.cidr`, `subnet ${JSON.stringify(name)} cidr ${JSON.stringify(cidr)} must not overlap serviceClusterIPRange ${JSON.stringify(formatIpNet(serviceRange))}`));
    }
    const net = cidrIssues.length === 0 ? ipv4Net(cidr) : undefined;
    if (!net) return;
    if (networkCidrs.length > 0 && !networkCidrs.some((n) => contains(n.net, net))) {
      const extra = networkCidrs.length > 1 ? ' or an additionalNetworkCIDR' : '';
      issues.push(field.forbidden(`${path}.cidr`, `subnet ${JSON.stringify(name)} cidr ${JSON.stringify(cidr)} is not a subnet of the networkCIDR ${JSON.stringify(String(spec.networkCIDR ?? ''))}${extra}`));
    }
    // Not a kOps rule, but AWS refuses overlapping subnets in a VPC: say so before anything is made.
    for (const j of earlierOverlaps.get(i) ?? []) {
      const other = subnets[j] as Record<string, unknown>;
      issues.push(field.forbidden(`${path}.cidr`, `subnet "${name}" cidr "${String(raw.cidr)}" overlaps subnet "${typeof other.name === 'string' ? other.name : ''}" cidr "${formatNet(nets[j]!)}"`));
    }
  });
  return issues;
}

/**
 * For each subnet, the earlier subnets whose CIDR overlaps its own, in index order; of several
 * earlier subnets with one same CIDR only the first is named. Two CIDRs overlap only when one
 * holds the other, so a sweep in address order with a stack of the CIDRs that hold the current one
 * finds every pair in O(n log n) (a stack is at most 33 distinct CIDRs deep): comparing every pair
 * took seconds for the tens of thousands of subnets a 5 MB manifest can hold.
 */
function overlappingEarlier(nets: Array<Ipv4Net | undefined>): Map<number, number[]> {
  // The first index of each distinct CIDR; later holders of one CIDR overlap that first one.
  const firstOf = new Map<string, number>();
  const found = new Map<number, number[]>();
  const add = (later: number, earlier: number) => {
    const list = found.get(later) ?? [];
    if (!list.includes(earlier)) list.push(earlier);
    found.set(later, list);
  };
  const distinct: number[] = [];
  nets.forEach((net, i) => {
    if (!net) return;
    const key = formatNet(net);
    const first = firstOf.get(key);
    if (first === undefined) {
      firstOf.set(key, i);
      distinct.push(i);
    }
  });
  // Pairs of distinct CIDRs where one holds the other, as (outer, inner) first indices.
  const order = distinct.sort((a, b) => nets[a]!.base - nets[b]!.base || nets[a]!.prefix - nets[b]!.prefix);
  const holders: number[] = [];
  const pairs: Array<[number, number]> = [];
  for (const i of order) {
    while (holders.length > 0 && !overlaps(nets[holders.at(-1)!]!, nets[i]!)) holders.pop();
    for (const outer of holders) pairs.push([outer, i]);
    holders.push(i);
  }
  // Every holder of a CIDR overlaps every holder of a CIDR it is paired with.
  const holdersOf = new Map<number, number[]>();
  nets.forEach((net, i) => {
    if (!net) return;
    const first = firstOf.get(formatNet(net))!;
    const list = holdersOf.get(first) ?? [];
    list.push(i);
    holdersOf.set(first, list);
  });
  for (const list of holdersOf.values()) list.slice(1).forEach((i) => add(i, list[0]!));
  for (const [a, b] of pairs) {
    const as = holdersOf.get(a)!;
    const bs = holdersOf.get(b)!;
    // The first holder of each CIDR stands for the others, so a CIDR repeated n times costs n.
    for (const later of as) if (later > bs[0]!) add(later, bs[0]!);
    for (const later of bs) if (later > as[0]!) add(later, as[0]!);
  }
  for (const list of found.values()) list.sort((x, y) => x - y);
  return found;
}

function validateNetworking(spec: Record<string, unknown>): FieldIssue[] {
  if (spec.networking === undefined) return [field.required('spec.networking', 'a networking option must be set (e.g. amazonvpc: {})')];
  if (!isObject(spec.networking)) return [field.invalid('spec.networking', spec.networking, 'must be a mapping')];
  const chosen = Object.keys(spec.networking).filter((k) => NETWORKING_OPTIONS.includes(k));
  const issues: FieldIssue[] = [];
  if (chosen.length === 0) issues.push(field.required('spec.networking', `one networking option must be set (${NETWORKING_OPTIONS.join(', ')})`));
  if (chosen.length > 1) {
    const found = [...chosen].sort().join(', ');
    chosen.forEach((k) => issues.push(field.forbidden(`spec.networking.${k}`, `only one networking option permitted, found ${found}`)));
  }
  if ('classic' in spec.networking) issues.push(field.invalid('spec.networking', 'classic', 'classic networking is not supported'));
  if ('romana' in spec.networking) issues.push(field.forbidden('spec.networking.romana', 'support for Romana has been removed'));
  if ('amazonvpc' in spec.networking && spec.cloudProvider !== 'aws') {
    issues.push(field.forbidden('spec.networking.amazonvpc', 'amazon-vpc-routed-eni networking is supported only in AWS'));
  }
  return issues;
}

function validateEtcd(spec: Record<string, unknown>, groups: Map<string, InstanceGroup>): FieldIssue[] {
  const clusters = asArray(spec.etcdClusters);
  if (clusters.length === 0) return [field.required('spec.etcdClusters')];
  const issues: FieldIssue[] = [];
  clusters.forEach((raw, i) => {
    const path = index('spec.etcdClusters', i);
    if (!isObject(raw)) {
      issues.push(field.invalid(path, raw, 'must be a mapping with name and etcdMembers'));
      return;
    }
    if (!raw.name) issues.push(field.required(`${path}.name`, 'etcdCluster did not have name'));
    const members = asArray(raw.etcdMembers);
    if (members.length === 0) issues.push(field.required(`${path}.etcdMembers`, 'No members defined in etcd cluster'));
    else if (members.length % 2 === 0) {
      issues.push(
        field.invalid(
          `${path}.etcdMembers`,
          members.length,
          'Should be an odd number of control-plane-zones for quorum. Use --zones and --control-plane-zones to declare node zones and control-plane zones separately',
        ),
      );
    }
    const memberNames = new Set<string>();
    members.forEach((member, j) => {
      const memberPath = index(`${path}.etcdMembers`, j);
      const m = isObject(member) ? member : {};
      if (!m.name) issues.push(field.required(`${memberPath}.name`, 'etcdMember did not have name'));
      else if (memberNames.has(String(m.name))) issues.push(field.duplicate(`${memberPath}.name`, m.name));
      memberNames.add(String(m.name ?? ''));
      if (!m.instanceGroup) issues.push(field.required(`${memberPath}.instanceGroup`, 'etcdMember did not have instanceGroup'));
      else {
        const ig = groups.get(String(m.instanceGroup));
        if (!ig) issues.push(field.notFound(`${memberPath}.instanceGroup`, m.instanceGroup));
        else if (!isControlPlaneRole(ig.spec.role)) {
          issues.push(field.forbidden(`${memberPath}.instanceGroup`, `InstanceGroup "${String(m.instanceGroup)}" must have role ControlPlane to hold an etcd member`));
        }
      }
    });
  });
  return issues;
}

/** `path[key]`, with the key JSON-quoted when it holds more than a label key's characters. */
export function entryPath(path: string, key: string): string {
  return /^[-A-Za-z0-9_./:]+$/.test(key) ? `${path}[${key}]` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Node labels, which the kubelet registers with: Kubernetes's label key and value rules (a key
 * with two slashes gets kOps's wording). They reach the boot script, so nothing else gets through.
 */
function validateNodeLabels(labels: unknown, path: string): FieldIssue[] {
  if (labels === undefined) return [];
  if (!isObject(labels)) return [field.invalid(path, labels, 'must be a mapping of label keys to values')];
  const issues: FieldIssue[] = [];
  for (const [key, value] of Object.entries(labels)) {
    if (key.split('/').length > 2) issues.push(field.invalid(path, key, 'Node label may only contain a single slash'));
    else labelKeyErrors(key).forEach((e) => issues.push(field.invalid(path, key, e)));
    if (typeof value !== 'string') issues.push(field.invalid(entryPath(path, key), value, 'must be a string'));
    else labelValueErrors(value).forEach((e) => issues.push(field.invalid(entryPath(path, key), value, e)));
  }
  return issues;
}

/** Taints as kOps writes them (`key=value:Effect`), held to Kubernetes's rules for node taints. */
function validateTaints(taints: unknown, path: string): FieldIssue[] {
  if (taints === undefined) return [];
  if (!Array.isArray(taints)) return [field.invalid(path, taints, 'must be a list of taints (key=value:Effect)')];
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  taints.forEach((raw, i) => {
    const p = index(path, i);
    if (typeof raw !== 'string') {
      issues.push(field.invalid(p, raw, 'must be a string (key=value:Effect)'));
      return;
    }
    const taint = parseTaint(raw);
    if (!taint) {
      issues.push(field.invalid(p, raw, 'invalid taint value'));
      return;
    }
    labelKeyErrors(taint.key).forEach((e) => issues.push(field.invalid(`${p}.key`, taint.key, e)));
    const valueErrors = taint.value === undefined ? [] : labelValueErrors(taint.value);
    if (valueErrors.length > 0) issues.push(field.invalid(`${p}.value`, taint.value, valueErrors.join(';')));
    if (taint.effect === '') issues.push(field.required(`${p}.effect`));
    else if (!(TAINT_EFFECTS as readonly string[]).includes(taint.effect)) issues.push(field.notSupported(`${p}.effect`, taint.effect, TAINT_EFFECTS));
    const unique = `${taint.key}:${taint.effect}`;
    if (seen.has(unique)) {
      const duplicate = field.duplicate(p, raw);
      issues.push({ ...duplicate, message: `${duplicate.message}: taints must be unique by key and effect pair` });
    }
    seen.add(unique);
  });
  return issues;
}

const RESERVED_CLOUD_LABELS = ['Name', 'KubernetesCluster'];
/** kOps's reserved prefixes, and kopsless's own (the spec-hash tag). */
const RESERVED_CLOUD_LABEL_PREFIXES = ['kubernetes.io/cluster/', 'k8s.io/role/', 'kops.k8s.io/', 'kopsless.io/'];

/**
 * Cloud labels become tags on every instance and volume; the tags kOps and kopsless find a
 * cluster's resources by are theirs alone. AWS's own limits are checked too (key 1-128, value up
 * to 256 characters, no `aws:` prefix), since EC2 would refuse them only at launch.
 */
function validateCloudLabels(labels: unknown, path: string, instanceGroup?: string): FieldIssue[] {
  if (labels === undefined) return [];
  if (!isObject(labels)) return [field.invalid(path, labels, 'must be a mapping of tag keys to values')];
  const issues: FieldIssue[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const p = entryPath(path, key);
    if (instanceGroup !== undefined && key === 'kops.k8s.io/instancegroup') {
      if (value !== instanceGroup) issues.push(field.invalid(p, value, 'value must match instance group name'));
      continue;
    }
    if (RESERVED_CLOUD_LABELS.includes(key)) issues.push(field.forbidden(p, `"${key}" is a reserved label and cannot be used as a custom label`));
    const prefix = RESERVED_CLOUD_LABEL_PREFIXES.find((r) => key.startsWith(r));
    if (prefix) issues.push(field.forbidden(p, `"${prefix}" is a reserved label prefix and cannot be used as a custom label`));
    if (key.toLowerCase().startsWith('aws:')) issues.push(field.forbidden(p, 'the "aws:" prefix is reserved for AWS use'));
    const keyLength = [...key].length;
    if (keyLength === 0 || keyLength > 128) issues.push(field.invalid(path, key, 'a tag key must be 1 to 128 characters'));
    if (typeof value !== 'string') issues.push(field.invalid(p, value, 'must be a string'));
    else if ([...value].length > 256) issues.push(field.invalid(p, value, 'a tag value must be no more than 256 characters'));
  }
  return issues;
}

/** A DNS name that is rendered into the boot script and the certificates: Kubernetes's subdomain rule. */
function validateDnsName(value: unknown, path: string, { trailingDot = false } = {}): FieldIssue[] {
  if (value === undefined) return [];
  if (typeof value !== 'string' || value === '') return [field.invalid(path, value, 'must be a DNS name (e.g. api.mycluster.example.com)')];
  const errors = dns1123SubdomainErrors(trailingDot && value.endsWith('.') ? value.slice(0, -1) : value);
  return errors.length > 0 ? [field.invalid(path, value, errors.join(', '))] : [];
}

/** The VPC CNI's env: names a shell could hold (`[A-Za-z_][A-Za-z0-9_]*`), string values. */
function validateAmazonVpcEnv(networking: unknown): FieldIssue[] {
  const amazonvpc = isObject(networking) ? networking.amazonvpc : undefined;
  if (!isObject(amazonvpc) || amazonvpc.env === undefined) return [];
  const path = 'spec.networking.amazonvpc.env';
  if (!Array.isArray(amazonvpc.env)) return [field.invalid(path, amazonvpc.env, 'must be a list of name/value pairs')];
  const issues: FieldIssue[] = [];
  amazonvpc.env.forEach((raw, i) => {
    const p = index(path, i);
    if (!isObject(raw)) {
      issues.push(field.invalid(p, raw, 'must be a mapping with name and value'));
      return;
    }
    if (raw.name === undefined || raw.name === '') issues.push(field.required(`${p}.name`));
    else if (typeof raw.name !== 'string') issues.push(field.invalid(`${p}.name`, raw.name, 'must be a string'));
    else cIdentifierErrors(raw.name).forEach((e) => issues.push(field.invalid(`${p}.name`, raw.name, e)));
    if (raw.value !== undefined) {
      if (typeof raw.value !== 'string') issues.push(field.invalid(`${p}.value`, raw.value, 'must be a string'));
      // No process argument or environment can carry a NUL; kubectl could never set it.
      else if (raw.value.includes('\0')) issues.push(field.invalid(`${p}.value`, raw.value, 'must not contain a NUL character'));
    }
  });
  return issues;
}

function validateMaxPods(kubelet: unknown, path: string): FieldIssue[] {
  if (!isObject(kubelet) || kubelet.maxPods === undefined) return [];
  if (Number.isInteger(kubelet.maxPods) && (kubelet.maxPods as number) > 0) return [];
  return [field.invalid(`${path}.maxPods`, kubelet.maxPods, 'must be a whole number greater than zero')];
}

function validateInstanceGroup(ig: InstanceGroup, manifest: ClusterManifest, subnetNames: Set<string>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const name = ig.metadata.name;
  const p = (rest: string) => igPath(name || '?', rest);
  if (!name) issues.push(field.required(p('metadata.name')));
  else dns1123SubdomainErrors(name).forEach((e) => issues.push(field.invalid(p('metadata.name'), name, e)));
  const spec = ig.spec as unknown as Record<string, unknown>;
  const role = spec.role;
  const controlPlane = isControlPlaneRole(typeof role === 'string' ? role : undefined);
  const subnets = asArray(spec.subnets);
  if (role === undefined || role === '') issues.push(field.required(p('spec.role'), 'Role must be set'));
  else if (!controlPlane && !ROLES.includes(role as (typeof ROLES)[number])) issues.push(field.notSupported(p('spec.role'), role, ROLES));
  for (const key of ['minSize', 'maxSize'] as const) {
    const value = spec[key];
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 0)) {
      issues.push(field.invalid(p(`spec.${key}`), value, 'must be a whole number, zero or more'));
    }
  }
  const minSize = typeof spec.minSize === 'number' ? spec.minSize : undefined;
  const maxSize = typeof spec.maxSize === 'number' ? spec.maxSize : undefined;
  if (controlPlane) {
    if (subnets.length === 0) issues.push(field.required(p('spec.subnets'), 'controlPlane InstanceGroup must specify at least one Subnet'));
    else if (subnets.length > 1) issues.push(field.invalid(p('spec.subnets'), subnets, 'controlPlane InstanceGroup must be in exactly one subnet, add more InstanceGroups instead'));
    if (minSize !== undefined && minSize > 1) issues.push(field.invalid(p('spec.minSize'), minSize, 'controlPlane InstanceGroup must have minSize set to 1'));
    if (maxSize !== undefined && maxSize > 1) issues.push(field.invalid(p('spec.maxSize'), maxSize, 'controlPlane InstanceGroup must have maxSize set to 1, add more InstanceGroups instead'));
    for (const [i, etcd] of asArray(manifest.cluster.spec.etcdClusters).entries()) {
      const e = isObject(etcd) ? etcd : {};
      const members = asArray(e.etcdMembers).map((m) => (isObject(m) ? m.instanceGroup : undefined));
      if (!members.includes(name)) {
        // kOps names the instance group of the cluster's last member, to show where they went.
        const last = String(members[members.length - 1] ?? '');
        issues.push(field.forbidden(p('metadata.name'), `InstanceGroup "${name}" with role ControlPlane must have a member in etcd (IG: "${last}") cluster "${String(e.name ?? i)}"`));
      }
    }
  }
  if (minSize !== undefined && maxSize !== undefined && maxSize < minSize) {
    issues.push(field.forbidden(p('spec.maxSize'), 'maxSize must be greater than or equal to minSize.'));
  }
  subnets.forEach((s, i) => {
    if (!subnetNames.has(String(s))) issues.push(field.notFound(p(index('spec.subnets', i)), s));
  });
  if (spec.machineType !== undefined && (typeof spec.machineType !== 'string' || !/^[a-z0-9-]+\.[a-z0-9-]+$/.test(spec.machineType))) {
    issues.push(field.invalid(p('spec.machineType'), spec.machineType, 'not an EC2 instance type (e.g. t3.medium)'));
  }
  if (spec.rollingUpdate !== undefined) {
    if (isObject(spec.rollingUpdate)) issues.push(...validateRollingUpdate(spec.rollingUpdate as RollingUpdate, p('spec.rollingUpdate'), controlPlane));
    else issues.push(field.invalid(p('spec.rollingUpdate'), spec.rollingUpdate, 'must be a mapping'));
  }
  issues.push(...validateMaxPods(spec.kubelet, p('spec.kubelet')));
  issues.push(...validateNodeLabels(spec.nodeLabels, p('spec.nodeLabels')));
  issues.push(...validateTaints(spec.taints, p('spec.taints')));
  issues.push(...validateCloudLabels(spec.cloudLabels, p('spec.cloudLabels'), name));
  return issues;
}

/**
 * Validates a parsed manifest. Returns every error found (kOps reports them all at once), in
 * document order: cluster fields first, then each instance group.
 */
export function validateManifest(manifest: ClusterManifest): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const { cluster, instanceGroups } = manifest;
  const spec = cluster.spec as Record<string, unknown>;
  issues.push(...validateClusterName(cluster.metadata.name));

  if (spec.kubernetesVersion === undefined || spec.kubernetesVersion === '') {
    issues.push(field.required('spec.kubernetesVersion'));
  } else if (typeof spec.kubernetesVersion !== 'string') {
    // kOps's decoder refuses a number for this string field too (YAML reads 1.34 as a number).
    issues.push(field.invalid('spec.kubernetesVersion', spec.kubernetesVersion, 'unable to parse kubernetes version: it must be a string; write the version in quotes ("1.34.0")'));
  } else if (!parseKubernetesVersion(spec.kubernetesVersion) && !isKubernetesBuildLocation(spec.kubernetesVersion)) {
    issues.push(field.invalid('spec.kubernetesVersion', spec.kubernetesVersion, 'unable to parse kubernetes version'));
  } else {
    issues.push(...kubernetesVersionRangeIssues(spec.kubernetesVersion));
  }
  if (!spec.cloudProvider) issues.push(field.required('spec.cloudProvider'));
  if (spec.networkCIDR === undefined || spec.networkCIDR === '') {
    if (!spec.networkID) issues.push(field.required('spec.networkCIDR', 'networkCIDR must be set (e.g. 172.20.0.0/16)'));
  } else issues.push(...validateCidrField(spec.networkCIDR, 'spec.networkCIDR'));
  asArray(spec.additionalNetworkCIDRs).forEach((c, i) => issues.push(...validateCidrField(c, index('spec.additionalNetworkCIDRs', i))));
  for (const key of ['nonMasqueradeCIDR', 'serviceClusterIPRange', 'podCIDR'] as const) {
    if (spec[key] !== undefined) issues.push(...validateCidrField(spec[key], `spec.${key}`));
  }
  asArray(spec.sshAccess).forEach((c, i) => issues.push(...validateCidrField(c, index('spec.sshAccess', i), { allowPrefixList: true })));
  asArray(spec.kubernetesApiAccess).forEach((c, i) => issues.push(...validateCidrField(c, index('spec.kubernetesApiAccess', i), { allowPrefixList: true })));
  asArray(spec.nodePortAccess).forEach((c, i) => issues.push(...validateCidrField(c, index('spec.nodePortAccess', i), { allowPrefixList: true })));

  issues.push(...validateSubnets(spec));
  issues.push(...validateNetworking(spec));
  const topology = isObject(spec.topology) ? spec.topology : undefined;
  const dns = topology && isObject(topology.dns) ? topology.dns : undefined;
  if (dns?.type !== undefined && !DNS_TYPES.includes(dns.type as (typeof DNS_TYPES)[number])) {
    issues.push(field.notSupported('spec.topology.dns.type', dns.type, DNS_TYPES));
  }
  if (spec.rollingUpdate !== undefined) {
    if (isObject(spec.rollingUpdate)) issues.push(...validateRollingUpdate(spec.rollingUpdate as RollingUpdate, 'spec.rollingUpdate', false));
    else issues.push(field.invalid('spec.rollingUpdate', spec.rollingUpdate, 'must be a mapping'));
  }
  for (const key of ['kubelet', 'controlPlaneKubelet', 'masterKubelet'] as const) issues.push(...validateMaxPods(spec[key], `spec.${key}`));
  issues.push(...validateDnsName(spec.masterPublicName, 'spec.masterPublicName'));
  issues.push(...validateDnsName(spec.masterInternalName, 'spec.masterInternalName'));
  // A Route 53 zone ID is valid for kOps; the support check reports it as not built here.
  if (!(typeof spec.dnsZone === 'string' && HOSTED_ZONE_ID.test(spec.dnsZone))) issues.push(...validateDnsName(spec.dnsZone, 'spec.dnsZone', { trailingDot: true }));
  issues.push(...validateAmazonVpcEnv(spec.networking));
  issues.push(...validateCloudLabels(spec.cloudLabels, 'spec.cloudLabels'));
  issues.push(...validateKopsClusterRules(manifest));

  const groups = new Map<string, InstanceGroup>();
  instanceGroups.forEach((ig, i) => {
    if (groups.has(ig.metadata.name)) issues.push(field.duplicate(`instanceGroups[${i}].metadata.name`, ig.metadata.name));
    groups.set(ig.metadata.name, ig);
  });
  issues.push(...validateEtcd(spec, groups));
  if (!instanceGroups.some((ig) => isControlPlaneRole(ig.spec.role))) {
    issues.push(field.required('instanceGroups', 'must have at least one InstanceGroup with role ControlPlane (or Master)'));
  }
  if (!instanceGroups.some((ig) => ig.spec.role === 'Node')) {
    issues.push(field.required('instanceGroups', 'must have at least one InstanceGroup with role Node'));
  }
  const subnetNames = new Set(asArray(spec.subnets).map((s) => (isObject(s) ? String(s.name ?? '') : '')));
  for (const ig of instanceGroups) issues.push(...validateInstanceGroup(ig, manifest, subnetNames), ...validateKopsInstanceGroupRules(ig, manifest));
  return issues;
}
