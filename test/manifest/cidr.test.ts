import { describe, expect, it } from 'vitest';
import { formatIpNet, ipNet, netsOverlap, parseCidr } from '../../src/manifest/cidr.js';

describe('CIDRs of both families', () => {
  it('prints an IPv6 network compressed as Go does: the longest run of zero groups', () => {
    expect(formatIpNet(ipNet('2001:0db8:0000:0000:0001:0000:0000:0000/128')!)).toBe(
      '2001:db8:0:0:1::/128',
    );
  });

  it('compresses the first of two equal runs of zero groups', () => {
    expect(formatIpNet(ipNet('2001:db8:0:0:1:0:0:1/128')!)).toBe('2001:db8::1:0:0:1/128');
  });

  it('suggests the IPv6 network when host bits are set', () => {
    expect(parseCidr('fd00:10::5/64')).toEqual({
      ok: false,
      detail: 'Network contains bits outside prefix (did you mean "fd00:10::/64")',
    });
  });

  it('suggests /64 for an IPv6 address given without a prefix, as kOps does', () => {
    expect(parseCidr('2001:db8::')).toEqual({
      ok: false,
      detail: 'Could not be parsed as a CIDR (did you mean "2001:db8::/64")',
    });
  });

  it('reads an IPv4 tail in an IPv6 address', () => {
    expect(formatIpNet(ipNet('::ffff:10.0.0.0/120')!)).toBe('::ffff:a00:0/120');
  });

  it('finds IPv6 networks that share addresses, and not those that do not', () => {
    const a = ipNet('2001:db8::/48')!;

    expect(netsOverlap(a, ipNet('2001:db8:0:ff00::/56')!)).toBe(true);
    expect(netsOverlap(a, ipNet('2001:db9::/48')!)).toBe(false);
  });

  it('never finds an overlap between an IPv4 and an IPv6 network', () => {
    expect(netsOverlap(ipNet('0.0.0.0/0')!, ipNet('::/0')!)).toBe(false);
  });
});
