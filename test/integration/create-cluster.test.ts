import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeLaunchTemplateVersionsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localHandler, localSettingsFromEnv } from '../../src/local/sfn/handlers.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { groupName, iamRoleName, stackName } from '../../src/planning/names.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { s3ObjectStore } from '../../src/state/object-store.js';
import { editManifest, ROOT, readFixture } from '../helpers.js';
import { startTestBackend, TEST_ZONE, type TestBackend } from '../support/moto.js';

// The create state machine, run with its real handlers against moto: then moto is asked what exists.
let backend: TestBackend;
let store: ClusterStore;
const clients = () => ({
  ec2: new EC2Client({}),
  asg: new AutoScalingClient({}),
  cfn: new CloudFormationClient({}),
  r53: new Route53Client({}),
  s3: new S3Client({}),
});

beforeAll(async () => {
  backend = await startTestBackend();
  store = new ClusterStore(s3ObjectStore(new S3Client({}), backend.bucket));
}, 60_000);
afterAll(() => backend?.stop());

const seed = readFixture('seed.yaml');
const named = (name: string, text = seed) => text.replaceAll('seed.example.com', name);

async function stateKeys(cluster: string): Promise<string[]> {
  const out = await clients().s3.send(
    new ListObjectsV2Command({ Bucket: backend.bucket, Prefix: `${cluster}/` }),
  );
  return (out.Contents ?? []).map((o) => o.Key!.slice(cluster.length + 1)).sort();
}

async function stackExists(cluster: string): Promise<boolean> {
  try {
    await clients().cfn.send(new DescribeStacksCommand({ StackName: stackName(cluster) }));
    return true;
  } catch {
    return false;
  }
}

