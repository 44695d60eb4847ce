import type { FieldIssue } from '../errors.js';
import {
  contains,
  formatIpNet,
  formatNet,
  type IpNet,
  type Ipv4Net,
  ipNet,
  ipv4Net,
  netsOverlap,
  overlaps,
  parseCidr,
} from './cidr.js';
import { cIdentifierErrors } from './content.js';
import { field, index } from './field.js';
import { regionOfZone } from './region.js';
import { asArray, isObject, stringOf } from './shapes.js';

/** kOps's rules for the cluster's network: CIDRs, subnets (zones, types, overlaps, egress), the networking option and the VPC CNI's env. */

const SUBNET_TYPES = ['Public', 'Private', 'Utility', 'DualStack'] as const;

const NETWORKING_OPTIONS = [
  'classic',
  'kubenet',
  'external',
  'cni',
  'kopeio',
  'weave',
  'flannel',
  'calico',
  'canal',
  'kuberouter',
  'romana',
  'amazonvpc',
  'cilium',
  'lyftvpc',
  'gce',
  'kindnet',
];

/** A CIDR field (or, where allowed, a managed prefix list ID `pl-…`). */
export function validateCidrField(
  cidr: unknown,
  path: string,
  { allowPrefixList = false } = {},
): FieldIssue[] {
  if (typeof cidr !== 'string') return [field.invalid(path, cidr, 'Could not be parsed as a CIDR')];
  if (allowPrefixList && /^pl-[0-9a-f]+$/.test(cidr)) return [];
  const parsed = parseCidr(cidr);
  return parsed.ok ? [] : [field.invalid(path, cidr, parsed.detail)];
}

/** kOps's egress kinds, by the prefix of the ID (`nat-…`, `eipalloc-…`, `i-…`, `tgw-…`) or `External`. */
const EGRESS_KINDS = ['nat', 'eipalloc', 'i', 'External', 'tgw'];
const IPV6_SUBNET_NOTATION = /^\/(\d+)#([a-f0-9]+)$/;

/** True for an IPv6 cluster, which kOps recognises by an IPv6 `nonMasqueradeCIDR`. */
function isIPv6Only(spec: Record<string, unknown>): boolean {
  return typeof spec.nonMasqueradeCIDR === 'string' && spec.nonMasqueradeCIDR.includes(':');
}

/** kOps's `validateIPv6CIDR`: a CIDR, or `/<size>#<hex index>` for "the Nth block of that size". */
function validateIpv6Cidr(
  path: string,
  cidr: unknown,
  serviceRange: IpNet | undefined,
): FieldIssue[] {
  if (typeof cidr !== 'string') return [field.invalid(path, cidr, 'Could not be parsed as a CIDR')];
  if (cidr.startsWith('/')) {
    const match = IPV6_SUBNET_NOTATION.exec(cidr);
    if (!match) {
      return [
        field.invalid(
          path,
          cidr,
          `IPv6 CIDR subnet is not parsable: unable to parse CIDR subnet string ${JSON.stringify(cidr)} using ${JSON.stringify(IPV6_SUBNET_NOTATION.source)}`,
        ),
      ];
    }
    return Number(match[1]) > 128
      ? [field.invalid(path, cidr, 'IPv6 CIDR subnet size must be a value between 0 and 128')]
      : [];
  }
  const issues = validateCidrField(cidr, path);
  if (!cidr.includes(':')) issues.push(field.invalid(path, cidr, 'Network is not an IPv6 CIDR'));
  const net = ipNet(cidr);
  if (net && serviceRange && netsOverlap(net, serviceRange)) {
    issues.push(
      field.forbidden(
        path,
        `ipv6CIDR ${JSON.stringify(cidr)} must not overlap serviceClusterIPRange ${JSON.stringify(formatIpNet(serviceRange))}`,
      ),
    );
  }
  return issues;
}

/**
 * A subnet's zone on AWS: kOps finds the zone of a shared subnet (`id`) from AWS, so only a subnet
 * kOps creates must name one; the zones must all be of one region.
 */
