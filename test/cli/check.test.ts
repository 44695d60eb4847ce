import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REFERENCE_DIR, ROOT } from '../helpers.js';
import { kopsless } from './run.js';

const reference = (name: string) => join(REFERENCE_DIR, 'kops-manifests', name);

describe('kopsless check', () => {
  it('exits 0 for a fully supported manifest', async () => {
    const result = await kopsless(['check', '-f', reference('update_cluster_minimal-aws.yaml')]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('cluster "minimal-aws.example.com" is valid');
  });

  it('exits 3 and lists unsupported settings by path', async () => {
    const result = await kopsless([
      'check',
      '-f',
      reference('update_cluster_mixed_instances.yaml'),
    ]);

    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      'instanceGroups[nodes].spec.instanceProtection: not supported: ',
    );
  });

  it('exits 3, not 1, for valid kOps it does not build (an IPv6 cluster), naming each setting', async () => {
    const result = await kopsless([
      'check',
      '-f',
      join(ROOT, 'test', 'fixtures', 'kops', 'ipv6-only.yaml'),
    ]);

    expect(result.code).toBe(3);
    expect(result.stderr).toContain('spec.subnets[0].ipv6CIDR: not supported: IPv6 subnets');
  });

  it('exits 1 with <field path>: <message> for an invalid manifest', async () => {
    const manifest =
      'apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: x.example.com\nspec:\n  cloudProvider: aws\n';

    const result = await kopsless(['check', '-f', '-'], {}, manifest);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('spec.kubernetesVersion: Required value');
  });

  it('prints the JSON shape scripts depend on', async () => {
    const result = await kopsless([
      'check',
      '-f',
      reference('create_cluster_complex-private.yaml'),
      '-o',
      'json',
    ]);

    expect(result.code).toBe(3);
    const json = JSON.parse(result.stdout);
    expect(Object.keys(json)).toEqual([
      'valid',
      'cluster',
      'instanceGroups',
      'errors',
      'unsupported',
    ]);
    expect(json).toMatchObject({ valid: true, cluster: 'complex.example.com', errors: [] });
    expect(json.unsupported[0]).toEqual({
      path: 'spec.additionalNetworkCIDRs',
      message: expect.stringMatching(/^not supported: /),
    });
  });

  it('exits 2 for usage errors', async () => {
    // Four CLI starts, side by side: one after another they passed 30 s on a loaded machine.
    const results = await Promise.all([
      kopsless(['check']),
      kopsless(['check', '-f', join(ROOT, 'no-such-file.yaml')]),
      kopsless(['check', '--no-such-flag']),
      kopsless(['check', '-f', reference('create_cluster_ha.yaml'), '-o', 'xml']),
    ]);

    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2]);
  }, 90_000);
});
