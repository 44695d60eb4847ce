/**
 * The cluster stack is created, updated and deleted without a CloudFormation service role, so
 * CloudFormation makes its resource calls with the calling function's credentials. These calls
 * are not SDK calls of the handler and cannot be recorded; they are derived from the stack
 * template instead: per resource type, the actions its resource handler calls (the handler
 * permissions of the CloudFormation registry schemas, the provisioning ones; Describe/Get calls
 * the handler polls with included). Actions only: which resource and tags each of them meets is
 * CloudFormation's business, so the check counts the grants these actions use and reports an
 * action the role does not grant at all.
 */
const HANDLERS: Record<string, { create: string[]; update: string[]; delete: string[] }> = {
  'AWS::EC2::VPC': {
    create: ['ec2:CreateVpc', 'ec2:DescribeVpcs', 'ec2:ModifyVpcAttribute', 'ec2:CreateTags'],
    update: ['ec2:ModifyVpcAttribute', 'ec2:CreateTags', 'ec2:DescribeVpcs'],
    delete: ['ec2:DeleteVpc', 'ec2:DescribeVpcs'],
  },
  'AWS::EC2::Subnet': {
    create: [
      'ec2:CreateSubnet',
      'ec2:DescribeSubnets',
      'ec2:ModifySubnetAttribute',
      'ec2:CreateTags',
    ],
    update: ['ec2:ModifySubnetAttribute', 'ec2:CreateTags', 'ec2:DescribeSubnets'],
    delete: ['ec2:DeleteSubnet', 'ec2:DescribeSubnets'],
  },
  'AWS::EC2::InternetGateway': {
    create: ['ec2:CreateInternetGateway', 'ec2:DescribeInternetGateways', 'ec2:CreateTags'],
    update: ['ec2:CreateTags', 'ec2:DescribeInternetGateways'],
    delete: ['ec2:DeleteInternetGateway', 'ec2:DescribeInternetGateways'],
  },
  'AWS::EC2::VPCGatewayAttachment': {
    create: ['ec2:AttachInternetGateway', 'ec2:DescribeInternetGateways'],
    update: ['ec2:DescribeInternetGateways'],
    delete: ['ec2:DetachInternetGateway', 'ec2:DescribeInternetGateways'],
  },
  'AWS::EC2::RouteTable': {
    create: ['ec2:CreateRouteTable', 'ec2:DescribeRouteTables', 'ec2:CreateTags'],
    update: ['ec2:CreateTags', 'ec2:DescribeRouteTables'],
    delete: ['ec2:DeleteRouteTable', 'ec2:DescribeRouteTables'],
  },
  'AWS::EC2::Route': {
    create: ['ec2:CreateRoute', 'ec2:DescribeRouteTables'],
    update: ['ec2:ReplaceRoute', 'ec2:DescribeRouteTables'],
    delete: ['ec2:DeleteRoute', 'ec2:DescribeRouteTables'],
  },
  'AWS::EC2::SubnetRouteTableAssociation': {
    create: ['ec2:AssociateRouteTable', 'ec2:DescribeRouteTables'],
    update: ['ec2:DescribeRouteTables'],
    delete: ['ec2:DisassociateRouteTable', 'ec2:DescribeRouteTables'],
  },
  'AWS::EC2::EIP': {
    create: ['ec2:AllocateAddress', 'ec2:DescribeAddresses', 'ec2:CreateTags'],
    update: ['ec2:CreateTags', 'ec2:DescribeAddresses'],
    delete: ['ec2:ReleaseAddress', 'ec2:DescribeAddresses'],
  },
  'AWS::EC2::NatGateway': {
    create: ['ec2:CreateNatGateway', 'ec2:DescribeNatGateways', 'ec2:CreateTags'],
    update: ['ec2:CreateTags', 'ec2:DescribeNatGateways'],
    delete: ['ec2:DeleteNatGateway', 'ec2:DescribeNatGateways'],
  },
  'AWS::EC2::SecurityGroup': {
    create: ['ec2:CreateSecurityGroup', 'ec2:DescribeSecurityGroups', 'ec2:CreateTags'],
    update: ['ec2:CreateTags', 'ec2:DescribeSecurityGroups'],
    delete: ['ec2:DeleteSecurityGroup', 'ec2:DescribeSecurityGroups'],
  },
  'AWS::EC2::SecurityGroupIngress': {
    create: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:DescribeSecurityGroups'],
    update: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress'],
    delete: ['ec2:RevokeSecurityGroupIngress', 'ec2:DescribeSecurityGroups'],
  },
  'AWS::IAM::Role': {
    create: [
      'iam:CreateRole',
      'iam:PutRolePolicy',
      'iam:TagRole',
      'iam:GetRole',
      'iam:GetRolePolicy',
    ],
    update: ['iam:PutRolePolicy', 'iam:TagRole', 'iam:GetRole', 'iam:GetRolePolicy'],
    delete: ['iam:GetRole', 'iam:ListRolePolicies', 'iam:DeleteRolePolicy', 'iam:DeleteRole'],
  },
  'AWS::IAM::InstanceProfile': {
    create: [
      'iam:CreateInstanceProfile',
      'iam:AddRoleToInstanceProfile',
      'iam:GetInstanceProfile',
      'iam:PassRole',
    ],
    update: ['iam:GetInstanceProfile'],
    delete: [
      'iam:GetInstanceProfile',
      'iam:RemoveRoleFromInstanceProfile',
      'iam:DeleteInstanceProfile',
    ],
  },
  'AWS::ElasticLoadBalancingV2::LoadBalancer': {
    create: [
      'elasticloadbalancing:CreateLoadBalancer',
      'elasticloadbalancing:DescribeLoadBalancers',
      'elasticloadbalancing:ModifyLoadBalancerAttributes',
      'elasticloadbalancing:AddTags',
      'iam:CreateServiceLinkedRole',
    ],
    update: [
      'elasticloadbalancing:ModifyLoadBalancerAttributes',
      'elasticloadbalancing:SetSubnets',
      'elasticloadbalancing:AddTags',
      'elasticloadbalancing:RemoveTags',
      'elasticloadbalancing:DescribeLoadBalancers',
      'elasticloadbalancing:DescribeLoadBalancerAttributes',
    ],
    delete: [
      'elasticloadbalancing:DeleteLoadBalancer',
      'elasticloadbalancing:DescribeLoadBalancers',
    ],
  },
  'AWS::ElasticLoadBalancingV2::TargetGroup': {
    create: [
      'elasticloadbalancing:CreateTargetGroup',
      'elasticloadbalancing:DescribeTargetGroups',
      'elasticloadbalancing:ModifyTargetGroupAttributes',
      'elasticloadbalancing:AddTags',
    ],
    update: [
      'elasticloadbalancing:ModifyTargetGroupAttributes',
      'elasticloadbalancing:AddTags',
      'elasticloadbalancing:RemoveTags',
      'elasticloadbalancing:DescribeTargetGroups',
      'elasticloadbalancing:DescribeTargetGroupAttributes',
      'elasticloadbalancing:DescribeTags',
    ],
    delete: ['elasticloadbalancing:DeleteTargetGroup', 'elasticloadbalancing:DescribeTargetGroups'],
  },
  'AWS::ElasticLoadBalancingV2::Listener': {
    create: ['elasticloadbalancing:CreateListener', 'elasticloadbalancing:DescribeListeners'],
    update: ['elasticloadbalancing:ModifyListener', 'elasticloadbalancing:DescribeListeners'],
    delete: ['elasticloadbalancing:DeleteListener', 'elasticloadbalancing:DescribeListeners'],
  },
  'AWS::Route53::HostedZone': {
    create: [
      'route53:CreateHostedZone',
      'route53:ChangeTagsForResource',
      'route53:GetHostedZone',
      'route53:GetChange',
    ],
    update: ['route53:ChangeTagsForResource', 'route53:GetHostedZone'],
    delete: ['route53:DeleteHostedZone', 'route53:GetHostedZone'],
  },
  'AWS::Route53::RecordSet': {
    create: [
      'route53:ChangeResourceRecordSets',
      'route53:GetChange',
      'route53:ListResourceRecordSets',
    ],
    update: [
      'route53:ChangeResourceRecordSets',
      'route53:GetChange',
      'route53:ListResourceRecordSets',
    ],
    delete: [
      'route53:ChangeResourceRecordSets',
      'route53:GetChange',
      'route53:ListResourceRecordSets',
    ],
  },
};