describe('create-cluster state machine on the local backend', () => {
  const cluster = 'seed.example.com';
  let result: Awaited<ReturnType<typeof runStateMachine>>;

  beforeAll(async () => {
    // The sample execution input in events/ is what a user pastes into the Step Functions console.
    const input = JSON.parse(
      readFileSync(join(ROOT, 'events', 'create-cluster.execution-input.json'), 'utf8'),
    );
    result = await runStateMachine('create-cluster', { input, waitMs: 50 });
  }, 120_000);

  it('succeeds', () => {
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
  });

  it('creates the VPC and one subnet per manifest subnet, tagged for the cluster', async () => {
    const { ec2 } = clients();
    const vpcs = await ec2.send(
      new DescribeVpcsCommand({ Filters: [{ Name: 'tag:KubernetesCluster', Values: [cluster] }] }),
    );
    const subnets = await ec2.send(
      new DescribeSubnetsCommand({
        Filters: [{ Name: `tag:kubernetes.io/cluster/${cluster}`, Values: ['owned'] }],
      }),
    );

    expect(vpcs.Vpcs?.map((v) => v.CidrBlock)).toEqual(['172.30.0.0/16']);
    expect(subnets.Subnets?.map((s) => [s.CidrBlock, s.AvailabilityZone]).sort()).toEqual([
      ['172.30.0.0/18', 'us-east-1a'],
      ['172.30.64.0/18', 'us-east-1b'],
    ]);
  });

  it('runs an Auto Scaling group per instance group with its instances, cluster tags and spec hash', async () => {
    const groups = await clients().asg.send(new DescribeAutoScalingGroupsCommand({}));
    const ours = (groups.AutoScalingGroups ?? []).filter((g) =>
      g.Tags?.some((t) => t.Key === 'KubernetesCluster' && t.Value === cluster),
    );

    expect(
      ours
        .map((g) => [
          g.AutoScalingGroupName,
          g.Tags?.find((t) => t.Key === 'Name')?.Value,
          g.Instances?.length,
        ])
        .sort(),
    ).toEqual(
      [
        [
          groupName('control-plane-us-east-1a', cluster),
          'control-plane-us-east-1a.seed.example.com',
          1,
        ],
        [groupName('nodes-us-east-1a', cluster), 'nodes-us-east-1a.seed.example.com', 1],
        [groupName('nodes-us-east-1b', cluster), 'nodes-us-east-1b.seed.example.com', 1],
      ].sort(),
    );
    for (const g of ours) {
      const tags = Object.fromEntries((g.Tags ?? []).map((t) => [t.Key, t.Value]));
      expect(tags[`kubernetes.io/cluster/${cluster}`]).toBe('owned');
      expect(tags['kopsless.io/spec-hash']).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it('launches instances from a template whose user-data sets the VPC CNI maxPods', async () => {
    const versions = await clients().ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateName: groupName('nodes-us-east-1a', cluster),
        Versions: ['$Latest'],
      }),
    );
    const userData = Buffer.from(
      versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.UserData ?? '',
      'base64',
    ).toString('utf8');

    expect(versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.InstanceType).toBe(
      't3.medium',
    );
    expect(userData).toMatch(/^maxPods: 17$/m);
    expect(userData).toContain('kubeadm join');
  });

  it("points the API records in the account's own zone at the control plane, not the placeholder", async () => {
    const { r53 } = clients();
    const zones = await r53.send(new ListHostedZonesByNameCommand({}));
    expect(zones.HostedZones?.map((z) => z.Name)).toEqual([`${TEST_ZONE}.`]);
    const zoneId = zones.HostedZones?.[0]?.Id;
    const records = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
    const a = (name: string) =>
      (records.ResourceRecordSets ?? [])
        .filter((r) => r.Type === 'A' && r.Name === name)
        .flatMap((r) => r.ResourceRecords?.map((v) => v.Value));

    expect(a(`api.${cluster}.`)).toHaveLength(1);
    expect(a(`api.${cluster}.`)).not.toContain('203.0.113.123');
    expect(a(`api.internal.${cluster}.`)).toEqual(a(`api.${cluster}.`));
  });

  it('writes the state store and releases the lock', async () => {
    expect(await stateKeys(cluster)).toEqual([
      'bootstrap-token-issued',
      'cluster-completed.spec',
      'config',
      'instancegroup/control-plane-us-east-1a',
      'instancegroup/nodes-us-east-1a',
      'instancegroup/nodes-us-east-1b',
      'kops-version.txt',
      'secrets/bootstrap-token',
      'status.json',
    ]);
    expect(await store.readStatus(cluster)).toMatchObject({
      phase: 'Ready',
      lastExecution: result.executionArn,
      lastError: null,
    });
  });

  it('is idempotent: running the launch steps again creates and changes nothing', async () => {
    const handler = await localHandler('LaunchClusterFunction', localSettingsFromEnv(process.env));
    const context = {} as never;

    const stackAgain = (await handler(
      { action: 'ensureStack', cluster, owner: result.executionArn },
      context,
    )) as { action: string };
    const groupsAgain = (await handler(
      { action: 'ensureGroups', cluster, owner: result.executionArn },
      context,
    )) as { groups: Array<{ created: boolean; changed: boolean; launchTemplateVersion: number }> };

    expect(stackAgain.action).toBe('unchanged');
    expect(groupsAgain.groups.map((g) => [g.created, g.changed, g.launchTemplateVersion])).toEqual([
      [false, false, 1],
      [false, false, 1],
      [false, false, 1],
    ]);
  }, 60_000);

  it('refuses a second create of the same cluster and leaves its status alone', async () => {
    const again = await runStateMachine('create-cluster', {
      input: { manifest: editManifest(seed, (c) => (c.spec.kubernetesVersion = 'v1.33.0')) },
      waitMs: 50,
    });

    expect(again.status).toBe('FAILED');
    expect(again.error?.name).toBe('ClusterExistsError');
    expect(await store.readStatus(cluster)).toMatchObject({ phase: 'Ready' });
    expect(await store.readLock(cluster)).toBeUndefined();
  }, 60_000);
});

