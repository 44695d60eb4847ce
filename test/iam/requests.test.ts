import { describe, expect, it } from 'vitest';
import { readTemplate } from '../support/template.js';
import { cloudFormationActions } from './cloudformation.js';
import { actingFor, actorRoles, evaluate, functionRoles } from './policies.js';
import { iamAction, launchTemplateVersionContext } from './requests.js';

const roles = functionRoles(readTemplate(), { stateBucket: 'kopsless-state-example' });
const role = (id: string) => roles.get(id as never)!;
const actors = actorRoles(readTemplate(), { stateBucket: 'kopsless-state-example' });
/** A function's actor role as the session it assumes for a.example.com. */
const session = (id: string) => actingFor(actors.get(id)!, 'a.example.com');
const clusterTags = {
  'aws:ResourceTag/KubernetesCluster': 'a.example.com',
  'iam:ResourceTag/KubernetesCluster': 'a.example.com',
};
/** What this deployment's resources carry besides the cluster tags: the owner tag. */
const ownedTags = {
  ...clusterTags,
  'aws:ResourceTag/kopsless.io/owner': 'kopsless',
  'iam:ResourceTag/kopsless.io/owner': 'kopsless',
};

describe('autoscaling:LaunchTemplateVersionSpecified from a request', () => {
  it.each([
    [{ LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '7' } }, 'true'],
    [{ LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '$Latest' } }, 'false'],
    [{ LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '$Default' } }, 'false'],
    [{ LaunchTemplate: { LaunchTemplateId: 'lt-1' } }, 'false'],
    [
      {
        MixedInstancesPolicy: {
          LaunchTemplate: {
            LaunchTemplateSpecification: { LaunchTemplateId: 'lt-1', Version: '2' },
          },
        },
      },
      'true',
    ],
  ])('is given for %j as %s', (input, value) => {
    expect(launchTemplateVersionContext(input)).toEqual({
      'autoscaling:LaunchTemplateVersionSpecified': value,
    });
  });

  it('is absent when the request names no launch template', () => {
    expect(launchTemplateVersionContext({ DesiredCapacity: 2 })).toEqual({});
  });
});

describe('SDK operations as IAM actions', () => {
  it('names the action S3 authorizes a listing as', async () => {
    expect(await iamAction({ service: 'S3', operation: 'ListObjectsV2' })).toBe('s3:ListBucket');
  });

  it("takes another service's operation as its action", async () => {
    expect(await iamAction({ service: 'Auto Scaling', operation: 'UpdateAutoScalingGroup' })).toBe(
      'autoscaling:UpdateAutoScalingGroup',
    );
  });

  it('refuses an operation iam-data does not know', async () => {
    await expect(iamAction({ service: 'EC2', operation: 'LaunchRocket' })).rejects.toThrow(
      'iam-data knows no action ec2:LaunchRocket',
    );
  });
});

describe("CloudFormation's calls for the cluster stack", () => {
  const vpc = { Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } } };
  const rule = {
    SshAccess0: { Type: 'AWS::EC2::SecurityGroupIngress', Properties: { CidrIp: '0.0.0.0/0' } },
  };

  it('creates every resource of a new stack', () => {
    expect(cloudFormationActions(undefined, JSON.stringify({ Resources: vpc }))).toContain(
      'ec2:CreateVpc',
    );
  });

  it('deletes a resource an update removes, and creates none', () => {
    const actions = cloudFormationActions(
      JSON.stringify({ Resources: { ...vpc, ...rule } }),
      JSON.stringify({ Resources: vpc }),
    );

    expect(actions).toEqual(['ec2:DescribeSecurityGroups', 'ec2:RevokeSecurityGroupIngress']);
  });

  it('refuses a resource type whose handler permissions it does not know', () => {
    expect(() =>
      cloudFormationActions(
        undefined,
        JSON.stringify({ Resources: { Q: { Type: 'AWS::SQS::Queue' } } }),
      ),
    ).toThrow('AWS::SQS::Queue');
  });
});

