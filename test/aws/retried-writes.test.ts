import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DetachInstancesCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateLaunchTemplateCommand,
  DeleteRouteTableCommand,
  DescribeLaunchTemplatesCommand,
  DescribeRouteTablesCommand,
  DisassociateRouteTableCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { autoScalingApi } from '../../src/aws/autoscaling.js';
import { cloudFormationStackApi } from '../../src/aws/cloudformation.js';
import { ec2Api } from '../../src/aws/ec2.js';
import { inventoryApi } from '../../src/aws/inventory.js';
import { awsError } from '../handlers/support.js';

// A write whose answer was lost (a 5xx on the way back) is retried, by the SDK or the state
// machine, and meets its own result: each adapter takes that as done, and only that.
const ec2 = mockClient(EC2Client);
const asg = mockClient(AutoScalingClient);
const cfn = mockClient(CloudFormationClient);
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
const clusterTag = { Key: 'KubernetesCluster', Value: 'c.example.com' };

beforeEach(() => {
  for (const m of [ec2, asg, cfn, iam, r53]) m.reset();
});

describe('retried creates and updates', () => {
  it('takes an existing launch template with our tags as the one the lost create made', async () => {
    ec2
      .on(CreateLaunchTemplateCommand)
      .rejects(awsError('InvalidLaunchTemplateName.AlreadyExistsException', 400));
    ec2.on(DescribeLaunchTemplatesCommand).resolves({
      LaunchTemplates: [{ LaunchTemplateId: 'lt-1', LatestVersionNumber: 1, Tags: [clusterTag] }],
    });

    const created = await ec2Api(new EC2Client(config)).createLaunchTemplate(
      'nodes.c.example.com',
      {},
      [clusterTag],
      'token',
    );

    expect(created).toEqual({ id: 'lt-1', version: 1 });
  });

  it("still refuses a launch template of that name that is another cluster's", async () => {
    ec2
      .on(CreateLaunchTemplateCommand)
      .rejects(awsError('InvalidLaunchTemplateName.AlreadyExistsException', 400));
    ec2.on(DescribeLaunchTemplatesCommand).resolves({
      LaunchTemplates: [
        {
          LaunchTemplateId: 'lt-1',
          LatestVersionNumber: 1,
          Tags: [{ Key: 'KubernetesCluster', Value: 'other.example.com' }],
        },
      ],
    });

    await expect(
      ec2Api(new EC2Client(config)).createLaunchTemplate(
        'nodes.c.example.com',
        {},
        [clusterTag],
        'token',
      ),
    ).rejects.toMatchObject({ name: 'AwsRequestError' });
  });

  it('reports a stack update that is already running as updating', async () => {
    cfn
      .on(UpdateStackCommand)
      .rejects(
        awsError(
          'ValidationError',
          400,
          'Stack:arn:aws:cloudformation:us-east-1:1:stack/s/1 is in UPDATE_IN_PROGRESS state and can not be updated.',
        ),
      );

    expect(
      await cloudFormationStackApi(new CloudFormationClient(config)).update({
        stackName: 's',
        templateBody: '{}',
        tags: [],
      }),
    ).toBe('updating');
  });
});

