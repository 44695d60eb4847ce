import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkExitCode, checkManifest } from '../../src/manifest/check.js';
import { editManifest, readFixture, readReference, referenceManifests } from '../helpers.js';

/**
 * kOps's own manifests: whatever kOps accepts, kopsless must never call invalid (exit 1); what it
 * does not build it reports as `not supported` (exit 3). The fixtures in test/fixtures/kops hold
 * one small manifest per class of valid kOps that kopsless once refused; the integration
 * manifests of a kOps checkout are checked too when KOPS_INTEGRATION_DIR names one.
 */

const fixture = (name: string) => readFixture(join('kops', name));

function errorsOf(text: string): string[] {
  return checkManifest(text).errors.map((e) => `${e.path}: ${e.message}`);
}

function unsupportedOf(text: string): string[] {
  return checkManifest(text).unsupported.map((e) => `${e.path}: ${e.message}`);
}

/** kOps's integration manifests for AWS under `dir` (a kOps checkout or its tests/integration). */
function integrationManifests(dir: string): string[] {
  const root = existsSync(join(dir, 'tests', 'integration'))
    ? join(dir, 'tests', 'integration')
    : dir;
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((name) => {
      const path = join(d, name);
      if (statSync(path).isDirectory()) return walk(path);
      return /^(in|expected)-v1alpha2\.yaml$/.test(name) ? [path] : [];
    });
  return walk(root)
    .filter((path) => /^\s*cloudProvider: aws\s*$/m.test(readFileSync(path, 'utf8')))
    .sort();
}

describe('valid kOps that kopsless does not build: exit 3, never 1', () => {
  it('takes an IPv6 cluster whose subnets have an ipv6CIDR and no cidr as not supported', () => {
    const check = checkManifest(fixture('ipv6-only.yaml'));

    expect(check.errors).toEqual([]);
    expect(checkExitCode(check)).toBe(3);
    expect(unsupportedOf(fixture('ipv6-only.yaml'))).toEqual(
      expect.arrayContaining([
        'spec.nonMasqueradeCIDR: not supported: IPv6 clusters (kopsless builds IPv4 clusters)',
        'spec.subnets[0].ipv6CIDR: not supported: IPv6 subnets',
      ]),
    );
  });

  it('takes a document of another API (a kOps additional object) as not supported, naming the document', () => {
    const check = checkManifest(fixture('additional-objects.yaml'));

    expect(check.errors).toEqual([]);
    expect(checkExitCode(check)).toBe(3);
    expect(check.unsupported.map((u) => u.path)).toEqual(['documents[3]']);
    expect(check.unsupported[0]!.message).toMatch(
      /^not supported: additional object KubeSchedulerConfiguration \(kubescheduler\.config\.k8s\.io\/v1\)/,
    );
  });

  it('still reads the cluster and its instance groups beside an additional object', () => {
    const check = checkManifest(fixture('additional-objects.yaml'));

    expect(check.cluster).toBe('extra.example.com');
    expect(check.instanceGroups).toEqual(['control-plane', 'workers']);
  });

  it('builds a private subnet egress through an Elastic IP allocation', () => {
    const check = checkManifest(fixture('egress-elastic-ip.yaml'));

    expect(check.errors).toEqual([]);
    expect(check.unsupported).toEqual([]);
    expect(checkExitCode(check)).toBe(0);
  });

  it('lets a shared subnet (id set) omit its zone, and builds it', () => {
    const check = checkManifest(fixture('shared-subnets.yaml'));

    expect(check.errors).toEqual([]);
    expect(check.unsupported).toEqual([]);
    expect(checkExitCode(check)).toBe(0);
  });

  it('takes a subnet without a cidr (kOps picks one) as not supported', () => {
    const text = editManifest(
      readFixture('minimal-aws.yaml'),
      (c) => delete c.spec.subnets[0].cidr,
    );

    expect(errorsOf(text)).toEqual([]);
    expect(unsupportedOf(text)).toEqual([
      expect.stringMatching(/^spec\.subnets\[0\]\.cidr: not supported: subnets without a cidr/),
    ]);
  });

  it('reads kops/v1alpha2, the older name of the API group, as kOps does', () => {
    const text = readFixture('minimal-aws.yaml').replaceAll(
      'apiVersion: kops.k8s.io/v1alpha2',
      'apiVersion: kops/v1alpha2',
    );

    expect(checkExitCode(checkManifest(text))).toBe(0);
  });
});

