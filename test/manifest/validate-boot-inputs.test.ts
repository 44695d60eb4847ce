import { describe, expect, it } from 'vitest';
import { checkExitCode, checkManifest } from '../../src/manifest/check.js';
import {
  cIdentifierErrors,
  labelKeyErrors,
  labelValueErrors,
  parseTaint,
} from '../../src/manifest/content.js';
import { parseKubernetesVersion } from '../../src/manifest/validate.js';
import { editManifest, readFixture } from '../helpers.js';

/**
 * The fields that reach the boot script or the instances' tags, held to kOps's and Kubernetes's
 * rules: each error names its field path and uses their wording.
 */

const minimal = readFixture('minimal-aws.yaml');

function errorsOf(text: string): string[] {
  return checkManifest(text).errors.map((e) => `${e.path}: ${e.message}`);
}

const LABEL_NAME_RULE =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_RULE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const SUBDOMAIN_RULE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

describe('node labels', () => {
  it('accepts prefixed keys, empty values and the kOps defaults', () => {
    const text = editManifest(
      minimal,
      (_c, groups) =>
        (groups.get('nodes')!.spec.nodeLabels = {
          'example.com/team': 'a-b_c.d',
          tier: '',
          'kops.k8s.io/instancegroup': 'nodes',
        }),
    );

    expect(errorsOf(text)).toEqual([]);
  });

  it('rejects a value that could be shell code, naming the label', () => {
    const text = editManifest(
      minimal,
      (_c, groups) => (groups.get('nodes')!.spec.nodeLabels = { team: 'x$(touch /tmp/p)' }),
    );

    expect(errorsOf(text)).toEqual([
      `instanceGroups[nodes].spec.nodeLabels[team]: Invalid value: "x$(touch /tmp/p)": ${LABEL_VALUE_RULE}`,
    ]);
  });

  it('rejects a value longer than 63 bytes', () => {
    const text = editManifest(
      minimal,
      (_c, groups) => (groups.get('nodes')!.spec.nodeLabels = { team: 'a'.repeat(64) }),
    );

    expect(errorsOf(text)).toEqual([
      `instanceGroups[nodes].spec.nodeLabels[team]: Invalid value: "${'a'.repeat(64)}": must be no more than 63 bytes`,
    ]);
  });

  it('rejects a key whose name part breaks the rule', () => {
    const text = editManifest(
      minimal,
      (_c, groups) => (groups.get('nodes')!.spec.nodeLabels = { 'team;x': 'a' }),
    );

    expect(errorsOf(text)).toEqual([
      `instanceGroups[nodes].spec.nodeLabels: Invalid value: "team;x": ${LABEL_NAME_RULE}`,
    ]);
  });

  it('rejects a key whose prefix is not a DNS subdomain', () => {
    const text = editManifest(
      minimal,
      (_c, groups) => (groups.get('nodes')!.spec.nodeLabels = { 'Example.com/team': 'a' }),
    );

    expect(errorsOf(text)).toEqual([
      `instanceGroups[nodes].spec.nodeLabels: Invalid value: "Example.com/team": prefix part ${SUBDOMAIN_RULE}`,
    ]);
  });

  it('rejects a key with two slashes in kOps words', () => {
    const text = editManifest(
      minimal,
      (_c, groups) => (groups.get('nodes')!.spec.nodeLabels = { 'a/b/c': 'x' }),
    );

    expect(errorsOf(text)).toEqual([
      'instanceGroups[nodes].spec.nodeLabels: Invalid value: "a/b/c": Node label may only contain a single slash',
    ]);
  });

  it('rejects a value that is not a string', () => {
    const text = editManifest(
      minimal,
      (_c, groups) => (groups.get('nodes')!.spec.nodeLabels = { team: 3 }),
    );

    expect(errorsOf(text)).toEqual([
      'instanceGroups[nodes].spec.nodeLabels[team]: Invalid value: 3: must be a string',
    ]);
  });

  it('quotes a key that holds more than a key may, so the path stays one line', () => {
    const text = editManifest(
      minimal,
      (_c, groups) => (groups.get('nodes')!.spec.nodeLabels = { 'a\nb': 'x y' }),
    );

    expect(errorsOf(text)).toContain(
      `instanceGroups[nodes].spec.nodeLabels["a\\nb"]: Invalid value: "x y": ${LABEL_VALUE_RULE}`,
    );
  });
});

