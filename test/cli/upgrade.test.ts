import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { kopsless, kopslessInProcess, localBackendForFile } from './run.js';

// A Kubernetes upgrade as a kOps user does it, on the CLI's own local backend (stopped by PID at the end).
const { home, env } = localBackendForFile('kopsless-upgrade-');
const name = 'upgrade.example.com';
const kubeconfig = join(home, 'kubeconfig');

type NodeRow = { name: string; roles: string; version: string };

/** `kubectl get nodes` as a user reads it: each node's name, ROLES and VERSION columns. */
function kubectlNodeVersions(): NodeRow[] {
  return parseNodes(
    execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'get', 'nodes', '--no-headers'], {
      encoding: 'utf8',
    }),
  );
}

/** The same, without blocking the test while a roll runs beside it. */
async function kubectlNodeVersionsAsync(): Promise<NodeRow[]> {
  return parseNodes(
    (
      await promisify(execFile)(
        'kubectl',
        ['--kubeconfig', kubeconfig, 'get', 'nodes', '--no-headers'],
        { encoding: 'utf8' },
      )
    ).stdout,
  );
}

function parseNodes(table: string): NodeRow[] {
  return table
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .map(([node, , roles, , version]) => ({
      name: node ?? '',
      roles: roles ?? '',
      version: version ?? '',
    }));
}

beforeAll(async () => {
  const create = await kopslessInProcess(
    [
      'create',
      'cluster',
      '--name',
      name,
      '--zones',
      'us-east-1a',
      '--networking',
      'amazonvpc',
      '--node-count',
      '2',
      '--node-size',
      't3.medium',
      '--master-size',
      't3.medium',
      '--kubernetes-version',
      'v1.32.0',
      '--yes',
    ],
    env,
  );
  expect(create.code, create.stderr).toBe(0);
  writeFileSync(kubeconfig, (await kopslessInProcess(['local', 'kubeconfig', name], env)).stdout);
}, 180_000);

