import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  CreateLaunchTemplateCommand,
  DescribeLaunchTemplatesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import {
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudFormationStackApi } from '../../src/aws/cloudformation.js';
import { inventoryApi } from '../../src/aws/inventory.js';
import { route53Api } from '../../src/aws/route53.js';
import type { CliContext } from '../../src/cli/context.js';
import { runDelete } from '../../src/cli/delete.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { groupName, stackName } from '../../src/planning/names.js';
import { discover } from '../../src/stages/delete-cluster.js';
import { readFixture } from '../helpers.js';
import { createCluster, startTestEnvironment, type TestEnvironment } from '../support/cluster.js';
import { TEST_ZONE } from '../support/moto.js';

// Clusters whose names collided under the old naming (dots flattened to dashes, groups named
// `<ig>.<cluster>`) side by side on one local backend: each keeps its own resources.
let env: TestEnvironment;

const seed = readFixture('seed.yaml');
const named = (cluster: string, text = seed) => text.replaceAll('seed.example.com', cluster);
/** The seed cluster with its group `nodes-us-east-1a` renamed. */
const withNodeGroup = (cluster: string, group: string) =>
  named(cluster)
    .replace('  name: nodes-us-east-1a\n', `  name: ${group}\n`)
    .replace('kops.k8s.io/instancegroup: nodes-us-east-1a', `kops.k8s.io/instancegroup: ${group}`);

const stacks = () => cloudFormationStackApi(new CloudFormationClient({}));
const inventory = () =>
  inventoryApi({
    ec2: new EC2Client({}),
    autoscaling: new AutoScalingClient({}),
    iam: new IAMClient({}),
    route53: new Route53Client({}),
  });
const everything = async (cluster: string) =>
  (
    await discover(cluster, {
      store: env.store,
      stacks: stacks(),
      dns: route53Api(new Route53Client({})),
      inventory: inventory(),
    })
  )
    .map((r) => `${r.type} ${r.id}`)
    .sort();

/** The account's zones, by name. */
async function zoneNames(): Promise<string[]> {
  const out = await new Route53Client({}).send(new ListHostedZonesByNameCommand({}));
  return (out.HostedZones ?? []).map((z) => z.Name ?? '');
}

/** The names of the cluster's API records in the account's zone. */
async function apiRecordNames(cluster: string): Promise<string[]> {
  const zones = await new Route53Client({}).send(new ListHostedZonesByNameCommand({}));
  const zoneId = zones.HostedZones?.find((z) => z.Name === `${TEST_ZONE}.`)?.Id;
  const records = await new Route53Client({}).send(
    new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }),
  );
  return (records.ResourceRecordSets ?? [])
    .map((r) => r.Name ?? '')
    .filter((n) => n === `api.${cluster}.` || n === `api.internal.${cluster}.`)
    .sort();
}

async function group(name: string) {
  const out = await new AutoScalingClient({}).send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }),
  );
  return out.AutoScalingGroups?.[0];
}

beforeAll(async () => {
  env = await startTestEnvironment();
}, 60_000);
afterAll(async () => env?.stop());

describe('clusters whose stack names collided (x.y-z / x-y.z)', () => {
  const first = 'x.y-z.example.com';
  const second = 'x-y.z.example.com';

  beforeAll(async () => {
    await createCluster(env, named(first), first);
    await createCluster(env, named(second), second);
  }, 240_000);

  it('get a stack each, tagged for its own cluster', async () => {
    const [a, b] = await Promise.all([
      stacks().describe(stackName(first)),
      stacks().describe(stackName(second)),
    ]);

    expect(stackName(first)).not.toBe(stackName(second));
    expect(a?.tags.KubernetesCluster).toBe(first);
    expect(b?.tags.KubernetesCluster).toBe(second);
  });

  it('refuses to delete one whose state is gone, though its resources carry its tag, and touches nothing', async () => {
    const keys = await env.objects.list(`${second}/`);
    const saved = await Promise.all(keys.map(async (k) => [k, (await env.objects.get(k))!.body]));
    const before = await everything(second);
    await env.store.deleteCluster(second);

    const result = await runStateMachine('delete-cluster', {
      input: { cluster: second },
      waitMs: 20,
    });
    for (const [key, body] of saved) await env.objects.put(key!, body!);

    expect(result.error).toMatchObject({
      name: 'ClusterNotFoundError',
      cause: expect.stringContaining('kopsless deletes only clusters it holds'),
    });
    expect(await everything(second)).toEqual(before);
  }, 120_000);

  it('deleting one leaves the other intact and removes its hosted zone', async () => {
    const before = await everything(first);

    const result = await runStateMachine('delete-cluster', {
      input: { cluster: second },
      waitMs: 20,
    });

    expect(result.error).toBeUndefined();
    expect(await everything(second)).toEqual([]);
    expect(await apiRecordNames(second)).toEqual([]);
    expect(await everything(first)).toEqual(before);
    expect(await apiRecordNames(first)).toEqual([`api.internal.${first}.`, `api.${first}.`]);
    expect(await zoneNames()).toEqual([`${TEST_ZONE}.`]);
    expect((await stacks().describe(stackName(first)))?.status).toBe('CREATE_COMPLETE');
  }, 180_000);

  it('a delete of a never-created name that collided with it says the cluster is not found and touches nothing', async () => {
    const never = 'x-y-z.example.com';
    const before = await everything(first);
    const err: string[] = [];
    const ctx = {
      store: env.store,
      stacks: stacks(),
      dns: route53Api(new Route53Client({})),
      stateBucket: env.backend.bucket,
      run: (name: never, options: never) => runStateMachine(name, options),
    } as unknown as CliContext;

    const code = await runDelete(never, { yes: true }, ctx, {
      out: () => undefined,
      err: (line) => err.push(line),
    });
    const execution = await runStateMachine('delete-cluster', {
      input: { cluster: never },
      waitMs: 20,
    });

    expect(code).toBe(1);
    expect(err.join('\n')).toContain(`cluster "${never}" not found`);
    expect(execution.error).toMatchObject({
      name: 'ClusterNotFoundError',
      cause: expect.stringContaining(`cluster "${never}" not found`),
    });
    expect(await env.objects.list(`${never}/`)).toEqual([]);
    expect(await everything(first)).toEqual(before);
  }, 60_000);
});