describe('taints', () => {
  it('accepts key=value:Effect and key:Effect with each effect', () => {
    const text = editManifest(
      minimal,
      (_c, groups) =>
        (groups.get('nodes')!.spec.taints = [
          'dedicated=gpu:NoSchedule',
          'example.com/spot:PreferNoSchedule',
          'x=:NoExecute',
        ]),
    );

    expect(errorsOf(text)).toEqual([]);
  });

  it('rejects a taint with more than one colon in kOps words', () => {
    const text = editManifest(
      minimal,
      (_c, groups) => (groups.get('nodes')!.spec.taints = ['a:b:NoSchedule']),
    );

    expect(errorsOf(text)).toEqual([
      'instanceGroups[nodes].spec.taints[0]: Invalid value: "a:b:NoSchedule": invalid taint value',
    ]);
  });

  it('rejects a key that is not a label key', () => {
    const text = editManifest(
      minimal,
      (_c, groups) => (groups.get('nodes')!.spec.taints = ['x$(id)=v:NoSchedule']),
    );

    expect(errorsOf(text)).toEqual([
      `instanceGroups[nodes].spec.taints[0].key: Invalid value: "x$(id)": ${LABEL_NAME_RULE}`,
    ]);
  });

  it('rejects a value that is not a label value', () => {
    const text = editManifest(
      minimal,
      (_c, groups) => (groups.get('nodes')!.spec.taints = ['k=a\nKUBEADM\nid:NoSchedule']),
    );

    expect(errorsOf(text)).toEqual([
      `instanceGroups[nodes].spec.taints[0].value: Invalid value: "a\\nKUBEADM\\nid": ${LABEL_VALUE_RULE}`,
    ]);
  });

  it('rejects an unknown effect with the supported ones', () => {
    const text = editManifest(
      minimal,
      (_c, groups) => (groups.get('nodes')!.spec.taints = ['k=v:Sometimes']),
    );

    expect(errorsOf(text)).toEqual([
      'instanceGroups[nodes].spec.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
    ]);
  });

  it('requires an effect, as Kubernetes does', () => {
    const text = editManifest(
      minimal,
      (_c, groups) => (groups.get('nodes')!.spec.taints = ['dedicated']),
    );

    expect(errorsOf(text)).toEqual(['instanceGroups[nodes].spec.taints[0].effect: Required value']);
  });

  it('rejects two taints with the same key and effect', () => {
    const text = editManifest(
      minimal,
      (_c, groups) => (groups.get('nodes')!.spec.taints = ['k=a:NoSchedule', 'k=b:NoSchedule']),
    );

    expect(errorsOf(text)).toEqual([
      'instanceGroups[nodes].spec.taints[1]: Duplicate value: "k=b:NoSchedule": taints must be unique by key and effect pair',
    ]);
  });

  it('rejects a taint that is not a string', () => {
    const text = editManifest(
      minimal,
      (_c, groups) => (groups.get('nodes')!.spec.taints = [{ key: 'k' }]),
    );

    expect(errorsOf(text)).toEqual([
      'instanceGroups[nodes].spec.taints[0]: Invalid value: {"key":"k"}: must be a string (key=value:Effect)',
    ]);
  });
});

