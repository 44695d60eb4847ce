import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../support/moto.js';

/**
 * src/local/moto/moto_server.py makes target health honest: moto reports every registered
 * instance healthy, a terminated one included, and leaves a member an Auto Scaling group
 * terminated registered.
 */
let backend: TestBackend;
const ec2 = new EC2Client({});
const elb = new ElasticLoadBalancingV2Client({});
const autoscaling = new AutoScalingClient({});
let vpcId: string;
let subnetId: string;

async function targetGroup(name: string): Promise<string> {
  const created = await elb.send(
    new CreateTargetGroupCommand({ Name: name, Protocol: 'TCP', Port: 443, VpcId: vpcId }),
  );
  return created.TargetGroups![0]!.TargetGroupArn!;
}

async function health(arn: string): Promise<Record<string, string | undefined>> {
  const answer = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
  return Object.fromEntries(
    (answer.TargetHealthDescriptions ?? []).map((d) => [
      d.Target!.Id!,
      `${d.TargetHealth?.State}${d.TargetHealth?.Reason ? ` ${d.TargetHealth.Reason}` : ''}`,
    ]),
  );
}

async function groupMembers(name: string): Promise<string[]> {
  const answer = await autoscaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }),
  );
  return answer.AutoScalingGroups![0]!.Instances!.map((i) => i.InstanceId!);
}

/** An Auto Scaling group of `size` instances attached to the target group; its members. */
async function groupWith(name: string, targetGroupArn: string, size: number): Promise<string[]> {
  await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      LaunchTemplateData: { ImageId: 'ami-12c6146b', InstanceType: 't3.medium' },
    }),
  );
  await autoscaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      LaunchTemplate: { LaunchTemplateName: name, Version: '$Latest' },
      MinSize: size,
      MaxSize: size,
      DesiredCapacity: size,
      VPCZoneIdentifier: subnetId,
      TargetGroupARNs: [targetGroupArn],
    }),
  );
  return groupMembers(name);
}

beforeAll(async () => {
  backend = await startTestBackend('kopsless-target-health-test');
  vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
  subnetId = (
    await ec2.send(
      new CreateSubnetCommand({
        VpcId: vpcId,
        CidrBlock: '10.0.1.0/24',
        AvailabilityZone: 'us-east-1a',
      }),
    )
  ).Subnet!.SubnetId!;
}, 60_000);

afterAll(() => backend?.stop());

describe('target health in the local backend', () => {
  it('reports a registered target that is terminated as not healthy', async () => {
    const arn = await targetGroup('scaled');
    const members = await groupWith('scaled', arn, 2);

    // Scaling in terminates a member without deregistering it in moto: it stays a registered target.
    await autoscaling.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: 'scaled',
        MinSize: 1,
        MaxSize: 1,
        DesiredCapacity: 1,
      }),
    );
    const left = await groupMembers('scaled');
    const gone = members.filter((id) => !left.includes(id));
    const states = await health(arn);

    expect(gone).toHaveLength(1);
    expect(states[left[0]!]).toBe('healthy');
    expect(states[gone[0]!] ?? 'not registered').not.toBe('healthy');
  }, 60_000);

  it('deregisters the member an Auto Scaling group terminates, and registers its replacement', async () => {
    const arn = await targetGroup('group');
    await groupWith('target-health', arn, 1);
    const members = () => groupMembers('target-health');
    const [first] = await members();

    await autoscaling.send(
      new TerminateInstanceInAutoScalingGroupCommand({
        InstanceId: first!,
        ShouldDecrementDesiredCapacity: false,
      }),
    );
    const [replacement] = await members();
    const states = await health(arn);

    expect(replacement).not.toBe(first);
    expect(states[first!]).toBeUndefined();
    expect(states[replacement!]).toBe('healthy');
  }, 60_000);
});
