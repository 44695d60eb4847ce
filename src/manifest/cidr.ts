import { isIPv4, isIPv6 } from 'node:net';

/** An IPv4 network as two unsigned 32-bit numbers: the first address and the prefix length. */
export interface Ipv4Net {
  base: number;
  prefix: number;
}

/** A network of either family, as a first address and a prefix length (IPv6 needs 128 bits). */
export interface IpNet {
  family: 4 | 6;
  base: bigint;
  prefix: number;
}

export type CidrParse =
  | { ok: true; family: 4; net: Ipv4Net }
  | { ok: true; family: 6; net: IpNet }
  | { ok: false; detail: string };

function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

function size(prefix: number): number {
  return 2 ** (32 - prefix);
}

/** The 128-bit number of an IPv6 address that `isIPv6` accepted (`::` and a dotted IPv4 tail allowed). */
function ipv6ToBigInt(ip: string): bigint {
  const groups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const v4 = ipv4ToNumber(g);
          return [Math.floor(v4 / 65536), v4 % 65536];
        });
  const gap = ip.indexOf('::');
  const all =
    gap < 0
      ? groups(ip)
      : (() => {
          const head = groups(ip.slice(0, gap));
          const tail = groups(ip.slice(gap + 2));
          return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
        })();
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** An IPv6 address in the compressed form Go and RFC 5952 print (`2001:db8::/64`). */
function formatIpv6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(16 * (7 - i))) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

const IPV6_BITS = 128n;

/** Parses a CIDR and words a failure as kOps's `validateCIDR` does. */
export function parseCidr(cidr: string): CidrParse {
  const slash = cidr.indexOf('/');
  if (slash < 0) {
    const hint =
      isIPv4(cidr) || isIPv6(cidr) ? ` (did you mean "${cidr}/${isIPv4(cidr) ? 32 : 64}")` : '';
    return { ok: false, detail: `Could not be parsed as a CIDR${hint}` };
  }
  const ip = cidr.slice(0, slash);
  const prefixText = cidr.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (isIPv6(ip)) {
    if (!(prefix >= 0 && prefix <= 128))
      return { ok: false, detail: 'Could not be parsed as a CIDR' };
    const address = ipv6ToBigInt(ip);
    const hostBits = IPV6_BITS - BigInt(prefix);
    const base = (address >> hostBits) << hostBits;
    if (base !== address)
      return {
        ok: false,
        detail: `Network contains bits outside prefix (did you mean "${formatIpv6(base)}/${prefix}")`,
      };
    return { ok: true, family: 6, net: { family: 6, base, prefix } };
  }
  if (!isIPv4(ip) || !(prefix >= 0 && prefix <= 32))
    return { ok: false, detail: 'Could not be parsed as a CIDR' };
  const address = ipv4ToNumber(ip);
  const base = address - (address % size(prefix));
  if (base !== address) {
    return {
      ok: false,
      detail: `Network contains bits outside prefix (did you mean "${numberToIpv4(base)}/${prefix}")`,
    };
  }
  return { ok: true, family: 4, net: { base, prefix } };
}

/** The IPv4 network of a CIDR, or undefined when it is not a valid IPv4 CIDR. */
export function ipv4Net(cidr: string | undefined): Ipv4Net | undefined {
  if (!cidr) return undefined;
  const parsed = parseCidr(cidr);
  return parsed.ok && parsed.family === 4 ? parsed.net : undefined;
}

export function contains(outer: Ipv4Net, inner: Ipv4Net): boolean {
  return (
    inner.prefix >= outer.prefix &&
    inner.base >= outer.base &&
    inner.base + size(inner.prefix) <= outer.base + size(outer.prefix)
  );
}

export function overlaps(a: Ipv4Net, b: Ipv4Net): boolean {
  return a.base < b.base + size(b.prefix) && b.base < a.base + size(a.prefix);
}

export function formatNet(n: Ipv4Net): string {
  return `${numberToIpv4(n.base)}/${n.prefix}`;
}

/** Splits `parent` into consecutive blocks of `prefix` and returns the `i`th one. */
export function subdivide(parent: Ipv4Net, prefix: number, i: number): Ipv4Net {
  return { base: parent.base + i * size(prefix), prefix };
}

/** The network of a valid CIDR of either family, or undefined. */
export function ipNet(cidr: string | undefined): IpNet | undefined {
  if (!cidr) return undefined;
  const parsed = parseCidr(cidr);
  if (!parsed.ok) return undefined;
  return parsed.family === 6
    ? parsed.net
    : { family: 4, base: BigInt(parsed.net.base), prefix: parsed.net.prefix };
}

/** True when two networks of the same family share an address (networks of two families never do). */
export function netsOverlap(a: IpNet, b: IpNet): boolean {
  if (a.family !== b.family) return false;
  const bits = a.family === 4 ? 32n : IPV6_BITS;
  const end = (n: IpNet) => n.base + (1n << (bits - BigInt(n.prefix)));
  return a.base < end(b) && b.base < end(a);
}

/** A network as Go's `net.IPNet` prints it (kOps quotes networks so in its messages). */
export function formatIpNet(n: IpNet): string {
  return n.family === 4
    ? `${numberToIpv4(Number(n.base))}/${n.prefix}`
    : `${formatIpv6(n.base)}/${n.prefix}`;
}