describe('cloud labels', () => {
  it('accepts what kOps accepts (spaces, colons, plus signs)', () => {
    const text = editManifest(
      minimal,
      (c) =>
        (c.spec.cloudLabels = {
          Owner: 'John Doe',
          dn: 'cn=John Doe: dc=example dc=com',
          'foo/bar': 'fib+baz',
        }),
    );

    expect(errorsOf(text)).toEqual([]);
  });

  it('forbids the tags kOps finds a cluster by', () => {
    const text = editManifest(
      minimal,
      (c) => (c.spec.cloudLabels = { KubernetesCluster: 'other.example.com' }),
    );

    expect(errorsOf(text)).toEqual([
      'spec.cloudLabels[KubernetesCluster]: Forbidden: "KubernetesCluster" is a reserved label and cannot be used as a custom label',
    ]);
  });

  it("forbids the reserved prefixes, kopsless's own included", () => {
    const text = editManifest(
      minimal,
      (_c, groups) =>
        (groups.get('nodes')!.spec.cloudLabels = {
          'kubernetes.io/cluster/other': 'owned',
          'kopsless.io/spec-hash': 'x',
        }),
    );

    expect(errorsOf(text)).toEqual([
      'instanceGroups[nodes].spec.cloudLabels[kubernetes.io/cluster/other]: Forbidden: "kubernetes.io/cluster/" is a reserved label prefix and cannot be used as a custom label',
      'instanceGroups[nodes].spec.cloudLabels[kopsless.io/spec-hash]: Forbidden: "kopsless.io/" is a reserved label prefix and cannot be used as a custom label',
    ]);
  });

  it('lets a group name itself in kops.k8s.io/instancegroup, and nothing else', () => {
    const own = editManifest(
      minimal,
      (_c, groups) =>
        (groups.get('nodes')!.spec.cloudLabels = { 'kops.k8s.io/instancegroup': 'nodes' }),
    );
    const other = editManifest(
      minimal,
      (_c, groups) =>
        (groups.get('nodes')!.spec.cloudLabels = {
          'kops.k8s.io/instancegroup': 'master-us-test-1a',
        }),
    );

    expect(errorsOf(own)).toEqual([]);
    expect(errorsOf(other)).toEqual([
      'instanceGroups[nodes].spec.cloudLabels[kops.k8s.io/instancegroup]: Invalid value: "master-us-test-1a": value must match instance group name',
    ]);
  });

  it('holds tags to AWS limits: no aws: prefix, values up to 256 characters', () => {
    const text = editManifest(
      minimal,
      (c) => (c.spec.cloudLabels = { 'aws:owner': 'x', big: 'v'.repeat(257) }),
    );

    expect(errorsOf(text)).toEqual([
      'spec.cloudLabels[aws:owner]: Forbidden: the "aws:" prefix is reserved for AWS use',
      `spec.cloudLabels[big]: Invalid value: "${'v'.repeat(257)}": a tag value must be no more than 256 characters`,
    ]);
  });
});

describe('DNS names', () => {
  it.each(['masterPublicName', 'masterInternalName'])(
    'rejects a %s that is not a DNS subdomain',
    (key) => {
      const text = editManifest(minimal, (c) => (c.spec[key] = 'api.x$(id).example.com'));

      expect(errorsOf(text)).toEqual([
        `spec.${key}: Invalid value: "api.x$(id).example.com": ${SUBDOMAIN_RULE}`,
      ]);
    },
  );

  it('rejects a DNS name of more than 253 bytes', () => {
    const name = `${`${'a'.repeat(60)}.`.repeat(5)}com`;
    const text = editManifest(minimal, (c) => (c.spec.masterInternalName = name));

    expect(errorsOf(text)).toEqual([
      `spec.masterInternalName: Invalid value: "${name}": must be no more than 253 bytes`,
    ]);
  });

  it('accepts a dnsZone written with a trailing dot', () => {
    const text = editManifest(minimal, (c) => (c.spec.dnsZone = 'example.com.'));

    expect(errorsOf(text)).toEqual([]);
  });

  it('rejects a dnsZone that is not a DNS name', () => {
    const text = editManifest(minimal, (c) => (c.spec.dnsZone = 'example.com\nx'));

    expect(errorsOf(text)).toEqual([
      `spec.dnsZone: Invalid value: "example.com\\nx": ${SUBDOMAIN_RULE}`,
    ]);
  });

  it('accepts a hosted zone ID as dnsZone, as kOps does', () => {
    const check = checkManifest(editManifest(minimal, (c) => (c.spec.dnsZone = 'Z0123456789ABC')));

    expect(check.errors).toEqual([]);
    expect(check.unsupported).toEqual([]);
    expect(checkExitCode(check)).toBe(0);
  });
});