describe('a Kubernetes upgrade on the local backend', () => {
  it('starts with every node on the version it was created with', () => {
    const nodes = kubectlNodeVersions();

    expect(nodes).toHaveLength(3);
    expect(nodes.map((n) => n.version)).toEqual(['v1.32.0', 'v1.32.0', 'v1.32.0']);
  });

  it('refuses to skip a minor version, with the field path, and changes nothing', async () => {
    const result = await kopslessInProcess(
      ['set', 'cluster', 'spec.kubernetesVersion=1.34.0', '--name', name],
      env,
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'spec.kubernetesVersion: Forbidden: cannot upgrade the control plane from 1.32.0 to 1.34.0',
    );
    expect((await kopslessInProcess(['update', 'cluster', name], env)).stdout).toContain(
      'No changes need to be applied',
    );
  });

  it('refuses a version kOps no longer supports', async () => {
    const result = await kopslessInProcess(
      ['set', 'cluster', 'spec.kubernetesVersion=1.20.0', '--name', name],
      env,
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'spec.kubernetesVersion: Invalid value: "1.20.0": This version of Kubernetes is no longer supported; upgrading Kubernetes is required',
    );
  });

  it('reads 1.33 as kOps does, 1.33.0, and stores the full version', async () => {
    const set = await kopslessInProcess(
      ['set', 'cluster', 'spec.kubernetesVersion=1.33', '--name', name],
      env,
    );

    const stored = await kopslessInProcess(['get', 'clusters', name, '-o', 'yaml'], env);

    expect(set.code, set.stderr).toBe(0);
    expect(stored.stdout).toMatch(/^\s+kubernetesVersion: 1\.33\.0$/m);
  });

  it('takes the running version back after a set that was never applied (a pending spec is not what runs)', async () => {
    const back = await kopslessInProcess(
      ['set', 'cluster', 'spec.kubernetesVersion=v1.32.0', '--name', name],
      env,
    );

    expect(back.code, back.stderr).toBe(0);
    expect((await kopslessInProcess(['update', 'cluster', name], env)).stdout).toContain(
      'No changes need to be applied',
    );
  });

  it('previews the version change inside the bootstrap script, field by field', async () => {
    expect(
      (
        await kopslessInProcess(
          ['set', 'cluster', 'spec.kubernetesVersion=1.33.1', '--name', name],
          env,
        )
      ).code,
    ).toBe(0);

    const preview = await kopslessInProcess(['update', 'cluster', name], env);

    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toContain('UserData (bootstrap script)');
    expect(preview.stdout).toMatch(/^\s+KubernetesVersion\s+1\.32\.0 -> 1\.33\.1$/m);
    expect(preview.stdout).not.toContain('(changed bootstrap script)');
    expect(preview.stderr).toContain(
      'Kops support for this Kubernetes version (1.33.1) is deprecated and will be removed in a future release.',
    );
  });

  it("reports the nodes that do not run their group's version after update, before the roll", async () => {
    expect((await kopslessInProcess(['update', 'cluster', name, '--yes'], env)).code).toBe(0);

    const result = await kopslessInProcess(['validate', 'cluster', name], env);

    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toMatch(
      /runs kubelet v1\.32\.0, but instance group "nodes-us-east-1a" specifies Kubernetes 1\.33\.1/,
    );
    expect(kubectlNodeVersions().map((n) => n.version)).toEqual(['v1.32.0', 'v1.32.0', 'v1.32.0']);
  }, 120_000);

  it('refuses a second minor step while the control plane still runs the first version (update applied, not rolled), naming the instance', async () => {
    const skip = await kopslessInProcess(
      ['set', 'cluster', 'spec.kubernetesVersion=1.34.0', '--name', name],
      env,
    );
    const replace = await kopslessInProcess(['update', 'cluster', name, '--yes'], env);

    expect(skip.code).toBe(1);
    expect(skip.stderr).toContain(
      'spec.kubernetesVersion: Forbidden: cannot upgrade the control plane from 1.32.0 to 1.34.0',
    );
    expect(skip.stderr).toMatch(
      /the spec was not changed: control-plane instance i-[0-9a-f]+ \(instance group "control-plane-us-east-1a"\) runs Kubernetes 1\.32\.0/,
    );
    expect(replace.code, replace.stderr).toBe(0);
    expect(replace.stdout).toContain('No changes need to be applied');
  }, 60_000);

  it('takes a tolerant form of the applied version (" v1.33.1") as the same version: nothing to apply', async () => {
    const set = await kopslessInProcess(
      ['set', 'cluster', 'spec.kubernetesVersion= v1.33.1', '--name', name],
      env,
    );

    expect(set.code, set.stderr).toBe(0);
    expect((await kopslessInProcess(['update', 'cluster', name], env)).stdout).toContain(
      'No changes need to be applied',
    );
  });

  it('rolls the control plane first, node by node, and ends with every node on the new version, and validates', async () => {
    const seen: NodeRow[][] = [];
    let rolling = true;
    const running = kopsless(['rolling-update', 'cluster', name, '--yes'], env).finally(
      () => (rolling = false),
    );
    while (rolling) {
      seen.push(await kubectlNodeVersionsAsync().catch(() => []));
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const roll = await running;
    expect(roll.code, roll.stderr + roll.stdout).toBe(0);

    const behind = (rows: NodeRow[]) =>
      rows.filter((n) => !n.roles.includes('control-plane') && n.version === 'v1.32.0').length;
    const controlPlaneUpgraded = (rows: NodeRow[]) =>
      rows.some((n) => n.roles.includes('control-plane') && n.version === 'v1.33.1');
    // Seen mid-roll: the control plane on 1.33.1 while some nodes still run 1.32.0, and never the reverse.
    expect(seen.some((rows) => controlPlaneUpgraded(rows) && behind(rows) > 0)).toBe(true);
    expect(
      seen.filter(
        (rows) =>
          rows.some((n) => n.version === 'v1.33.1') &&
          !controlPlaneUpgraded(rows) &&
          rows.some((n) => n.roles.includes('control-plane')),
      ),
    ).toEqual([]);

    const nodes = kubectlNodeVersions();
    const validate = await kopslessInProcess(['validate', 'cluster', name], env);

    expect(nodes).toHaveLength(3);
    expect(nodes.map((n) => n.version)).toEqual(['v1.33.1', 'v1.33.1', 'v1.33.1']);
    expect(validate.code, validate.stdout + validate.stderr).toBe(0);
  }, 300_000);

  it('refuses a minor downgrade of the upgraded cluster but takes a patch change', async () => {
    const downgrade = await kopslessInProcess(
      ['set', 'cluster', 'spec.kubernetesVersion=1.32.9', '--name', name],
      env,
    );
    const patch = await kopslessInProcess(
      ['set', 'cluster', 'spec.kubernetesVersion=1.33.0', '--name', name],
      env,
    );

    expect(downgrade.code).toBe(1);
    expect(downgrade.stderr).toContain(
      'spec.kubernetesVersion: Forbidden: cannot downgrade a running cluster from 1.33.1 to 1.32.9',
    );
    expect(patch.code, patch.stderr).toBe(0);
  });
});