describe('create-cluster refusals change nothing', () => {
  it('refuses while another execution holds the lock, naming it', async () => {
    const cluster = 'locked.example.com';
    await store.acquireLock(
      cluster,
      'arn:aws:states:us-east-1:123456789012:execution:other:run-1',
      'update',
      600,
    );

    const result = await runStateMachine('create-cluster', {
      input: { manifest: named(cluster) },
      waitMs: 50,
    });

    expect(result.error?.name).toBe('ClusterLockedError');
    expect(result.error?.cause).toContain('execution:other:run-1');
    expect(await stackExists(cluster)).toBe(false);
    expect(await store.readLock(cluster)).toMatchObject({
      owner: 'arn:aws:states:us-east-1:123456789012:execution:other:run-1',
    });
  }, 60_000);

  it('rejects an unknown instance type before writing anything', async () => {
    const cluster = 'badtype.example.com';
    const manifest = named(cluster).replace(
      'machineType: t3.medium\n  maxSize: 1\n  minSize: 1\n  nodeLabels:\n    kops.k8s.io/instancegroup: nodes-us-east-1a',
      'machineType: t9.huge\n  maxSize: 1\n  minSize: 1\n  nodeLabels:\n    kops.k8s.io/instancegroup: nodes-us-east-1a',
    );

    const result = await runStateMachine('create-cluster', { input: { manifest }, waitMs: 50 });

    expect(result.error?.name).toBe('SpecInvalidError');
    expect(result.error?.cause).toContain(
      'instanceGroups[nodes-us-east-1a].spec.machineType: Invalid value: "t9.huge"',
    );
    expect(await stateKeys(cluster)).toEqual([]);
    expect(await stackExists(cluster)).toBe(false);
  }, 60_000);

  it('rejects an invalid manifest with field paths', async () => {
    const result = await runStateMachine('create-cluster', {
      input: {
        manifest: editManifest(
          named('invalid.example.com'),
          (c) => delete c.spec.kubernetesVersion,
        ),
      },
      waitMs: 50,
    });

    expect(result.error).toMatchObject({
      name: 'SpecInvalidError',
      cause: 'spec.kubernetesVersion: Required value',
    });
    expect(await stateKeys('invalid.example.com')).toEqual([]);
  }, 60_000);
});

describe('create-cluster failures are compensated', () => {
  it('records a failed stack in status.json, releases the lock and leaves only tagged resources', async () => {
    const { CreateRoleCommand, IAMClient } = await import('@aws-sdk/client-iam');
    const cluster = 'clash.example.com';
    // Somebody else's role holds the name the stack needs: CloudFormation fails the stack.
    await new IAMClient({}).send(
      new CreateRoleCommand({
        RoleName: iamRoleName('nodes', cluster),
        AssumeRolePolicyDocument: '{"Version":"2012-10-17","Statement":[]}',
      }),
    );

    const result = await runStateMachine('create-cluster', {
      input: { manifest: named(cluster) },
      waitMs: 50,
    });

    expect(result.status).toBe('FAILED');
    // AWS fails the stack (StackFailedError); moto refuses CreateStack itself (AwsRequestError).
    expect(['StackFailedError', 'AwsRequestError']).toContain(result.error?.name);
    expect(result.error?.cause).toContain(iamRoleName('nodes', cluster));
    const status = await store.readStatus(cluster);
    expect(status).toMatchObject({
      phase: 'Failed',
      lastExecution: result.executionArn,
      lastError: { error: result.error?.name },
    });
    expect(await store.readLock(cluster)).toBeUndefined();
    const groups = await clients().asg.send(new DescribeAutoScalingGroupsCommand({}));
    expect(
      (groups.AutoScalingGroups ?? []).filter((g) =>
        g.Tags?.some((t) => t.Key === 'KubernetesCluster' && t.Value === cluster),
      ),
    ).toEqual([]);
  }, 60_000);
});