type Resources = Record<
  string,
  { Type: string; DeletionPolicy?: string; UpdateReplacePolicy?: string; Properties?: unknown }
>;

function resources(templateBody: string | undefined): Resources {
  return templateBody
    ? ((JSON.parse(templateBody) as { Resources?: Resources }).Resources ?? {})
    : {};
}

function handler(id: string, type: string) {
  const known = HANDLERS[type];
  if (!known)
    throw new Error(
      `stack resource ${id}: no CloudFormation handler permissions known for ${type} (add them to test/iam/cloudformation.ts)`,
    );
  return known;
}

/**
 * The actions CloudFormation calls with the caller's credentials to take a stack from one
 * template to the next (undefined: no stack): added resources are created, removed ones deleted,
 * changed ones updated or, when a property that cannot change did, replaced (created and deleted).
 */
export function cloudFormationActions(
  before: string | undefined,
  after: string | undefined,
): string[] {
  const old = resources(before);
  const next = resources(after);
  const actions = new Set<string>();
  const add = (list: string[]) => list.forEach((a) => actions.add(a));
  for (const [id, resource] of Object.entries(next)) {
    const previous = old[id];
    if (!previous) add(handler(id, resource.Type).create);
    else if (JSON.stringify(previous) !== JSON.stringify(resource)) {
      const h = handler(id, resource.Type);
      // A replaced resource the stack retains (UpdateReplacePolicy) is never deleted.
      add([
        ...h.update,
        ...h.create,
        ...(resource.UpdateReplacePolicy === 'Retain' ? [] : h.delete),
      ]);
    }
  }
  // What the stack retains it never deletes.
  for (const [id, resource] of Object.entries(old))
    if (!next[id] && resource.DeletionPolicy !== 'Retain') add(handler(id, resource.Type).delete);
  return [...actions].sort();
}

