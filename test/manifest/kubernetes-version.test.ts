import { describe, expect, it } from 'vitest';
import { checkExitCode, checkManifest } from '../../src/manifest/check.js';
import {
  canonicalKubernetesVersion,
  isDeprecatedKubernetesVersion,
  kubernetesVersionChangeIssues,
  kubernetesVersionRangeIssues,
  parseKubernetesVersion,
} from '../../src/manifest/kubernetes-version.js';
import { editManifest, readFixture } from '../helpers.js';

const minimal = readFixture('minimal-aws.yaml');
const messages = (issues: Array<{ path: string; message: string }>) =>
  issues.map((i) => `${i.path}: ${i.message}`);

describe("kOps 1.37's supported Kubernetes range", () => {
  it.each([
    '1.32.0',
    'v1.32.0',
    '1.33.1',
    '1.34.0-rc.1',
    'v1.36.0-rc.1',
    '1.37.9',
    '1.32.0-alpha.1',
  ])('accepts %s', (version) => {
    expect(kubernetesVersionRangeIssues(version)).toEqual([]);
  });

  it.each(['1.20.0', 'v1.31.9', '1.0.0'])('refuses %s as no longer supported', (version) => {
    expect(messages(kubernetesVersionRangeIssues(version))).toEqual([
      `spec.kubernetesVersion: Invalid value: ${JSON.stringify(version)}: This version of Kubernetes is no longer supported; upgrading Kubernetes is required (kOps 1.37 supports Kubernetes 1.32.0 up to, not including, 1.38.0)`,
    ]);
  });

  it.each(['1.38.0', '1.38.0-alpha.1', 'v2.0.0'])(
    'refuses %s as too new for kOps 1.37',
    (version) => {
      expect(messages(kubernetesVersionRangeIssues(version))).toEqual([
        `spec.kubernetesVersion: Invalid value: ${JSON.stringify(version)}: This version of kubernetes is not yet supported; upgrading kops is required (kOps 1.37 supports Kubernetes 1.32.0 up to, not including, 1.38.0)`,
      ]);
    },
  );

  it('makes check exit 1 with the field path for a version below the range', () => {
    const check = checkManifest(
      editManifest(minimal, (c) => (c.spec.kubernetesVersion = 'v1.29.4')),
    );

    expect(checkExitCode(check)).toBe(1);
    expect(messages(check.errors)).toEqual([
      expect.stringMatching(
        /^spec\.kubernetesVersion: Invalid value: "v1\.29\.4": This version of Kubernetes is no longer supported/,
      ),
    ]);
  });

  it('leaves an unparseable version to its own error (one error, not two)', () => {
    const check = checkManifest(
      editManifest(minimal, (c) => (c.spec.kubernetesVersion = '1.20.x')),
    );

    expect(messages(check.errors)).toEqual([
      'spec.kubernetesVersion: Invalid value: "1.20.x": unable to parse kubernetes version',
    ]);
  });

  it('calls 1.32 and 1.33 deprecated, as kOps 1.37 does, and 1.34 not', () => {
    expect([
      isDeprecatedKubernetesVersion('1.32.4'),
      isDeprecatedKubernetesVersion('v1.33.1'),
      isDeprecatedKubernetesVersion('1.34.0'),
    ]).toEqual([true, true, false]);
  });
});

describe('version changes of a running cluster', () => {
  it.each([
    ['1.32.0', '1.33.1'],
    ['v1.32.0', 'v1.33.0'],
    ['1.33.1', '1.33.0'],
    ['1.33.0', '1.33.5'],
    ['1.33.1', '1.33.1'],
  ])('allows %s -> %s (one minor up, or a patch change)', (from, to) => {
    expect(kubernetesVersionChangeIssues(from, to)).toEqual([]);
  });

  it('refuses a skipped minor version for the control plane', () => {
    expect(messages(kubernetesVersionChangeIssues('1.32.0', '1.34.0'))).toEqual([
      'spec.kubernetesVersion: Forbidden: cannot upgrade the control plane from 1.32.0 to 1.34.0: Kubernetes upgrades one minor version at a time; upgrade to 1.33 first (set spec.kubernetesVersion to a 1.33.x version, update cluster, rolling-update cluster)',
    ]);
  });

  it('refuses a minor downgrade', () => {
    expect(messages(kubernetesVersionChangeIssues('v1.33.1', '1.32.0'))).toEqual([
      'spec.kubernetesVersion: Forbidden: cannot downgrade a running cluster from 1.33.1 to 1.32.0: minor version downgrades are not supported (patch versions of 1.33 may go down)',
    ]);
  });

  it('has nothing to say without a running version or with a version it cannot parse', () => {
    expect([
      ...kubernetesVersionChangeIssues(undefined, '1.35.0'),
      ...kubernetesVersionChangeIssues('1.32.0', 'https://example.com/k8s/v1.35.0/'),
    ]).toEqual([]);
  });
});