function validateZone(
  raw: Record<string, unknown>,
  path: string,
  name: string,
  region: { value?: string },
): FieldIssue[] {
  const zone = raw.zone;
  if (zone === undefined || zone === '') {
    return raw.id
      ? []
      : [
          field.required(
            `${path}.zone`,
            `subnet ${JSON.stringify(name)} must specify a zone or the ID of an existing subnet`,
          ),
        ];
  }
  if (typeof zone !== 'string') return [field.invalid(`${path}.zone`, zone, 'must be a string')];
  if (zone.length <= 2)
    return [
      field.invalid(
        `${path}.zone`,
        zone,
        `invalid AWS zone: ${JSON.stringify(zone)} in subnet ${JSON.stringify(name)}`,
      ),
    ];
  const zoneRegion = regionOfZone(zone);
  if (region.value === undefined) region.value = zoneRegion;
  else if (zoneRegion !== region.value) {
    return [
      field.forbidden(
        `${path}.zone`,
        `Clusters cannot span multiple regions (found zone ${JSON.stringify(zone)}, but region is ${JSON.stringify(region.value)})`,
      ),
    ];
  }
  return [];
}

/** kOps's subnet rules: names, zones, types, CIDRs within the network and not overlapping, egress. */
export function validateSubnets(spec: Record<string, unknown>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const subnets = asArray(spec.subnets);
  if (subnets.length === 0)
    return [field.required('spec.subnets', 'must configure at least one subnet (use --zones)')];
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
    return validateCidrField(raw.cidr, `${index('spec.subnets', i)}.cidr`).length === 0
      ? ipv4Net(String(raw.cidr))
      : undefined;
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
    if (Boolean(raw.id) !== firstHasId)
      issues.push(
        field.forbidden(`${path}.id`, 'cannot mix subnets with specified ID and unspecified ID'),
      );
    if (onAws) issues.push(...validateZone(raw, path, name, region));
    if (raw.type === undefined)
      issues.push(
        field.required(`${path}.type`, `subnet type must be one of ${SUBNET_TYPES.join(', ')}`),
      );
    else if (!SUBNET_TYPES.includes(raw.type as (typeof SUBNET_TYPES)[number]))
      issues.push(field.notSupported(`${path}.type`, raw.type, SUBNET_TYPES));
    else if (raw.type === 'DualStack' && !ipv6Only)
      issues.push(
        field.forbidden(`${path}.type`, 'subnet type DualStack may only be used in IPv6 clusters'),
      );
    const ipv6Cidr = stringOf(raw.ipv6CIDR);
    if (raw.ipv6CIDR !== undefined && raw.ipv6CIDR !== '')
      issues.push(...validateIpv6Cidr(`${path}.ipv6CIDR`, raw.ipv6CIDR, serviceRange));
    if (raw.egress !== undefined && raw.egress !== '') {
      if (typeof raw.egress !== 'string' || !EGRESS_KINDS.includes(raw.egress.split('-')[0]!)) {
        issues.push(
          field.invalid(
            `${path}.egress`,
            raw.egress,
            'egress must be of type NAT Gateway, NAT Gateway with existing ElasticIP, NAT EC2 Instance, Transit Gateway, or External',
          ),
        );
      }
      if (
        raw.egress !== 'External' &&
        raw.type !== 'DualStack' &&
        raw.type !== 'Private' &&
        !(ipv6Cidr && raw.type === 'Public')
      ) {
        issues.push(
          field.forbidden(
            `${path}.egress`,
            'egress can only be specified for private or IPv6-capable public subnets',
          ),
        );
      }
    }
    if (raw.additionalRoutes !== undefined && onAws) {
      if (raw.id)
        issues.push(
          field.forbidden(
            `${path}.additionalRoutes`,
            'additional routes cannot be added if the subnet is shared',
          ),
        );
      else if (raw.type !== 'Private')
        issues.push(
          field.forbidden(
            `${path}.additionalRoutes`,
            'additional routes can only be added on private subnets',
          ),
        );
    }
    // No cidr is valid kOps: a shared subnet has AWS's, an IPv6 subnet needs none, and kOps
    // carves any other from the networkCIDR. The support check says which of these kopsless builds.
    if (raw.cidr === undefined || raw.cidr === '') return;
    const cidrIssues = validateCidrField(raw.cidr, `${path}.cidr`);
    issues.push(...cidrIssues);
    const cidr = String(raw.cidr);
    const any = cidrIssues.length === 0 ? ipNet(cidr) : undefined;
    if (any && podCidr && !usesVpcCni && netsOverlap(any, podCidr)) {
      issues.push(
        field.forbidden(
          `${path}.cidr`,
          `subnet ${JSON.stringify(name)} cidr ${JSON.stringify(cidr)} must not overlap podCIDR ${JSON.stringify(formatIpNet(podCidr))}`,
        ),
      );
    }
    if (any && serviceRange && netsOverlap(any, serviceRange)) {
      issues.push(
        field.forbidden(
          `${path}.cidr`,
          `subnet ${JSON.stringify(name)} cidr ${JSON.stringify(cidr)} must not overlap serviceClusterIPRange ${JSON.stringify(formatIpNet(serviceRange))}`,
        ),
      );
    }
    const net = cidrIssues.length === 0 ? ipv4Net(cidr) : undefined;
    if (!net) return;
    if (networkCidrs.length > 0 && !networkCidrs.some((n) => contains(n.net, net))) {
      const extra = networkCidrs.length > 1 ? ' or an additionalNetworkCIDR' : '';
      issues.push(
        field.forbidden(
          `${path}.cidr`,
          `subnet ${JSON.stringify(name)} cidr ${JSON.stringify(cidr)} is not a subnet of the networkCIDR ${JSON.stringify(String(spec.networkCIDR ?? ''))}${extra}`,
        ),
      );
    }
    // Not a kOps rule, but AWS refuses overlapping subnets in a VPC: say so before anything is made.
    for (const j of earlierOverlaps.get(i) ?? []) {
      const other = subnets[j] as Record<string, unknown>;
      issues.push(
        field.forbidden(
          `${path}.cidr`,
          `subnet "${name}" cidr "${String(raw.cidr)}" overlaps subnet "${typeof other.name === 'string' ? other.name : ''}" cidr "${formatNet(nets[j]!)}"`,
        ),
      );
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
  const order = distinct.sort(
    (a, b) => nets[a]!.base - nets[b]!.base || nets[a]!.prefix - nets[b]!.prefix,
  );
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

/** Exactly one networking option, and one kopsless can build on AWS. */
export function validateNetworking(spec: Record<string, unknown>): FieldIssue[] {
  if (spec.networking === undefined)
    return [
      field.required('spec.networking', 'a networking option must be set (e.g. amazonvpc: {})'),
    ];
  if (!isObject(spec.networking))
    return [field.invalid('spec.networking', spec.networking, 'must be a mapping')];
  const chosen = Object.keys(spec.networking).filter((k) => NETWORKING_OPTIONS.includes(k));
  const issues: FieldIssue[] = [];
  if (chosen.length === 0)
    issues.push(
      field.required(
        'spec.networking',
        `one networking option must be set (${NETWORKING_OPTIONS.join(', ')})`,
      ),
    );
  if (chosen.length > 1) {
    const found = [...chosen].sort().join(', ');
    chosen.forEach((k) =>
      issues.push(
        field.forbidden(
          `spec.networking.${k}`,
          `only one networking option permitted, found ${found}`,
        ),
      ),
    );
  }
  if ('classic' in spec.networking)
    issues.push(field.invalid('spec.networking', 'classic', 'classic networking is not supported'));
  if ('romana' in spec.networking)
    issues.push(field.forbidden('spec.networking.romana', 'support for Romana has been removed'));
  if ('amazonvpc' in spec.networking && spec.cloudProvider !== 'aws') {
    issues.push(
      field.forbidden(
        'spec.networking.amazonvpc',
        'amazon-vpc-routed-eni networking is supported only in AWS',
      ),
    );
  }
  return issues;
}

/** The VPC CNI's env: names a shell could hold (`[A-Za-z_][A-Za-z0-9_]*`), string values. */
export function validateAmazonVpcEnv(networking: unknown): FieldIssue[] {
  const amazonvpc = isObject(networking) ? networking.amazonvpc : undefined;
  if (!isObject(amazonvpc) || amazonvpc.env === undefined) return [];
  const path = 'spec.networking.amazonvpc.env';
  if (!Array.isArray(amazonvpc.env))
    return [field.invalid(path, amazonvpc.env, 'must be a list of name/value pairs')];
  const issues: FieldIssue[] = [];
  amazonvpc.env.forEach((raw, i) => {
    const p = index(path, i);
    if (!isObject(raw)) {
      issues.push(field.invalid(p, raw, 'must be a mapping with name and value'));
      return;
    }
    if (raw.name === undefined || raw.name === '') issues.push(field.required(`${p}.name`));
    else if (typeof raw.name !== 'string')
      issues.push(field.invalid(`${p}.name`, raw.name, 'must be a string'));
    else
      cIdentifierErrors(raw.name).forEach((e) =>
        issues.push(field.invalid(`${p}.name`, raw.name, e)),
      );
    if (raw.value !== undefined) {
      if (typeof raw.value !== 'string')
        issues.push(field.invalid(`${p}.value`, raw.value, 'must be a string'));
      // No process argument or environment can carry a NUL; kubectl could never set it.
      else if (raw.value.includes('\0'))
        issues.push(field.invalid(`${p}.value`, raw.value, 'must not contain a NUL character'));
    }
  });
  return issues;
}
