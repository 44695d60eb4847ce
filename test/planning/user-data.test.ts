import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../src/manifest/check.js';
import { shellQuote } from '../../src/planning/shell.js';
import { maxPodsFromUserData, renderUserData } from '../../src/planning/user-data.js';
import { readFixture } from '../helpers.js';
import { expectGolden } from '../support/golden.js';

const SECRETS_KEY = 'arn:aws:kms:us-east-1:123456789012:alias/kopsless/state-secrets';
const seed = checkManifest(readFixture('seed.yaml')).completed!;
const group = (name: string) => seed.instanceGroups.find((ig) => ig.metadata.name === name)!;
const render = (name: string, maxPods = 17) =>
  renderUserData({
    cluster: seed.cluster,
    instanceGroup: group(name),
    maxPods,
    stateBucket: 'state-bucket',
    region: 'us-east-1',
    secretsKeyArn: SECRETS_KEY,
    deployment: 'kopsless',
  });
const bastion = {
  ...group('nodes-us-east-1a'),
  metadata: { ...group('nodes-us-east-1a').metadata, name: 'bastions' },
  spec: { ...group('nodes-us-east-1a').spec, role: 'Bastion' as const },
};

function shellcheck(script: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kopsless-userdata-'));
  const file = join(dir, 'user-data.sh');
  writeFileSync(file, script);
  const result = spawnSync('shellcheck', ['--shell=bash', '--severity=style', file], {
    encoding: 'utf8',
  });
  rmSync(dir, { recursive: true, force: true });
  if (result.error)
    throw new Error(
      `shellcheck is needed for this test (apt-get install shellcheck): ${result.error.message}`,
    );
  return { status: result.status, output: result.stdout + result.stderr };
}

describe('user-data', () => {
  it('gives kubelet only labels it accepts: kops.k8s.io/instancegroup is left out, others kept', () => {
    const ig = group('nodes-us-east-1a');
    const labelled = {
      ...ig,
      spec: {
        ...ig.spec,
        nodeLabels: {
          ...ig.spec.nodeLabels,
          'node.kubernetes.io/pool': 'a',
          'example.com/team': 'b',
        },
      },
    };

    const script = renderUserData({
      cluster: seed.cluster,
      instanceGroup: labelled,
      maxPods: 17,
      stateBucket: 'state-bucket',
      region: 'us-east-1',
    });

    expect(script).toContain(
      '    - name: node-labels\n      value: "node.kubernetes.io/pool=a,example.com/team=b"\n',
    );
    expect(script).not.toContain('kops.k8s.io/instancegroup=');
  });

  it('writes every secret of the control plane under the secrets key, and nothing else with it', () => {
    const script = render('control-plane-us-east-1a');
    const plainWrites = script
      .split('\n')
      .filter((line) => /^\s*state_store_write [a-z]/.test(line));

    const secretWrites = script
      .split('\n')
      .filter((line) => /state_store_write_secret secrets\//.test(line));
    expect(secretWrites.map((line) => line.trim().split(' ')[1])).toEqual([
      'secrets/control-plane-pki.tar.gz',
      'secrets/kubeconfig',
    ]);
    // The one plain write left publishes the CA hash, which is not a secret.
    expect(plainWrites).toEqual(['    state_store_write pki/ca-cert-hash']);
    expect(script).toContain(`readonly SECRETS_KEY=${shellQuote(SECRETS_KEY)}`);
    // Secrets go through the one writer that sets the SSE-KMS headers with the key.
    expect(script).toContain('"x-amz-server-side-encryption-aws-kms-key-id": key_id');
    expect(script).toContain(
      '  python3 -c "${SIGNED_SECRET_PUT}" "${STATE_STORE}/$1" "${AWS_REGION}" "${SECRETS_KEY}" "${2:-}" \\',
    );
  });

  it('matches the golden file for a control-plane instance', () => {
    expectGolden('user-data-control-plane.sh', render('control-plane-us-east-1a'));
  });

  it('matches the golden file for a node', () => {
    expectGolden('user-data-node.sh', render('nodes-us-east-1a'));
  });

  it.each([
    ['control plane', () => render('control-plane-us-east-1a')],
    ['node', () => render('nodes-us-east-1a')],
    [
      'bastion',
      () =>
        renderUserData({
          cluster: seed.cluster,
          instanceGroup: bastion,
          maxPods: 0,
          stateBucket: 'b',
          region: 'us-east-1',
        }),
    ],
  ])('passes shellcheck for a %s', (_role, script) => {
    const result = shellcheck(script());

    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it.each([
    ['control plane', () => render('control-plane-us-east-1a')],
    ['node', () => render('nodes-us-east-1a')],
  ])('has no unquoted heredoc for a %s (bash would expand what is in it)', (_role, script) => {
    const heredocs = script().match(/<<-?\s*\S+/g) ?? [];

    expect(heredocs.length).toBeGreaterThan(0);
    expect(heredocs.filter((h) => !/^<<-?\s*'[A-Z]+'$/.test(h))).toEqual([]);
  });

  it('parses as bash', () => {
    expect(() => execFileSync('bash', ['-n'], { input: render('nodes-us-east-1a') })).not.toThrow();
  });

  it('sets the kubelet maxPods it is given, and it can be read back', () => {
    const script = render('nodes-us-east-1a', 110);

    expect(script).toMatch(/^maxPods: 110$/m);
    expect(maxPodsFromUserData(script)).toBe(110);
  });

  it('runs kubeadm init on the control plane and kubeadm join on nodes', () => {
    expect(render('control-plane-us-east-1a')).toContain(
      'kubeadm init --config /etc/kubernetes/kubeadm.yaml',
    );
    expect(render('nodes-us-east-1a')).toContain(
      'kubeadm join --config /etc/kubernetes/kubeadm.yaml',
    );
  });

  it('installs the VPC CNI with the manifest env on the control plane', () => {
    const withEnv = structuredClone(seed);
    withEnv.cluster.spec.networking = {
      amazonvpc: { env: [{ name: 'WARM_IP_TARGET', value: '3' }] },
    };

    const script = renderUserData({
      cluster: withEnv.cluster,
      instanceGroup: group('control-plane-us-east-1a'),
      maxPods: 17,
      stateBucket: 'b',
      region: 'us-east-1',
    });

    expect(script).toContain("set env daemonset/aws-node -- 'WARM_IP_TARGET=3'");
  });

  it('quotes values for bash', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});