describe('instance groups whose names collided (nodes-us-east-1a.q of p / nodes-us-east-1a of q.p)', () => {
  const outer = 'p.example.com';
  const inner = 'q.p.example.com';

  beforeAll(async () => {
    await createCluster(env, withNodeGroup(outer, 'nodes-us-east-1a.q'), outer);
    await createCluster(env, withNodeGroup(inner, 'nodes-us-east-1a'), inner);
  }, 240_000);

  it('get an Auto Scaling group and a launch template each, tagged for their own cluster only', async () => {
    const a = await group(groupName('nodes-us-east-1a.q', outer));
    const b = await group(groupName('nodes-us-east-1a', inner));
    const templates = await new EC2Client({}).send(
      new DescribeLaunchTemplatesCommand({
        LaunchTemplateIds: [
          a!.LaunchTemplate!.LaunchTemplateId!,
          b!.LaunchTemplate!.LaunchTemplateId!,
        ],
      }),
    );
    const owner = (tags: Array<{ Key?: string; Value?: string }> | undefined) =>
      tags?.filter((t) => t.Key === 'KubernetesCluster').map((t) => t.Value);

    expect(a?.AutoScalingGroupName).not.toBe(b?.AutoScalingGroupName);
    expect(owner(a?.Tags)).toEqual([outer]);
    expect(owner(b?.Tags)).toEqual([inner]);
    expect(a?.Tags?.find((t) => t.Key === 'Name')?.Value).toBe('nodes-us-east-1a.q.p.example.com');
    expect(b?.Tags?.find((t) => t.Key === 'Name')?.Value).toBe('nodes-us-east-1a.q.p.example.com');
    expect(new Set(templates.LaunchTemplates?.map((t) => t.LaunchTemplateId))).toHaveProperty(
      'size',
      2,
    );
    expect(templates.LaunchTemplates?.map((t) => owner(t.Tags)).sort()).toEqual(
      [[outer], [inner]].sort(),
    );
  });

  it('deleting one leaves the other group running', async () => {
    const name = groupName('nodes-us-east-1a.q', outer);
    const instancesBefore = (await group(name))?.Instances?.map((i) => i.InstanceId).sort();

    const result = await runStateMachine('delete-cluster', {
      input: { cluster: inner },
      waitMs: 20,
    });

    expect(result.error).toBeUndefined();
    expect(await everything(inner)).toEqual([]);
    expect((await group(name))?.Instances?.map((i) => i.InstanceId).sort()).toEqual(
      instancesBefore,
    );
  }, 180_000);
});

describe('create refuses what another cluster owns', () => {
  it('names the owner of a launch template under its name and leaves that template alone', async () => {
    const cluster = 'owned.example.com';
    const name = groupName('nodes-us-east-1a', cluster);
    const ec2 = new EC2Client({});
    await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: name,
        LaunchTemplateData: { InstanceType: 't3.micro' },
        TagSpecifications: [
          {
            ResourceType: 'launch-template',
            Tags: [{ Key: 'KubernetesCluster', Value: 'other.example.com' }],
          },
        ],
      }),
    );

    const result = await runStateMachine('create-cluster', {
      input: { manifest: named(cluster) },
      waitMs: 20,
    });

    expect(result.error).toMatchObject({
      name: 'ResourceOwnedError',
      cause: expect.stringContaining(
        `launch template ${name} is owned by cluster other.example.com`,
      ),
    });
    const [template] =
      (await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: [name] })))
        .LaunchTemplates ?? [];
    expect(template?.LatestVersionNumber).toBe(1);
    expect(await group(name)).toBeUndefined();
  }, 120_000);
});
