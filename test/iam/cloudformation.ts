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

type Resources = Record<string, { Type: string; Properties?: unknown }>;

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
      add([...h.update, ...h.create, ...h.delete]);
    }
  }
  for (const [id, resource] of Object.entries(old))
    if (!next[id]) add(handler(id, resource.Type).delete);
  return [...actions].sort();
}
