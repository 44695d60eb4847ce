import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { kopsless, localBackendForFile } from './run.js';

// A backend brought up for no cluster (us-east-1), then asked for a cluster in ap-northeast-2.
const { home, env } = localBackendForFile('kopsless-region-');
const NAME = 'seoul.example.com';
const flags = [
  'create',
  'cluster',
  '--name',
  NAME,
  '--zones',
  'ap-northeast-2a,ap-northeast-2c',
  '--node-count',
  '2',
  '--node-size',
  't3.medium',
  '--master-size',
  't3.medium',
];

function backendRecord(): { endpoint: string; region: string } {
  return JSON.parse(readFileSync(join(home, 'local', 'backend.json'), 'utf8'));
}

/** The cluster's running instances and their zones, as EC2 in `region` reports them. */
async function instanceZones(region: string, cluster = NAME): Promise<string[]> {
  const ec2 = new EC2Client({
    endpoint: backendRecord().endpoint,
    region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    const out = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag:KubernetesCluster', Values: [cluster] },
          { Name: 'instance-state-name', Values: ['pending', 'running'] },
        ],
      }),
    );
    return (out.Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .map((i) => i.Placement?.AvailabilityZone ?? '')
      .sort();
  } finally {
    ec2.destroy();
  }
}

describe('the local backend takes the region from the zones, as kOps does', () => {
  it('refuses zones of two regions, naming them, and creates nothing', async () => {
    const result = await kopsless(
      ['create', 'cluster', '--name', 'split.example.com', '--zones', 'ap-northeast-2a,us-east-1b'],
      env,
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      '--zones: Invalid value: "ap-northeast-2a,us-east-1b": clusters cannot span multiple regions (ap-northeast-2a in ap-northeast-2; us-east-1b in us-east-1)',
    );
    expect((await kopsless(['get', 'clusters', '-o', 'json'], env)).stdout).not.toContain(
      'split.example.com',
    );
  }, 60_000);

  it('creates a cluster in ap-northeast-2 with --yes: its instances run in its zones', async () => {
    const result = await kopsless([...flags, '--yes'], env);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Cluster "${NAME}" is ready`);
    expect(backendRecord().region).toBe('ap-northeast-2');
    expect(await instanceZones('ap-northeast-2')).toEqual([
      'ap-northeast-2a',
      'ap-northeast-2a',
      'ap-northeast-2c',
    ]);
    expect(await instanceZones('us-east-1')).toEqual([]);
  }, 180_000);

  it('gives the AWS CLI the cluster region', async () => {
    const result = await kopsless(['local', 'env'], env);

    expect(result.stdout).toContain('export AWS_REGION=ap-northeast-2');
  });

  it('validates the cluster in ap-northeast-2', async () => {
    const result = await kopsless(['validate', 'cluster', NAME], env);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Your cluster ${NAME} is ready`);
  }, 120_000);

  it('refuses a cluster of another region while this one lives, naming both regions', async () => {
    const result = await kopsless(
      ['create', 'cluster', '--name', 'east.example.com', '--zones', 'us-east-1a', '--yes'],
      env,
    );

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      `the local backend runs in ap-northeast-2 for clusters ${NAME}, and one local backend serves one region`,
    );
    expect(result.stderr).toContain('to create a cluster in us-east-1');
    expect(backendRecord().region).toBe('ap-northeast-2');
  }, 60_000);

  it('deletes the cluster and everything of it in ap-northeast-2', async () => {
    const result = await kopsless(['delete', 'cluster', NAME, '--yes'], env);

    expect(result.code, result.stderr).toBe(0);
    expect(await instanceZones('ap-northeast-2')).toEqual([]);
    expect((await kopsless(['get', 'clusters', '-o', 'json'], env)).stdout).not.toContain(NAME);
  }, 180_000);

  it('builds a manifest file (create -f) in the region of its subnets, then deletes it', async () => {
    const manifest = await kopsless(
      [
        'create',
        'cluster',
        '--name',
        'dublin.example.com',
        '--zones',
        'eu-west-1b',
        '--dns',
        'none',
        '--dry-run',
        '-o',
        'yaml',
      ],
      env,
    );
    const file = join(home, 'dublin.yaml');
    writeFileSync(file, manifest.stdout);

    const created = await kopsless(['create', '-f', file, '--yes'], env);
    const zones = await instanceZones('eu-west-1', 'dublin.example.com');
    const deleted = await kopsless(['delete', 'cluster', 'dublin.example.com', '--yes'], env);

    expect(created.code, created.stderr).toBe(0);
    expect(backendRecord().region).toBe('eu-west-1');
    expect(zones).toEqual(['eu-west-1b', 'eu-west-1b']);
    expect(deleted.code, deleted.stderr).toBe(0);
  }, 240_000);
});