describe('function roles in template.yaml', () => {
  it("let the launch stage pass to instances only roles under /kopsless/ with this deployment's owner tag and its cluster's", async () => {
    const request = (resource: string, context: Record<string, string>) => ({
      action: 'iam:PassRole',
      resource: `arn:aws:iam::123456789012:role/${resource}`,
      context: { ...context, 'iam:PassedToService': 'ec2.amazonaws.com' },
    });

    const decisions = await Promise.all(
      [
        request('kopsless/kopsless-nodes-a', clusterTags),
        request('kopsless-nodes-a', ownedTags),
        request('kopsless/kopsless-nodes-a', ownedTags),
        request('kopsless/kopsless-nodes-b', {
          ...ownedTags,
          'iam:ResourceTag/KubernetesCluster': 'b.example.com',
        }),
      ].map(async (r) => (await evaluate(session('LaunchClusterActorRole'), r)).decision),
    );

    expect(decisions).toEqual([
      'ImplicitlyDenied',
      'ImplicitlyDenied',
      'Allowed',
      'ImplicitlyDenied',
    ]);
  });

  it("let the rolling update terminate only instances with this deployment's owner tag and its cluster's", async () => {
    const request = (context: Record<string, string>) => ({
      action: 'ec2:TerminateInstances',
      resource: 'arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0',
      context,
    });

    const decisions = await Promise.all(
      [
        request({}),
        request(clusterTags),
        request(ownedTags),
        request({ ...ownedTags, 'aws:ResourceTag/KubernetesCluster': 'b.example.com' }),
      ].map(async (r) => (await evaluate(session('RollingUpdateActorRole'), r)).decision),
    );

    expect(decisions).toEqual([
      'ImplicitlyDenied',
      'ImplicitlyDenied',
      'Allowed',
      'ImplicitlyDenied',
    ]);
  });

  it('let the launch stage point its groups only at a launch template version by number', async () => {
    const group = (
      action: string,
      version: string,
      tags: Record<string, string>,
    ): { action: string; resource: string; context: Record<string, string> } => ({
      action,
      resource:
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:11111111-2222-4333-8444-555555555555:autoScalingGroupName/kopsless-nodes.a.example.com-0123456789abcdef',
      context: {
        ...tags,
        ...launchTemplateVersionContext({
          LaunchTemplate: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: version },
        }),
      },
    });
    const requestTags = {
      'aws:RequestTag/KubernetesCluster': 'a.example.com',
      'aws:RequestTag/kopsless.io/owner': 'kopsless',
    };

    const decisions = await Promise.all(
      [
        group('autoscaling:CreateAutoScalingGroup', '3', requestTags),
        group('autoscaling:CreateAutoScalingGroup', '$Latest', requestTags),
        group('autoscaling:UpdateAutoScalingGroup', '4', ownedTags),
        group('autoscaling:UpdateAutoScalingGroup', '$Latest', ownedTags),
        group('autoscaling:UpdateAutoScalingGroup', '$Default', ownedTags),
      ].map(async (r) => (await evaluate(session('LaunchClusterActorRole'), r)).decision),
    );

    expect(decisions).toEqual([
      'Allowed',
      'ImplicitlyDenied',
      'Allowed',
      'ImplicitlyDenied',
      'ImplicitlyDenied',
    ]);
  });

  it("let the launch stage tag groups only for its cluster, never a group of another's", async () => {
    const tagging = (tags: Record<string, string>, requestCluster = 'a.example.com') => ({
      action: 'autoscaling:CreateOrUpdateTags',
      resource:
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:11111111-2222-4333-8444-555555555555:autoScalingGroupName/kopsless-handmade',
      context: {
        ...tags,
        'aws:RequestTag/KubernetesCluster': requestCluster,
        'aws:RequestTag/kopsless.io/owner': 'kopsless',
      },
    });
    const otherClusters = {
      'aws:ResourceTag/KubernetesCluster': 'b.example.com',
      'aws:ResourceTag/kopsless.io/owner': 'kopsless',
    };

    const decisions = await Promise.all(
      [
        // A new group's tags are authorized before the group has any (AWS), so an untagged
        // group cannot be told from a new one: allowed, and named in safety.md.
        tagging({}),
        tagging(ownedTags),
        tagging(otherClusters),
        tagging(ownedTags, 'b.example.com'),
      ].map(async (r) => (await evaluate(session('LaunchClusterActorRole'), r)).decision),
    );

    expect(decisions).toEqual(['Allowed', 'Allowed', 'ImplicitlyDenied', 'ImplicitlyDenied']);
  });

  it('give the ENI watcher no way to terminate instances', async () => {
    const request = {
      action: 'ec2:TerminateInstances',
      resource: 'arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0',
      context: ownedTags,
    };

    const decisions = [
      (await evaluate(role('WatchEniFunction'), request)).decision,
      (await evaluate(session('WatchEniActorRole'), request)).decision,
    ];

    expect(decisions).toEqual(['ImplicitlyDenied', 'ImplicitlyDenied']);
  });
});