describe('VPC CNI env', () => {
  const withEnv = (env: unknown) =>
    editManifest(minimal, (c) => {
      c.spec.cloudProvider = 'aws';
      c.spec.networking = { amazonvpc: { env } };
    });

  it('accepts C identifiers with any string value', () => {
    expect(
      errorsOf(
        withEnv([
          { name: 'WARM_IP_TARGET', value: '3' },
          { name: '_X1', value: 'a b; c' },
          { name: 'EMPTY' },
        ]),
      ),
    ).toEqual([]);
  });

  it('rejects a name that could be read as a kubectl option', () => {
    expect(errorsOf(withEnv([{ name: '--server=https://evil', value: 'x' }]))).toEqual([
      "spec.networking.amazonvpc.env[0].name: Invalid value: \"--server=https://evil\": a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_' (e.g. 'my_name',  or 'MY_NAME',  or 'MyName', regex used for validation is '[A-Za-z_][A-Za-z0-9_]*')",
    ]);
  });

  it('requires a name', () => {
    expect(errorsOf(withEnv([{ value: 'x' }]))).toEqual([
      'spec.networking.amazonvpc.env[0].name: Required value',
    ]);
  });

  it('rejects a value that is not a string, or holds a NUL', () => {
    expect(
      errorsOf(
        withEnv([
          { name: 'A', value: 3 },
          { name: 'B', value: 'a\0b' },
        ]),
      ),
    ).toEqual([
      'spec.networking.amazonvpc.env[0].value: Invalid value: 3: must be a string',
      'spec.networking.amazonvpc.env[1].value: Invalid value: "a\\u0000b": must not contain a NUL character',
    ]);
  });
});

