import { describe, expect, it, vi } from 'vitest';
import type { StackApi } from '../../src/aws/cloudformation.js';
import type { DnsApi } from '../../src/aws/route53.js';
import { SpecInvalidError } from '../../src/errors.js';
import { publicResolverFor } from '../../src/handlers/verify-dns.js';
import { checkManifest } from '../../src/manifest/check.js';
import { PLACEHOLDER_IP } from '../../src/planning/names.js';
import { type PublicResolver, type VerifyDnsDeps, verifyDns } from '../../src/stages/verify-dns.js';
import type { ClusterStore } from '../../src/state/cluster-store.js';
import { readFixture } from '../helpers.js';
import { clockAt } from '../support/clock.js';

// verify-dns on AWS: Route53 in sync is not enough for a public zone; public DNS must answer too.

const cluster = 'seed.example.com';
const ROUTE53_NS = ['ns-1.awsdns-01.org.', 'ns-2.awsdns-02.com.'];
const check = {
  action: 'check' as const,
  cluster,
  changeId: '/change/C1',
  deadline: '2030-01-01T00:00:00.000Z',
};

function dnsApi(zone: { private: boolean }, apiValue = '54.1.2.3'): DnsApi {
  return {
    upsertA: vi.fn(),
    changeStatus: vi.fn(async () => 'INSYNC'),
    listRecords: vi.fn(async () => [
      { name: `api.${cluster}.`, type: 'A', values: [apiValue] },
      { name: `api.internal.${cluster}.`, type: 'A', values: ['172.20.32.4'] },
    ]),
    listHostedZones: vi.fn(),
    hostedZone: vi.fn(async () => ({
      id: 'ZUSER',
      name: 'example.com.',
      private: zone.private,
      nameServers: ROUTE53_NS,
    })),
  };
}

function deps(dns: DnsApi, publicDns?: PublicResolver): VerifyDnsDeps {
  clockAt('2029-12-31T23:59:00.000Z');
  const manifest = checkManifest(readFixture('seed.yaml')).completed!;
  return {
    store: { readCompletedManifest: async () => manifest } as unknown as ClusterStore,
    stacks: {
      describe: async () => ({
        stackId: 's',
        status: 'CREATE_COMPLETE',
        outputs: { HostedZoneId: 'ZUSER' },
        tags: { KubernetesCluster: cluster },
      }),
    } as unknown as StackApi,
    ec2: { describeInstances: vi.fn() },
    dns,
    ...(publicDns ? { publicDns } : {}),
    dnsTimeoutSeconds: 60,
  };
}

function resolver(answers: {
  a?: string[] | NodeJS.ErrnoException;
  ns?: string[] | NodeJS.ErrnoException;
}): PublicResolver {
  const answer = (value: string[] | NodeJS.ErrnoException | undefined) =>
    value instanceof Error ? Promise.reject(value) : Promise.resolve(value ?? []);
  return {
    resolve4: vi.fn(() => answer(answers.a)),
    resolveNs: vi.fn(() => answer(answers.ns)),
  };
}

const notFound = () => Object.assign(new Error('queryA ENOTFOUND'), { code: 'ENOTFOUND' });

describe('verify-dns public resolution', () => {
  it('is ready once public DNS answers the API name with the control plane', async () => {
    const publicDns = resolver({ a: ['54.1.2.3'] });

    const out = await verifyDns(check, deps(dnsApi({ private: false }), publicDns));

    expect(out).toMatchObject({ ready: true, publicDns: 'resolved' });
    expect(publicDns.resolve4).toHaveBeenCalledWith(`api.${cluster}`);
  });

  it('fails naming the zone when public DNS does not know it', async () => {
    const publicDns = resolver({ a: notFound(), ns: notFound() });

    const attempt = verifyDns(check, deps(dnsApi({ private: false }), publicDns));

    await expect(attempt).rejects.toBeInstanceOf(SpecInvalidError);
    await expect(attempt).rejects.toThrow(
      /spec\.dnsZone: hosted zone example\.com \(ZUSER\) is not delegated: public DNS does not know it \(ENOTFOUND\), not its Route53 name servers ns-1\.awsdns-01\.org, ns-2\.awsdns-02\.com/,
    );
  });

  it('fails naming the zone when its parent delegates to other name servers', async () => {
    const publicDns = resolver({ a: notFound(), ns: ['ns1.registrar.example.net'] });

    const attempt = verifyDns(check, deps(dnsApi({ private: false }), publicDns));

    await expect(attempt).rejects.toThrow(
      /hosted zone example\.com \(ZUSER\) is not delegated: public DNS names ns1\.registrar\.example\.net for it/,
    );
  });

  it('keeps waiting while a delegated zone still answers the placeholder', async () => {
    const publicDns = resolver({ a: [PLACEHOLDER_IP], ns: ['NS-2.awsdns-02.com'] });

    const out = await verifyDns(check, deps(dnsApi({ private: false }), publicDns));

    expect(out).toMatchObject({ ready: false, publicDns: 'waiting' });
  });

  it('does not ask public DNS about a private zone', async () => {
    const publicDns = resolver({});

    const out = await verifyDns(check, deps(dnsApi({ private: true }), publicDns));

    expect(out).toMatchObject({ ready: true, publicDns: 'skipped' });
    expect(publicDns.resolve4).not.toHaveBeenCalled();
  });

  it('is skipped without a public resolver, as on the local backend', async () => {
    const dns = dnsApi({ private: false });

    const out = await verifyDns(check, deps(dns));

    expect(out).toMatchObject({ ready: true, publicDns: 'skipped' });
    expect(dns.hostedZone).not.toHaveBeenCalled();
  });
});

describe('where verify-dns asks public DNS', () => {
  it('in Lambda against AWS itself', () => {
    expect(publicResolverFor({ AWS_LAMBDA_FUNCTION_NAME: 'f' })).toBeDefined();
  });

  it('not with an endpoint override (the local backend) nor outside Lambda', () => {
    expect(
      publicResolverFor({ AWS_LAMBDA_FUNCTION_NAME: 'f', AWS_ENDPOINT_URL: 'http://127.0.0.1:1' }),
    ).toBeUndefined();
    expect(publicResolverFor({})).toBeUndefined();
  });
});
