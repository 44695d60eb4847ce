import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSshPublicKey, withCreateExtras } from '../../src/cli/create-extras.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { manifestFromFlags } from '../../src/manifest/create-cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'kopsless-create-extras-'));
const blob = Buffer.from('a public key blob').toString('base64');
const keyFile = join(dir, 'id.pub');
writeFileSync(keyFile, `ssh-ed25519 ${blob} user@host\n`);
const manifest = manifestFromFlags({ name: 'extras.example.com', zones: ['us-east-1a'] });

describe('kOps create flags that set manifest fields', () => {
  it('names the key pair after the cluster and the MD5 fingerprint of the key, as kOps does', () => {
    const md5 = createHash('md5').update(Buffer.from(blob, 'base64')).digest('hex');

    const { keyName, material } = readSshPublicKey(keyFile, 'extras.example.com');

    expect(keyName).toBe(`kubernetes.extras.example.com-${md5.match(/../g)!.join(':')}`);
    expect(material).toBe(`ssh-ed25519 ${blob} user@host`);
  });

  it('refuses a file that is not an OpenSSH public key, naming the flag', () => {
    const privateKey = join(dir, 'id');
    writeFileSync(privateKey, '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n');

    expect(() => readSshPublicKey(privateKey, 'x')).toThrow(UsageError);
    expect(() => readSshPublicKey(privateKey, 'x')).toThrow(/^--ssh-public-key/);
  });

  it('sets the root volume sizes per role and the SSH key name', () => {
    const result = withCreateExtras(manifest, {
      nodeVolumeSize: 40,
      controlPlaneVolumeSize: 30,
      sshPublicKey: keyFile,
    });

    expect(result.instanceGroups.map((ig) => [ig.spec.role, ig.spec.rootVolumeSize])).toEqual([
      ['Master', 30],
      ['Node', 40],
    ]);
    expect(result.cluster.spec.sshKeyName).toMatch(/^kubernetes\.extras\.example\.com-/);
  });

  it('refuses a volume size that is not a whole number of GiB', () => {
    expect(() => withCreateExtras(manifest, { nodeVolumeSize: Number('big') })).toThrow(
      '--node-volume-size takes a size in GiB (1 to 65536), not "NaN"',
    );
  });
});