/** One request CloudFormation makes for a stack resource, with the resource and tags it meets. */
export interface StackRequest {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
  /** The stack resource it is made for, for the report. */
  because: string;
}

type Tag = { Key: string; Value: string };
type Resource = {
  Type: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Properties?: Record<string, unknown>;
};

/** The EC2 resource type in the ARN of each EC2 resource CloudFormation makes with tags. */
const EC2_ARN_TYPES: Record<string, string> = {
  'AWS::EC2::VPC': 'vpc',
  'AWS::EC2::Subnet': 'subnet',
  'AWS::EC2::InternetGateway': 'internet-gateway',
  'AWS::EC2::RouteTable': 'route-table',
  'AWS::EC2::EIP': 'elastic-ip',
  'AWS::EC2::NatGateway': 'natgateway',
  'AWS::EC2::SecurityGroup': 'security-group',
};

function tagsOf(resource: Resource, stackTags: Tag[]): Tag[] {
  const own = Array.isArray(resource.Properties?.Tags) ? (resource.Properties.Tags as Tag[]) : [];
  // The stack's tags reach every resource that takes tags; the resource's own win.
  const merged = new Map(stackTags.map((t) => [t.Key, t.Value]));
  for (const t of own) if (typeof t.Value === 'string') merged.set(t.Key, t.Value);
  return [...merged].map(([Key, Value]) => ({ Key, Value }));
}

function tagKeys(prefix: string, tags: Tag[]): Record<string, string> {
  return Object.fromEntries(tags.map((t) => [`${prefix}/${t.Key}`, t.Value]));
}

/**
 * The calls CloudFormation makes whose resource and tags the check can know from the templates
 * alone, made as the stack role: each tagged EC2 resource created (its create action on a new
 * ARN, with the tags it is made with, and `ec2:CreateTags` at creation) or deleted (with the tags
 * it has), each IAM role created (its path, boundary and tags) or deleted, each API function
 * created, and each record written (the zone, the names and types). `resolve` turns a template
 * value (an intrinsic) into what CloudFormation gives it; `stackTags` are the stack's own.
 */
