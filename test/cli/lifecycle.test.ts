import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { REFERENCE_DIR } from '../helpers.js';
import { kopsless, kopslessInProcess, localBackendForFile } from './run.js';

// The CLI as a user drives it: its own local backend (moto, detached), stopped by PID at the end.
// Each command is run as the binary at least once; the further reads and previews run the same
// build in this worker (kopslessInProcess), without a process start each.
const { home, env } = localBackendForFile();
const seedFlags = [
  'create',
  'cluster',
  '--name',
  'cli.example.com',
  '--zones',
  'us-east-1a,us-east-1b',
  '--networking',
  'amazonvpc',
  '--node-count',
  '2',
  '--node-size',
  't3.medium',
  '--master-size',
  't3.medium',
  '--network-cidr',
  '172.30.0.0/16',
];

describe('kopsless CLI on the local backend', () => {
  it('prints the environment the AWS CLI needs', async () => {
    const result = await kopsless(['local', 'env'], env);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^export AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:\d+$/m);
    expect(result.stdout).toContain('export AWS_REGION=us-east-1');
  });

  it('registers the spec and prints the plan without --yes', async () => {
    const result = await kopsless(seedFlags, env);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Registered cluster "cli.example.com"');
    expect(result.stdout).toMatch(
      /nodes-us-east-1a\.cli\.example\.com\s+Node\s+t3\.medium\s+1\s+1\s+17/,
    );
    expect(result.stdout).toContain('Must specify --yes to apply changes');
    const status = JSON.parse(
      (await kopsless(['get', 'cluster', 'cli.example.com', '-o', 'json'], env)).stdout,
    );
    expect(status.status.phase).toBe('Registered');
  }, 60_000);

  it('creates the cluster with --yes, showing each stage', async () => {
    const result = await kopsless([...seedFlags, '--yes'], env);

    expect(result.code, result.stderr).toBe(0);
    for (const state of [
      'ValidateSpec',
      'AcquireLock',
      'RegisterCluster',
      'CreateStack',
      'EnsureInstanceGroups',
      'CheckInstances',
      'UpsertApiRecords',
      'CheckDns',
      'RecordSuccess',
    ]) {
      expect(result.stdout).toMatch(new RegExp(`✓ ${state}\\s`));
    }
    expect(result.stdout).toContain('Cluster "cli.example.com" is ready');
  }, 120_000);

  it('lists clusters and instance groups with kOps columns', async () => {
    const clusters = await kopslessInProcess(['get', 'clusters'], env);
    const groups = await kopsless(['get', 'ig', '--name', 'cli.example.com'], env);

    expect(clusters.stdout.split('\n')[0]).toMatch(/^NAME\s+CLOUD\s+ZONES$/);
    expect(clusters.stdout).toMatch(/^cli\.example\.com\s+aws\s+us-east-1a,us-east-1b$/m);
    expect(groups.stdout.split('\n')[0]).toMatch(/^NAME\s+ROLE\s+MACHINETYPE\s+MIN\s+MAX\s+ZONES$/);
    expect(groups.stdout).toMatch(
      /^control-plane-us-east-1a\s+ControlPlane\s+t3\.medium\s+1\s+1\s+us-east-1a$/m,
    );
  });

  it('shows the status, with the last execution, in get cluster -o json', async () => {
    const result = await kopslessInProcess(
      ['get', 'cluster', 'cli.example.com', '-o', 'json'],
      env,
    );

    const cluster = JSON.parse(result.stdout);
    expect(cluster).toMatchObject({
      kind: 'Cluster',
      metadata: { name: 'cli.example.com' },
      status: { phase: 'Ready', lastError: null, lock: null },
    });
    expect(cluster.status.lastExecution).toMatch(
      /^arn:aws:states:us-east-1:\d+:execution:kopsless-create-cluster:/,
    );
  });

  it('prints instance groups as YAML', async () => {
    const result = await kopslessInProcess(
      ['get', 'ig', '--name', 'cli.example.com', '-o', 'yaml'],
      env,
    );

    expect(result.stdout).toContain('kind: InstanceGroup');
    expect(result.stdout.split('---').length).toBe(3);
  });

  it('validates the cluster (exit 0) and prints kOps sections', async () => {
    const result = await kopsless(['validate', 'cluster', 'cli.example.com'], env);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('INSTANCE GROUPS');
    expect(result.stdout).toContain('NODE STATUS');
    expect(result.stdout).toContain('Your cluster cli.example.com is ready');
  });

  it('gives kubectl a kubeconfig for the simulated API of the cluster', async () => {
    const { writeFileSync } = await import('node:fs');
    const { execFileSync } = await import('node:child_process');
    const kubeconfig = join(home, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      (await kopsless(['local', 'kubeconfig', 'cli.example.com'], env)).stdout,
    );

    const nodes = execFileSync(
      'kubectl',
      ['--kubeconfig', kubeconfig, 'get', 'nodes', '-o', 'name'],
      { encoding: 'utf8' },
    );

    expect(nodes.trim().split('\n')).toHaveLength(3);
  });

  it('has nothing to update or roll right after create', async () => {
    expect((await kopsless(['update', 'cluster', 'cli.example.com'], env)).stdout).toContain(
      'No changes need to be applied',
    );
    expect(
      (await kopsless(['rolling-update', 'cluster', 'cli.example.com'], env)).stdout,
    ).toContain('No rolling-update required.');
  });

  it('previews a machine type change, applies it, and rolls only the changed group', async () => {
    expect(
      (
        await kopsless(
          [
            'set',
            'ig',
            'nodes-us-east-1b',
            'spec.machineType=m5.large',
            '--name',
            'cli.example.com',
          ],
          env,
        )
      ).code,
    ).toBe(0);

    const preview = await kopslessInProcess(['update', 'cluster', 'cli.example.com'], env);
    expect(preview.stdout).toMatch(/InstanceType\s+t3\.medium -> m5\.large/);
    expect(
      (await kopslessInProcess(['update', 'cluster', 'cli.example.com', '--yes'], env)).code,
    ).toBe(0);

    const table = (await kopslessInProcess(['rolling-update', 'cluster', 'cli.example.com'], env))
      .stdout;
    expect(table.split('\n')[0]).toMatch(
      /^NAME\s+STATUS\s+NEEDUPDATE\s+READY\s+MIN\s+TARGET\s+MAX\s+NODES$/,
    );
    expect(table).toMatch(/^nodes-us-east-1b\s+NeedsUpdate\s+1\s+0\s+1\s+1\s+1\s+1$/m);
    expect(table).toMatch(/^nodes-us-east-1a\s+Ready\s+0/m);

    const roll = await kopsless(['rolling-update', 'cluster', 'cli.example.com', '--yes'], env);
    expect(roll.code, roll.stderr).toBe(0);
    expect(roll.stdout).toContain('Rolling update completed');
  }, 120_000);

  it('refuses a bad set with the field path and changes nothing', async () => {
    const result = await kopslessInProcess(
      ['set', 'ig', 'nodes-us-east-1b', 'spec.maxSize=0', '--name', 'cli.example.com'],
      env,
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'instanceGroups[nodes-us-east-1b].spec.maxSize: Forbidden: maxSize must be greater than or equal to minSize.',
    );
  });

  it('lists what delete would remove (TYPE NAME ID), then deletes it all', async () => {
    const preview = await kopslessInProcess(['delete', 'cluster', 'cli.example.com'], env);
    expect(preview.code).toBe(0);
    expect(preview.stdout.split('\n')[0]).toMatch(/^TYPE\s+NAME\s+ID$/);
    expect(preview.stdout).toMatch(/^autoscaling-group\s+nodes-us-east-1a\.cli\.example\.com/m);

    // kubectl was pointed at it, and at another cluster: only the deleted one's entries go.
    const kubeconfig = join(home, 'delete-kubeconfig');
    const entriesOf = (name: string) => ({
      clusters: [{ name, cluster: { server: `https://api.${name}` } }],
      users: [{ name, user: {} }],
      contexts: [{ name, context: { cluster: name, user: name } }],
    });
    const [deleted, other] = [entriesOf('cli.example.com'), entriesOf('other.example.com')];
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [...deleted.clusters, ...other.clusters],
        users: [...deleted.users, ...other.users],
        contexts: [...deleted.contexts, ...other.contexts],
        'current-context': 'cli.example.com',
      }),
    );

    const result = await kopsless(['delete', 'cluster', 'cli.example.com', '--yes'], {
      ...env,
      KUBECONFIG: kubeconfig,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Deleted cluster: "cli.example.com"');
    expect(result.stdout).toContain(
      `Deleted kubectl config for cli.example.com (in ${kubeconfig})`,
    );
    expect(parse(readFileSync(kubeconfig, 'utf8'))).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      ...other,
    });
    expect((await kopslessInProcess(['delete', 'cluster', 'cli.example.com'], env)).code).toBe(1);
  }, 120_000);

  it('refuses an unsupported manifest with exit 3 and creates nothing', async () => {
    const result = await kopsless(
      [
        'create',
        '-f',
        join(REFERENCE_DIR, 'kops-manifests', 'update_cluster_mixed_instances.yaml'),
        '--yes',
      ],
      env,
    );

    expect(result.code).toBe(3);
    expect((await kopslessInProcess(['get', 'clusters', '-o', 'json'], env)).stdout).not.toContain(
      'mixedinstances',
    );
  });
});