describe('kubernetesVersion', () => {
  it.each(['1.33.1', 'v1.33.1', 'v1.34.0-rc.1', '1.32.0+build.5'])('accepts %s', (version) => {
    expect(errorsOf(editManifest(minimal, (c) => (c.spec.kubernetesVersion = version)))).toEqual(
      [],
    );
  });

  it.each([
    'v1.33.1; id',
    '1.33.1\nKUBEADM',
    'V1.33.1',
    'vv1.33.1',
    '1.33-rc.1',
    '1.33.1-rc.01',
    '1..1',
    '1.33.1+',
    '1.33.x',
    '1.33.1 rc',
  ])('rejects %j', (version) => {
    expect(errorsOf(editManifest(minimal, (c) => (c.spec.kubernetesVersion = version)))).toEqual([
      `spec.kubernetesVersion: Invalid value: ${JSON.stringify(version)}: unable to parse kubernetes version`,
    ]);
  });

  it.each([
    ['v1.34.0-rc.1', '1.34.0-rc.1'],
    ['1.32.0+build.5', '1.32.0+build.5'],
  ])(
    'reports %s valid but not supported (exit 3): the stable packages the boot script installs hold releases only',
    (version, text) => {
      const check = checkManifest(
        editManifest(minimal, (c) => (c.spec.kubernetesVersion = version)),
      );

      expect(check.errors).toEqual([]);
      expect(checkExitCode(check)).toBe(3);
      expect(check.unsupported.map((u) => `${u.path}: ${u.message}`)).toContain(
        `spec.kubernetesVersion: not supported: pre-release and build Kubernetes versions (${JSON.stringify(text)}): kopsless installs kubelet and kubeadm from the stable packages of pkgs.k8s.io, which hold releases only`,
      );
    },
  );

  it('reports a release version supported', () => {
    const check = checkManifest(
      editManifest(minimal, (c) => (c.spec.kubernetesVersion = 'v1.34.1')),
    );

    expect(check.unsupported.filter((u) => u.path === 'spec.kubernetesVersion')).toEqual([]);
  });

  it('accepts a build URL (reported unsupported) only without whitespace', () => {
    const url = checkManifest(
      editManifest(minimal, (c) => (c.spec.kubernetesVersion = 'https://example.com/k8s/v1.33.1/')),
    );
    const spaced = errorsOf(
      editManifest(minimal, (c) => (c.spec.kubernetesVersion = 'https://example.com/x y')),
    );

    expect(url.errors).toEqual([]);
    expect(spaced).toEqual([
      'spec.kubernetesVersion: Invalid value: "https://example.com/x y": unable to parse kubernetes version',
    ]);
  });

  it.each([
    ['v1.33.1\n', '1.33.1'],
    [' 1.33.1', '1.33.1'],
    ['1.33', '1.33.0'],
    ['v1.34', '1.34.0'],
    ['1.033.1', '1.33.1'],
    ['\t1.34.0-rc.1 ', '1.34.0-rc.1'],
  ])('accepts %j as kOps does and stores it as %s', (version, stored) => {
    const check = checkManifest(editManifest(minimal, (c) => (c.spec.kubernetesVersion = version)));

    expect(check.errors).toEqual([]);
    expect([
      check.manifest?.cluster.spec.kubernetesVersion,
      check.completed?.cluster.spec.kubernetesVersion,
    ]).toEqual([stored, stored]);
  });

  it('keeps a strict version as written, so nothing rendered from an existing spec changes', () => {
    const check = checkManifest(
      editManifest(minimal, (c) => (c.spec.kubernetesVersion = 'v1.33.1')),
    );

    expect(check.completed?.cluster.spec.kubernetesVersion).toBe('v1.33.1');
  });

  it('parses the numbers and the full text of a version', () => {
    expect(parseKubernetesVersion('v1.33.1')).toEqual({
      major: 1,
      minor: 33,
      patch: 1,
      text: '1.33.1',
    });
    expect(parseKubernetesVersion(' 1.34 ')).toEqual({
      major: 1,
      minor: 34,
      patch: 0,
      text: '1.34.0',
    });
  });
});

describe('maxPods of the control-plane kubelet blocks', () => {
  it.each(['controlPlaneKubelet', 'masterKubelet'])(
    'rejects a %s.maxPods that is not a positive whole number',
    (key) => {
      const text = editManifest(minimal, (c) => (c.spec[key] = { maxPods: '17\nKUBEADM' }));

      expect(errorsOf(text)).toEqual([
        `spec.${key}.maxPods: Invalid value: "17\\nKUBEADM": must be a whole number greater than zero`,
      ]);
    },
  );
});

describe('content rules', () => {
  it('label keys: an empty prefix and an empty name are both named', () => {
    expect(labelKeyErrors('/')).toEqual([
      'prefix part must be non-empty',
      'name part must be non-empty',
      expect.stringMatching(/^name part must consist of/),
    ]);
  });

  it('label values: empty is valid', () => {
    expect(labelValueErrors('')).toEqual([]);
  });

  it('C identifiers: a leading digit is not one', () => {
    expect(cIdentifierErrors('1A')).toHaveLength(1);
    expect(cIdentifierErrors('A1')).toEqual([]);
  });

  it('taints parse as kOps parses them', () => {
    expect(parseTaint('k=v:NoSchedule')).toEqual({ key: 'k', value: 'v', effect: 'NoSchedule' });
    expect(parseTaint('k:NoExecute')).toEqual({ key: 'k', effect: 'NoExecute' });
    expect(parseTaint('k')).toEqual({ key: 'k', effect: '' });
    expect(parseTaint('a=b=c:NoSchedule')).toBeUndefined();
  });
});