export function cloudFormationRequests(input: {
  before: string | undefined;
  after: string | undefined;
  stackTags: Tag[];
  region: string;
  account: string;
  resolve: (value: unknown) => unknown;
}): StackRequest[] {
  const old = resources(input.before) as Record<string, Resource>;
  const next = resources(input.after) as Record<string, Resource>;
  const requests: StackRequest[] = [];
  const ec2 = (type: string) =>
    `arn:aws:ec2:${input.region}:${input.account}:${type}/${type}-0123456789abcdef0`;
  const created = (id: string, resource: Resource) => {
    const tags = tagsOf(resource, input.stackTags);
    const because = `${id} (${resource.Type})`;
    const arnType = EC2_ARN_TYPES[resource.Type];
    if (arnType) {
      const arn = ec2(arnType);
      const action = handler(id, resource.Type).create[0]!;
      requests.push(
        { action, resource: arn, context: tagKeys('aws:RequestTag', tags), because },
        {
          action: 'ec2:CreateTags',
          resource: arn,
          context: { ...tagKeys('aws:RequestTag', tags), 'ec2:CreateAction': action.slice(4) },
          because,
        },
      );
    }
    if (resource.Type === 'AWS::IAM::Role') {
      const p = resource.Properties ?? {};
      requests.push({
        action: 'iam:CreateRole',
        resource: `arn:aws:iam::${input.account}:role${String(p.Path ?? '/')}${String(p.RoleName)}`,
        context: {
          ...tagKeys('aws:RequestTag', tags),
          ...(p.PermissionsBoundary
            ? { 'iam:PermissionsBoundary': String(input.resolve(p.PermissionsBoundary)) }
            : {}),
        },
        because,
      });
    }
    if (resource.Type === 'AWS::Lambda::Function')
      requests.push({
        action: 'lambda:CreateFunction',
        resource: `arn:aws:lambda:${input.region}:${input.account}:function:${String(resource.Properties?.FunctionName)}`,
        context: tagKeys('aws:RequestTag', tags),
        because,
      });
    if (resource.Type === 'AWS::Route53::RecordSet') {
      const p = resource.Properties ?? {};
      requests.push({
        action: 'route53:ChangeResourceRecordSets',
        resource: `arn:aws:route53:::hostedzone/${String(input.resolve(p.HostedZoneId))}`,
        context: {
          'route53:ChangeResourceRecordSetsActions': ['CREATE'],
          'route53:ChangeResourceRecordSetsRecordTypes': [String(p.Type)],
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': [
            String(p.Name).toLowerCase().replace(/\.$/, ''),
          ],
        },
        because,
      });
    }
  };
  const deleted = (id: string, resource: Resource) => {
    const tags = tagsOf(resource, input.stackTags);
    const because = `${id} (${resource.Type})`;
    const arnType = EC2_ARN_TYPES[resource.Type];
    if (arnType)
      requests.push({
        action: handler(id, resource.Type).delete[0]!,
        resource: ec2(arnType),
        context: tagKeys('aws:ResourceTag', tags),
        because,
      });
    if (resource.Type === 'AWS::IAM::Role') {
      const p = resource.Properties ?? {};
      requests.push({
        action: 'iam:DeleteRole',
        resource: `arn:aws:iam::${input.account}:role${String(p.Path ?? '/')}${String(p.RoleName)}`,
        context: tagKeys('iam:ResourceTag', tags),
        because,
      });
    }
  };
  for (const [id, resource] of Object.entries(next)) {
    const previous = old[id];
    if (!previous) created(id, resource);
    else if (JSON.stringify(previous) !== JSON.stringify(resource)) {
      created(id, resource);
      deleted(id, previous);
    }
  }
  // What the stack retains (the API records) it never deletes.
  for (const [id, resource] of Object.entries(old))
    if (!next[id] && resource.DeletionPolicy !== 'Retain') deleted(id, resource);
  return requests;
}