// blang/semver v4 ParseTolerant, which kOps's util.ParseKubernetesVersion calls.
describe("kOps's tolerant reading of a version", () => {
  it.each([
    ['1.34', '1.34.0'],
    ['v1.34', '1.34.0'],
    ['1', '1.0.0'],
    [' 1.34.0', '1.34.0'],
    ['1.34.0\n', '1.34.0'],
    ['\u00a01.34.0\u3000', '1.34.0'],
    ['01.034.02', '1.34.2'],
    ['1.34.00', '1.34.0'],
    ['1.34.0-rc.1+build.7', '1.34.0-rc.1+build.7'],
    ['1.34.00-rc.1', '1.34.0-rc.1'],
  ])('reads %j as %s', (written, full) => {
    expect(parseKubernetesVersion(written)?.text).toBe(full);
  });

  it.each([
    ['V1.34.0', 'only a lowercase v is dropped'],
    ['vv1.34.0', 'only one v is dropped'],
    ['1.34-rc.1', 'a shortened version cannot carry a pre-release'],
    ['1.34+b', 'a shortened version cannot carry build metadata'],
    ['1.34.0-rc.01', 'numeric pre-release identifiers have no leading zeros'],
    ['1.34.0-rc..1', 'pre-release identifiers are not empty'],
    ['1.34.0+b_1', 'build identifiers are [0-9A-Za-z-]'],
    ['1.34.0.1', 'a fourth number is not a patch number'],
    ['1.34.x', 'the patch is a number'],
    ['1.-1.0', 'the minor is a number'],
    ['', 'empty'],
    ['\ufeff1.34.0', 'U+FEFF is not space to Go'],
    ['1.18446744073709551616.0', 'numbers fit uint64'],
  ])('refuses %j: %s', (written) => {
    expect(parseKubernetesVersion(written)).toBeUndefined();
  });

  it('keeps a strict version as written and gives the full form of a tolerant one', () => {
    expect([
      canonicalKubernetesVersion('v1.33.1'),
      canonicalKubernetesVersion('1.33.1'),
      canonicalKubernetesVersion(' v1.34'),
      canonicalKubernetesVersion('https://example.com/k8s/v1.34.0/'),
    ]).toEqual(['v1.33.1', '1.33.1', '1.34.0', 'https://example.com/k8s/v1.34.0/']);
  });

  it.each(['1.34', ' 1.34.0', 'v1.34.0 ', '1.034.0'])(
    'lets check accept %j with exit 0',
    (version) => {
      const check = checkManifest(
        editManifest(minimal, (c) => (c.spec.kubernetesVersion = version)),
      );

      expect(checkExitCode(check)).toBe(0);
    },
  );

  it('judges the range of a tolerant version by its full form', () => {
    const check = checkManifest(editManifest(minimal, (c) => (c.spec.kubernetesVersion = '1.20')));

    expect(checkExitCode(check)).toBe(1);
    expect(messages(check.errors)).toEqual([
      expect.stringMatching(
        /^spec\.kubernetesVersion: Invalid value: "1\.20": This version of Kubernetes is no longer supported/,
      ),
    ]);
  });

  it('reports a build location holding /v1.<minor>. as not supported (exit 3), URL or not, as kOps accepts it', () => {
    const checks = ['https://example.com/k8s/v1.34.0/', 'gs://builds/v1.34.0/'].map((v) =>
      checkManifest(editManifest(minimal, (c) => (c.spec.kubernetesVersion = v))),
    );

    expect(checks.map(checkExitCode)).toEqual([3, 3]);
    expect(checks.map((c) => messages(c.unsupported))).toEqual([
      [expect.stringContaining('spec.kubernetesVersion')],
      [expect.stringContaining('spec.kubernetesVersion')],
    ]);
  });

  it('refuses a URL without /v1.<minor>. with exit 1, as kOps cannot determine its version', () => {
    const check = checkManifest(
      editManifest(minimal, (c) => (c.spec.kubernetesVersion = 'https://example.com/k8s/latest/')),
    );

    expect(checkExitCode(check)).toBe(1);
    expect(messages(check.errors)).toEqual([
      'spec.kubernetesVersion: Invalid value: "https://example.com/k8s/latest/": unable to parse kubernetes version',
    ]);
  });

  it('refuses an unquoted 1.34 in a file with exit 1, as kOps does: YAML reads it as a number, and the field holds a string', () => {
    const check = checkManifest(
      readFixture('minimal-aws.yaml').replace(/kubernetesVersion: .*/, 'kubernetesVersion: 1.34'),
    );

    expect(checkExitCode(check)).toBe(1);
    expect(messages(check.errors)).toEqual([
      'spec.kubernetesVersion: Invalid value: 1.34: unable to parse kubernetes version: it must be a string; write the version in quotes ("1.34.0")',
    ]);
  });
});
