import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { checkManifest } from '../../src/manifest/check.js';
import { renderUserData } from '../../src/planning/user-data.js';
import { readFixture } from '../helpers.js';
import { runSandboxed } from '../support/script-sandbox.js';

// The boot script of a highly available control plane: one instance claims kubeadm init with a
// conditional write, every other joins as a control-plane member.
const seed = checkManifest(readFixture('seed.yaml')).completed!;
const controlPlane = seed.instanceGroups.find(
  (ig) => ig.metadata.name === 'control-plane-us-east-1a',
)!;
const input = {
  cluster: seed.cluster,
  instanceGroup: controlPlane,
  maxPods: 17,
  stateBucket: 'state-bucket',
  region: 'us-east-1',
};
const COMMANDS = [
  'apt-get',
  'apt-mark',
  'awk',
  'blkid',
  'chmod',
  'containerd',
  'curl',
  'find',
  'gpg',
  'grep',
  'install',
  'kubeadm',
  'kubectl',
  'ls',
  'lsblk',
  'mkfs.ext4',
  'mktemp',
  'modprobe',
  'mount',
  'openssl',
  'python3',
  'sed',
  'sha256sum',
  'sh',
  'sleep',
  'sysctl',
  'systemctl',
  'tar',
  'tee',
  'uname',
];

/**
 * curl as AWS and IMDS would answer it: this instance is i-self; the state store holds the
 * cluster's CAs and names another instance as the one that ran kubeadm init (the claim's
 * If-None-Match write fails with 412); EC2 has the etcd volume.
 */
const CURL_ANSWER = `case "$*" in
  *--version*) printf '%s\\n' 'curl 8.5.0 (x86_64-pc-linux-gnu)' ;;
  *169.254.169.254*) printf '%s' i-self ;;
  *'If-None-Match: *'*) printf '%s\\n' 'curl: (22) The requested URL returned error: 412' >&2; exit 22 ;;
  *control-plane-initializer*) printf '%s' i-other ;;
  *list-type=2*) printf '%s' '<Key>seed.example.com/secrets/control-plane-pki.tar.gz</Key>' ;;
  *) printf '%s\\n' '<volumeId>vol-0123</volumeId><status>available</status>' ;;
esac`;

describe('a control-plane boot script of a cluster with three control-plane groups', () => {
  it('claims kubeadm init with If-None-Match, and joins as a control-plane member when another instance holds the claim', () => {
    const run = runSandboxed(renderUserData({ ...input, controlPlaneCount: 3 }), COMMANDS, {
      answers: { curl: CURL_ANSWER },
    });

    expect(run.blocked).toEqual([]);
    expect(run.stderr).not.toMatch(/command not found|syntax error|unbound variable/);
    expect(run.status).toBe(0);
    const argvs = run.calls.map((c) => c.argv);
    const claim = argvs.find((a) => a[0] === 'curl' && a.includes('If-None-Match: *'))!;
    expect(claim).toEqual(
      expect.arrayContaining([
        'PUT',
        'https://state-bucket.s3.us-east-1.amazonaws.com/seed.example.com/secrets/control-plane-initializer',
      ]),
    );
    expect(argvs.filter((a) => a[0] === 'kubeadm').map((a) => a[1])).toEqual(['join']);
    const written = run.calls.find(
      (c) => c.argv[0] === 'tee' && c.argv[1] === '/etc/kubernetes/kubeadm.yaml',
    )!.stdin;
    const join = parseAllDocuments(written)
      .map((d) => d.toJS() as Record<string, any>)
      .find((d) => d.kind === 'JoinConfiguration')!;
    expect(join.controlPlane).toEqual({ localAPIEndpoint: { bindPort: 443 } });
    expect(join.discovery.bootstrapToken.apiServerEndpoint).toBe(
      'api.internal.seed.example.com:443',
    );
    // The joining member starts with an empty etcd data directory, after the cluster's CAs are restored.
    const order = argvs.filter((a) => ['find', 'tar', 'kubeadm'].includes(a[0]!)).map((a) => a[0]);
    expect(order).toEqual(['tar', 'find', 'kubeadm']);
  });

  it('is the single control plane script unchanged when the cluster has one control-plane group', () => {
    const single = renderUserData(input);

    expect(renderUserData({ ...input, controlPlaneCount: 1 })).toBe(single);
    expect(single).not.toContain('claim_control_plane_init');
    expect(single).not.toContain('kubeadm join');
  });
});
