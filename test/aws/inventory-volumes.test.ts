import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DeleteVolumeCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { inventoryApi } from '../../src/aws/inventory.js';

// An etcd volume of a cluster made before volumes carried the owner tag: IAM lets kopsless
// delete only what carries it, so the inventory marks such a volume and never asks.
const ec2 = mockClient(EC2Client);
const asg = mockClient(AutoScalingClient);
const iam = mockClient(IAMClient);
const r53 = mockClient(Route53Client);
const config = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
};
const inventory = () =>
  inventoryApi({
    ec2: new EC2Client(config),
    autoscaling: new AutoScalingClient(config),
    iam: new IAMClient(config),
    route53: new Route53Client(config),
  });
const CLUSTER = 'c.example.com';
const clusterTag = { Key: 'KubernetesCluster', Value: CLUSTER };

beforeEach(() => {
  for (const m of [ec2, asg, iam, r53]) m.reset();
  ec2.onAnyCommand().resolves({});
  asg.onAnyCommand().resolves({});
  iam.onAnyCommand().rejects(Object.assign(new Error('none'), { name: 'NoSuchEntity' }));
});

describe('etcd volumes without the owner tag', () => {
  it('lists a volume without the owner tag as left for its owner, and one with it as not', async () => {
    ec2.on(DescribeVolumesCommand).resolves({
      Volumes: [
        { VolumeId: 'vol-old', State: 'available', Tags: [clusterTag] },
        {
          VolumeId: 'vol-new',
          State: 'available',
          Tags: [clusterTag, { Key: 'kopsless.io/owner', Value: 'kopsless' }],
        },
      ],
    });

    const volumes = (await inventory().list(CLUSTER)).filter((r) => r.type === 'volume');

    expect(volumes).toEqual([
      { type: 'volume', name: 'vol-old', id: 'vol-old', leftForOwner: true },
      { type: 'volume', name: 'vol-new', id: 'vol-new' },
    ]);
  });

  it('never asks to delete a volume left for its owner', async () => {
    const outcome = await inventory().deleteResource({
      type: 'volume',
      name: 'vol-old',
      id: 'vol-old',
      leftForOwner: true,
    });

    expect(outcome).toBe('blocked');
    expect(ec2.commandCalls(DeleteVolumeCommand)).toHaveLength(0);
  });
});
