import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopMoto } from '../../src/local/moto.js';
import { kopsless } from './run.js';

// The CLI as a user drives it: its own local backend (moto, detached), stopped by PID at the end.
const home = mkdtempSync(join(tmpdir(), 'kopsless-home-'));
const env = { KOPSLESS_HOME: home };
const backendPid = () => (JSON.parse(readFileSync(join(home, 'local', 'backend.json'), 'utf8')) as { pid: number }).pid;
const seedFlags = ['create', 'cluster', '--name', 'cli.example.com', '--zones', 'us-east-1a,us-east-1b', '--networking', 'amazonvpc', '--node-count', '2', '--node-size', 't3.medium', '--master-size', 't3.medium', '--network-cidr', '172.30.0.0/16'];
let pid = 0;

beforeAll(() => {
  const up = kopsless(['local', 'up'], env);
  expect(up.code, up.stderr).toBe(0);
  pid = backendPid();
}, 60_000);

afterAll(() => {
  kopsless(['local', 'down'], env);
  stopMoto(pid);
  rmSync(home, { recursive: true, force: true });
});

describe('kopsless CLI on the local backend', () => {
  it('prints the environment the AWS CLI needs', () => {
    const result = kopsless(['local', 'env'], env);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^export AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:\d+$/m);
    expect(result.stdout).toContain('export AWS_REGION=us-east-1');
  });

  it('registers the spec and prints the plan without --yes', () => {
    const result = kopsless(seedFlags, env);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Registered cluster "cli.example.com"');
    expect(result.stdout).toMatch(/nodes-us-east-1a\.cli\.example\.com\s+Node\s+t3\.medium\s+1\s+1\s+17/);
    expect(result.stdout).toContain('Must specify --yes to apply changes');
    const status = JSON.parse(kopsless(['get', 'cluster', 'cli.example.com', '-o', 'json'], env).stdout);
    expect(status.status.phase).toBe('Registered');
  }, 60_000);

  it('creates the cluster with --yes, showing each stage', () => {
    const result = kopsless([...seedFlags, '--yes'], env);

    expect(result.code, result.stderr).toBe(0);
    for (const state of ['ValidateSpec', 'AcquireLock', 'RegisterCluster', 'CreateStack', 'EnsureInstanceGroups', 'CheckInstances', 'UpsertApiRecords', 'CheckDns', 'RecordSuccess']) {
      expect(result.stdout).toMatch(new RegExp(`✓ ${state}\\s`));
    }
    expect(result.stdout).toContain('Cluster "cli.example.com" is ready');
  }, 120_000);

  it('lists clusters and instance groups with kOps columns', () => {
    const clusters = kopsless(['get', 'clusters'], env);
    const groups = kopsless(['get', 'ig', '--name', 'cli.example.com'], env);

    expect(clusters.stdout.split('\n')[0]).toMatch(/^NAME\s+CLOUD\s+ZONES$/);
    expect(clusters.stdout).toMatch(/^cli\.example\.com\s+aws\s+us-east-1a,us-east-1b$/m);
    expect(groups.stdout.split('\n')[0]).toMatch(/^NAME\s+ROLE\s+MACHINETYPE\s+MIN\s+MAX\s+ZONES$/);
    expect(groups.stdout).toMatch(/^control-plane-us-east-1a\s+ControlPlane\s+t3\.medium\s+1\s+1\s+us-east-1a$/m);
  });

  it('shows the status, with the last execution, in get cluster -o json', () => {
    const result = kopsless(['get', 'cluster', 'cli.example.com', '-o', 'json'], env);

    const cluster = JSON.parse(result.stdout);
    expect(cluster).toMatchObject({ kind: 'Cluster', metadata: { name: 'cli.example.com' }, status: { phase: 'Ready', lastError: null, lock: null } });
    expect(cluster.status.lastExecution).toMatch(/^arn:aws:states:us-east-1:\d+:execution:kopsless-create-cluster:/);
  });

  it('prints instance groups as YAML', () => {
    const result = kopsless(['get', 'ig', '--name', 'cli.example.com', '-o', 'yaml'], env);

    expect(result.stdout).toContain('kind: InstanceGroup');
    expect(result.stdout.split('---').length).toBe(3);
  });

  it('refuses an unsupported manifest with exit 3 and creates nothing', () => {
    const result = kopsless(['create', '-f', join(__dirname, '..', '..', '..', 'shared', 'reference', 'kops-manifests', 'update_cluster_mixed_instances.yaml'), '--yes'], env);

    expect(result.code).toBe(3);
    expect(kopsless(['get', 'clusters', '-o', 'json'], env).stdout).not.toContain('mixedinstances');
  });
});
