import { isIPv4, isIPv6 } from 'node:net';

/** An IPv4 network as two unsigned 32-bit numbers: the first address and the prefix length. */
export interface Ipv4Net {
  base: number;
  prefix: number;
}

export type CidrParse =
  | { ok: true; family: 4; net: Ipv4Net }
  | { ok: true; family: 6 }
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

/** Parses a CIDR and words a failure as kOps's `validateCIDR` does. */
export function parseCidr(cidr: string): CidrParse {
  const slash = cidr.indexOf('/');
  if (slash < 0) {
    const hint = isIPv4(cidr) || isIPv6(cidr) ? ` (did you mean "${cidr}/${isIPv4(cidr) ? 32 : 128}")` : '';
    return { ok: false, detail: `Could not be parsed as a CIDR${hint}` };
  }
  const ip = cidr.slice(0, slash);
  const prefixText = cidr.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (isIPv6(ip)) {
    if (!(prefix >= 0 && prefix <= 128)) return { ok: false, detail: 'Could not be parsed as a CIDR' };
    return { ok: true, family: 6 };
  }
  if (!isIPv4(ip) || !(prefix >= 0 && prefix <= 32)) return { ok: false, detail: 'Could not be parsed as a CIDR' };
  const address = ipv4ToNumber(ip);
  const base = address - (address % size(prefix));
  if (base !== address) {
    return { ok: false, detail: `Network contains bits outside prefix (did you mean "${numberToIpv4(base)}/${prefix}")` };
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
  return inner.prefix >= outer.prefix && inner.base >= outer.base && inner.base + size(inner.prefix) <= outer.base + size(outer.prefix);
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