describe('retried detach and terminate', () => {
  it('takes a refused detach as done when the instances are no longer in the group', async () => {
    asg
      .on(DetachInstancesCommand)
      .rejects(
        awsError('ValidationError', 400, 'The instance i-1 is not part of Auto Scaling group g.'),
      );
    asg.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: 'g',
          Instances: [{ InstanceId: 'i-2', LifecycleState: 'InService' }],
        } as never,
      ],
    });

    await expect(
      autoScalingApi(new AutoScalingClient(config)).detachInstances('g', ['i-1']),
    ).resolves.toBeUndefined();
  });

  it('still fails a refused detach of an instance that is in the group', async () => {
    asg.on(DetachInstancesCommand).rejects(awsError('ValidationError', 400, 'something else'));
    asg.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: 'g',
          Instances: [{ InstanceId: 'i-1', LifecycleState: 'InService' }],
        } as never,
      ],
    });

    await expect(
      autoScalingApi(new AutoScalingClient(config)).detachInstances('g', ['i-1']),
    ).rejects.toMatchObject({ name: 'AwsRequestError' });
  });

  it('takes "Instance Id not found" on a retried terminate as done', async () => {
    asg
      .on(TerminateInstanceInAutoScalingGroupCommand)
      .rejects(
        awsError(
          'ValidationError',
          400,
          'Instance Id not found - No managed instance found for instance ID: i-1',
        ),
      );

    await expect(
      autoScalingApi(new AutoScalingClient(config)).terminateInstance('i-1'),
    ).resolves.toBeUndefined();
  });
});

describe('retried steps of a delete', () => {
  it('deletes the route table when its disassociation was done by the lost attempt', async () => {
    ec2.on(DescribeRouteTablesCommand).resolves({
      RouteTables: [
        {
          RouteTableId: 'rtb-1',
          Associations: [{ RouteTableAssociationId: 'rtbassoc-1', Main: false }],
        },
      ],
    });
    ec2.on(DisassociateRouteTableCommand).rejects(awsError('InvalidAssociationID.NotFound', 400));
    ec2.on(DeleteRouteTableCommand).resolves({});

    const outcome = await inventory().deleteResource({
      type: 'route-table',
      name: 'rtb',
      id: 'rtb-1',
    });

    expect(outcome).toBe('deleted');
    expect(ec2.commandCalls(DeleteRouteTableCommand)).toHaveLength(1);
  });

  it('deletes the role when one of its policies was deleted by the lost attempt', async () => {
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: ['p1', 'p2'], IsTruncated: false });
    iam.on(DeleteRolePolicyCommand, { PolicyName: 'p1' }).rejects(awsError('NoSuchEntity', 404));
    iam.on(DeleteRolePolicyCommand, { PolicyName: 'p2' }).resolves({});
    iam.on(DeleteRoleCommand).resolves({});

    await inventory().deleteResource({
      type: 'iam-role',
      name: 'nodes.c.example.com',
      id: 'AROA1',
    });

    expect(iam.commandCalls(DeleteRolePolicyCommand)).toHaveLength(2);
    expect(iam.commandCalls(DeleteRoleCommand)).toHaveLength(1);
  });

  it('deletes a record whose values changed since they were read, and never the zone', async () => {
    const placeholder = {
      Name: 'api.c.example.com.',
      Type: 'A' as const,
      TTL: 60,
      ResourceRecords: [{ Value: '203.0.113.123' }],
    };
    const pointed = { ...placeholder, ResourceRecords: [{ Value: '10.0.0.5' }] };
    const ns = { Name: 'example.com.', Type: 'NS' as const, ResourceRecords: [{ Value: 'ns' }] };
    r53
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce({ ResourceRecordSets: [ns, placeholder], IsTruncated: false, MaxItems: 100 })
      .resolves({ ResourceRecordSets: [ns, pointed], IsTruncated: false, MaxItems: 100 });
    r53
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(
        awsError(
          'InvalidChangeBatch',
          400,
          "Tried to delete resource record set [name='api.c.example.com.', type='A'] but the values provided do not match the current values",
        ),
      )
      .resolves({});

    const outcome = await inventory().deleteResource({
      type: 'dns-record',
      name: 'api.c.example.com.',
      id: 'Z1/A',
    });

    expect(outcome).toBe('deleted');
    const sent = r53.commandCalls(ChangeResourceRecordSetsCommand).map((c) => c.args[0].input);
    expect(sent).toHaveLength(2);
    expect(sent[1]?.HostedZoneId).toBe('Z1');
    expect(sent[1]?.ChangeBatch?.Changes).toEqual([
      { Action: 'DELETE', ResourceRecordSet: pointed },
    ]);
  });
});