describe('the invalid variants of those classes: exit 1 with the field path', () => {
  it('requires the zone of a subnet kOps would create, in kOps words', () => {
    const text = editManifest(
      fixture('egress-elastic-ip.yaml'),
      (c) => delete c.spec.subnets[1].zone,
    );

    expect(errorsOf(text)).toEqual([
      'spec.subnets[1].zone: Required value: subnet "utility-sa-east-1a" must specify a zone or the ID of an existing subnet',
    ]);
  });

  it('rejects an egress that is none of kOps kinds', () => {
    const text = editManifest(
      fixture('egress-elastic-ip.yaml'),
      (c) => (c.spec.subnets[0].egress = 'igw-0a1b2c3d'),
    );

    expect(errorsOf(text)).toEqual([
      'spec.subnets[0].egress: Invalid value: "igw-0a1b2c3d": egress must be of type NAT Gateway, NAT Gateway with existing ElasticIP, NAT EC2 Instance, Transit Gateway, or External',
    ]);
  });

  it('forbids an Elastic IP egress on a subnet that is not private', () => {
    const text = editManifest(
      fixture('egress-elastic-ip.yaml'),
      (c) => (c.spec.subnets[0].type = 'Public'),
    );

    expect(errorsOf(text)).toEqual([
      'spec.subnets[0].egress: Forbidden: egress can only be specified for private or IPv6-capable public subnets',
    ]);
  });

  it('rejects an ipv6CIDR that is an IPv4 network', () => {
    const text = editManifest(
      fixture('ipv6-only.yaml'),
      (c) => (c.spec.subnets[1].ipv6CIDR = '10.10.64.0/24'),
    );

    expect(errorsOf(text)).toEqual([
      'spec.subnets[1].ipv6CIDR: Invalid value: "10.10.64.0/24": Network is not an IPv6 CIDR',
    ]);
  });

  it('rejects an ipv6CIDR in neither CIDR nor /size#index notation', () => {
    const text = editManifest(
      fixture('ipv6-only.yaml'),
      (c) => (c.spec.subnets[0].ipv6CIDR = '/64#x'),
    );

    expect(errorsOf(text)[0]).toMatch(
      /^spec\.subnets\[0\]\.ipv6CIDR: Invalid value: "\/64#x": IPv6 CIDR subnet is not parsable/,
    );
  });

  it('rejects an ipv6CIDR with host bits set, suggesting the network', () => {
    const text = editManifest(
      fixture('ipv6-only.yaml'),
      (c) => (c.spec.subnets[1].ipv6CIDR = '2001:db8:0:2::1/64'),
    );

    expect(errorsOf(text)).toEqual([
      'spec.subnets[1].ipv6CIDR: Invalid value: "2001:db8:0:2::1/64": Network contains bits outside prefix (did you mean "2001:db8:0:2::/64")',
    ]);
  });

  it('forbids a DualStack subnet outside an IPv6 cluster', () => {
    const text = editManifest(
      fixture('egress-elastic-ip.yaml'),
      (c) => (c.spec.subnets[1].type = 'DualStack'),
    );

    expect(errorsOf(text)).toContain(
      'spec.subnets[1].type: Forbidden: subnet type DualStack may only be used in IPv6 clusters',
    );
  });

  it('keeps kOps rule on additional objects: the scheduler kubeconfig is kOps to set', () => {
    const text = fixture('additional-objects.yaml').replace(
      '  qps: 50\n',
      '  qps: 50\n  kubeconfig: /etc/mine\n',
    );

    expect(errorsOf(text)).toEqual([
      'documents[3].clientConnection.kubeconfig: Invalid value: "/etc/mine": value is controlled by kOps and should not be set',
    ]);
  });

  it('requires a kind on a document of another API', () => {
    const text = `${fixture('additional-objects.yaml')}---\napiVersion: example.com/v1\nspec: {}\n`;

    expect(errorsOf(text)).toEqual(['documents[4].kind: Required value']);
  });

  it('requires an apiVersion on every document', () => {
    const text = `${fixture('additional-objects.yaml')}---\nkind: ConfigMap\n`;

    expect(errorsOf(text)).toEqual(['documents[4].apiVersion: Required value']);
  });
});

describe('kOps reference manifests', () => {
  it.each(referenceManifests())(
    '%s: exit 0 or 3, every unsupported setting worded "not supported"',
    (name) => {
      const check = checkManifest(readReference(name));

      expect(check.errors).toEqual([]);
      expect(check.unsupported.every((u) => u.message.startsWith('not supported: '))).toBe(true);
    },
  );
});

const integrationDir = process.env.KOPS_INTEGRATION_DIR;

describe.skipIf(!integrationDir)('kOps integration manifests (KOPS_INTEGRATION_DIR)', () => {
  const files = integrationDir ? integrationManifests(integrationDir) : [];

  it('finds the AWS manifests of kOps integration tests there', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it("builds at least 30 of them: kOps's production shapes (HA, load balancer, DNS none, existing VPC)", () => {
    const buildable = files.filter(
      (path) => checkExitCode(checkManifest(readFileSync(path, 'utf8'))) === 0,
    );

    expect(buildable.length).toBeGreaterThanOrEqual(30);
  });

  it.each(files.map((path) => [relative(integrationDir ?? '', path), path]))(
    '%s: exit 0 or 3, never 1',
    (_name, path) => {
      const check = checkManifest(readFileSync(path, 'utf8'));

      expect(check.errors).toEqual([]);
      expect([0, 3]).toContain(checkExitCode(check));
      expect(check.unsupported.every((u) => u.message.startsWith('not supported: '))).toBe(true);
    },
  );
});
