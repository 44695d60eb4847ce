import { AutoScalingClient, DetachInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { autoScalingApi, DETACH_LIMIT } from '../../src/aws/autoscaling.js';

const asg = mockClient(AutoScalingClient);
const api = () =>
  autoScalingApi(
    new AutoScalingClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  );

beforeEach(() => asg.reset());

describe('DetachInstances (at most 20 instances a call)', () => {
  it('detaches a surge of 45 instances in calls of at most 20, none decrementing the desired capacity', async () => {
    asg.on(DetachInstancesCommand).resolves({});
    const ids = Array.from({ length: 45 }, (_, i) => `i-${String(i).padStart(17, '0')}`);

    await api().detachInstances('g', ids);

    const calls = asg.commandCalls(DetachInstancesCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.InstanceIds!.length)).toEqual([DETACH_LIMIT, DETACH_LIMIT, 5]);
    expect(calls.flatMap((c) => c.InstanceIds)).toEqual(ids);
    expect(
      calls.every(
        (c) => c.ShouldDecrementDesiredCapacity === false && c.AutoScalingGroupName === 'g',
      ),
    ).toBe(true);
  });

  it('makes no call for no instances', async () => {
    await api().detachInstances('g', []);

    expect(asg.commandCalls(DetachInstancesCommand)).toHaveLength(0);
  });
});
