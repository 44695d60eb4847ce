import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeTagsCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../support/moto.js';

/**
 * src/local/moto/moto_server.py reads an EC2 resource's own tags directly instead of through
 * DescribeTags's walk over every tag of every resource: the answers must stay what moto gave.
 */
let backend: TestBackend;
let ec2: EC2Client;
let tagged: string[];

beforeAll(async () => {
  backend = await startTestBackend('kopsless-tags-test');
  ec2 = new EC2Client({});
  const run = async (group: string) =>
    (
      await ec2.send(
        new RunInstancesCommand({
          ImageId: 'ami-12c6146b',
          MinCount: 2,
          MaxCount: 2,
          TagSpecifications: [
            {
              ResourceType: 'instance',
              Tags: [
                { Key: 'KubernetesCluster', Value: 'a.example.com' },
                { Key: 'group', Value: group },
              ],
            },
          ],
        }),
      )
    ).Instances!.map((i) => i.InstanceId!);
  tagged = [...(await run('nodes')), ...(await run('masters'))];
  await ec2.send(
    new CreateTagsCommand({ Resources: [tagged[0]!], Tags: [{ Key: 'spec-hash', Value: 'abc' }] }),
  );
  await ec2.send(new DeleteTagsCommand({ Resources: [tagged[1]!], Tags: [{ Key: 'group' }] }));
}, 60_000);

afterAll(() => {
  ec2?.destroy();
  backend?.stop();
});

const tagsOf = (instances: { InstanceId?: string; Tags?: { Key?: string; Value?: string }[] }[]) =>
  Object.fromEntries(
    instances.map((i) => [
      i.InstanceId,
      Object.fromEntries((i.Tags ?? []).map((t) => [t.Key, t.Value])),
    ]),
  );

describe('the local backend answers tag lookups as moto does', () => {
  it('filters instances on a tag value, with tags added and removed after launch', async () => {
    const out = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag:group', Values: ['nodes'] }] }),
    );

    const found = tagsOf(out.Reservations!.flatMap((r) => r.Instances ?? []));

    expect(found).toEqual({
      [tagged[0]!]: { KubernetesCluster: 'a.example.com', group: 'nodes', 'spec-hash': 'abc' },
    });
  });

  it('filters on a tag key and a wildcard value', async () => {
    const out = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag-key', Values: ['group'] },
          { Name: 'tag:group', Values: ['mast*'] },
        ],
      }),
    );

    const ids = out.Reservations!.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId);

    expect(ids.sort()).toEqual(tagged.slice(2).sort());
  });

  it('lists one resource through DescribeTags in the order the tags were set', async () => {
    const out = await ec2.send(
      new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [tagged[0]!] }] }),
    );

    expect(out.Tags!.map((t) => [t.Key, t.Value, t.ResourceType])).toEqual([
      ['KubernetesCluster', 'a.example.com', 'instance'],
      ['group', 'nodes', 'instance'],
      ['spec-hash', 'abc', 'instance'],
    ]);
  });
});
