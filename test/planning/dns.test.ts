import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../src/manifest/check.js';
import { manifestFromFlags } from '../../src/manifest/create-cluster.js';
import {
  allowedZoneOf,
  chooseHostedZone,
  type HostedZoneSummary,
  isInZone,
  type ZoneRequest,
  zoneRequest,
} from '../../src/planning/dns.js';
import { editManifest, readFixture } from '../helpers.js';

const publicZone = (id: string, name: string): HostedZoneSummary => ({
  id,
  name,
  private: false,
});
const privateZone = (id: string, name: string): HostedZoneSummary => ({
  id,
  name,
  private: true,
});

const cluster = 'dev.k8s.example.com';
const request = (extra: Partial<ZoneRequest> = {}): ZoneRequest => ({
  cluster,
  dnsType: 'Public',
  recordNames: [`api.${cluster}.`, `api.internal.${cluster}.`],
  ...extra,
});

describe('the hosted zone of a cluster (kOps FindDNSHostedZone)', () => {
  it('defaults to the longest public zone the cluster name ends in', () => {
    const zones = [
      publicZone('ZROOT', 'example.com.'),
      publicZone('ZK8S', 'k8s.example.com.'),
      publicZone('ZOTHER', 'other.com.'),
    ];

    expect(chooseHostedZone(zones, request())).toEqual({ zone: zones[1] });
  });

  it('matches whole labels only: xample.com is no suffix of example.com', () => {
    const zones = [publicZone('ZX', 'xample.com.'), publicZone('ZROOT', 'example.com.')];

    expect(chooseHostedZone(zones, request())).toEqual({ zone: zones[1] });
  });

  it('takes a private zone for private DNS and passes over a longer public one', () => {
    const zones = [privateZone('ZPRIV', 'example.com.'), publicZone('ZPUB', 'k8s.example.com.')];

    expect(chooseHostedZone(zones, request({ dnsType: 'Private' }))).toEqual({ zone: zones[0] });
  });

  it('refuses with kOps message when no zone matches, suggesting the domain', () => {
    expect(chooseHostedZone([publicZone('ZO', 'other.com.')], request())).toEqual({
      error:
        'No matching hosted zones found for ".dev.k8s.example.com"; please create one (e.g. "example.com") first',
    });
  });

  it('refuses two zones of the same length and names their IDs', () => {
    const zones = [publicZone('Z1', 'example.com.'), publicZone('Z2', 'example.com.')];

    const choice = chooseHostedZone(zones, request());

    expect(choice).toEqual({
      error:
        'Found multiple hosted zones matching cluster ".dev.k8s.example.com"; please specify the ID of the zone to use (Z1, Z2)',
    });
  });

  it('finds spec.dnsZone by name, with or without the trailing dot', () => {
    const zones = [publicZone('ZROOT', 'example.com.'), publicZone('ZK8S', 'k8s.example.com.')];

    expect(chooseHostedZone(zones, request({ dnsZone: 'example.com' }))).toEqual({
      zone: zones[0],
    });
    expect(chooseHostedZone(zones, request({ dnsZone: 'example.com.' }))).toEqual({
      zone: zones[0],
    });
  });

  it('finds spec.dnsZone by zone ID, with or without the /hostedzone/ prefix', () => {
    const zones = [publicZone('ZROOT', 'example.com.'), publicZone('ZK8S', 'k8s.example.com.')];

    expect(chooseHostedZone(zones, request({ dnsZone: 'ZROOT' }))).toEqual({ zone: zones[0] });
    expect(chooseHostedZone(zones, request({ dnsZone: '/hostedzone/ZROOT' }))).toEqual({
      zone: zones[0],
    });
  });

  it('refuses a spec.dnsZone the account lacks with kOps message, naming it', () => {
    expect(
      chooseHostedZone([publicZone('ZROOT', 'example.com.')], request({ dnsZone: 'Z404' })),
    ).toEqual({
      error:
        'cannot find DNS Zone "Z404".  Please pre-create the zone and set up NS records so that it resolves',
    });
  });

  it('settles a name held by a public and a private zone by the DNS type', () => {
    const zones = [privateZone('ZPRIV', 'example.com.'), publicZone('ZPUB', 'example.com.')];

    expect(chooseHostedZone(zones, request({ dnsZone: 'example.com' }))).toEqual({
      zone: zones[1],
    });
    expect(
      chooseHostedZone(zones, request({ dnsZone: 'example.com', dnsType: 'Private' })),
    ).toEqual({ zone: zones[0] });
  });

  it('refuses a named zone that cannot hold the cluster records', () => {
    const zones = [publicZone('ZO', 'other.com.')];

    expect(chooseHostedZone(zones, request({ dnsZone: 'other.com' }))).toEqual({
      error: `hosted zone other.com (ZO) cannot hold api.${cluster} and api.internal.${cluster}: a record must be named within its zone`,
    });
  });
});

describe('zone requests from a manifest', () => {
  it('leaves dnsZone unset by default and asks for the DNS type of the topology', () => {
    const check = checkManifest(readFixture('seed.yaml'));

    expect(zoneRequest(check.completed!)).toEqual({
      cluster: 'seed.example.com',
      dnsType: 'Public',
      recordNames: ['api.seed.example.com.', 'api.internal.seed.example.com.'],
    });
  });

  it('carries spec.dnsZone as written, a zone ID included', () => {
    const text = editManifest(readFixture('seed.yaml'), (c) => (c.spec.dnsZone = 'Z0123456789ABC'));

    expect(zoneRequest(checkManifest(text).completed!)?.dnsZone).toBe('Z0123456789ABC');
  });

  it('tells names in a zone from names that only end in its text', () => {
    expect(isInZone('api.a.example.com.', 'example.com')).toBe(true);
    expect(isInZone('api.a.badexample.com', 'example.com.')).toBe(false);
    expect(isInZone('example.com', 'example.com.')).toBe(true);
  });
});

describe('create cluster --dns-zone', () => {
  it('writes the zone into spec.dnsZone, and nothing without the flag', () => {
    const flags = { name: 'f.example.com', zones: ['us-east-1a'] };

    expect(manifestFromFlags({ ...flags, dnsZone: 'Z0123456789ABC' }).cluster.spec.dnsZone).toBe(
      'Z0123456789ABC',
    );
    expect(manifestFromFlags(flags).cluster.spec.dnsZone).toBeUndefined();
  });
});

describe("the deployment's HostedZoneId parameter", () => {
  const zones = [publicZone('ZROOT', 'example.com.'), publicZone('ZK8S', 'k8s.example.com.')];

  it('refuses a zone other than the one the deployment allows, naming the cluster and both zones', () => {
    const choice = chooseHostedZone(zones, request({ allowedZoneId: 'ZROOT' }));

    expect(choice).toEqual({
      error:
        'cluster dev.k8s.example.com: its records would go into hosted zone k8s.example.com (ZK8S), but this deployment may write records only in hosted zone ZROOT (its HostedZoneId parameter)',
    });
  });

  it('takes the zone the deployment allows, given with or without the /hostedzone/ prefix', () => {
    expect(chooseHostedZone(zones, request({ allowedZoneId: '/hostedzone/ZK8S' }))).toEqual({
      zone: zones[1],
    });
  });

  it('reads * and an empty value as any zone', () => {
    expect([allowedZoneOf('*'), allowedZoneOf(''), allowedZoneOf(undefined)]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(allowedZoneOf('Z0123456789ABC')).toBe('Z0123456789ABC');
  });
});
