import { SpecInvalidError } from '../errors.js';
import type { CompletedManifest } from '../manifest/completed.js';
import { type ClusterSubnetSpec, isControlPlaneRole } from '../manifest/types.js';
import { clusterFolder, clusterKey, CLUSTER_OBJECTS as STORE } from '../state/layout.js';
import { apiRecords } from './dns-records.js';
import {
  clusterTags,
  type InstanceRoleKind,
  iamRoleName,
  instanceProfileName,
  kopsRoleName,
  logicalId,
  nameTag,
  type SecurityGroupKind,
  securityGroupName,
  subnetLogicalIds,
} from './names.js';

/**
 * The cluster's CloudFormation stack: network, security groups, IAM and DNS. Instance groups
 * are not in it: launch templates and Auto Scaling groups are managed by API calls so an update
 * never replaces a group (CloudFormation would, on some property changes).
 */

type Json = Record<string, unknown>;
type Tag = { Key: string; Value: string };

export interface StackTemplateInput {
  manifest: CompletedManifest;
  stateBucket: string;
  /**
   * The ID of the user's hosted zone that takes the cluster's records (planning/dns.ts chooses
   * it); unset for a cluster that publishes no records.
   */
  hostedZoneId?: string;
  /** The partition's ARN prefix (`aws`, `aws-cn`, `aws-us-gov`). */
  partition?: string;
}

export interface StackOutputs {
  VpcId: string;
  /** The user's zone that holds the cluster's records (absent when it publishes none). */
  HostedZoneId?: string;
  MastersSecurityGroupId: string;
  NodesSecurityGroupId: string;
  BastionSecurityGroupId?: string;
  MastersInstanceProfileArn: string;
  NodesInstanceProfileArn: string;
  BastionsInstanceProfileArn?: string;
  /** `Subnet<Name>` -> subnet ID, one per cluster subnet. */
  [subnetOutput: string]: string | undefined;
}

/** The output key that carries a subnet's ID. */
export function subnetOutputKey(subnetName: string): string {
  return subnetLogicalIds(subnetName).subnet;
}

function tags(
  cluster: string,
  extra: Record<string, string> = {},
  cloudLabels: Record<string, string> = {},
): Tag[] {
  const all = [
    ...clusterTags(cluster),
    ...Object.entries(cloudLabels).map(([Key, Value]) => ({ Key, Value })),
  ];
  for (const [Key, Value] of Object.entries(extra)) all.push({ Key, Value });
  return all;
}

function ingressFrom(source: string, description: string): Json {
  if (source.startsWith('pl-')) return { SourcePrefixListId: source, Description: description };
  if (source.includes(':')) return { CidrIpv6: source, Description: description };
  return { CidrIp: source, Description: description };
}

function assumeRole(): Json {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ],
  };
}

/** What the VPC CNI calls on a node (AmazonEKS_CNI_Policy, written out so it needs no EKS). */
const VPC_CNI_ACTIONS = [
  'ec2:AssignPrivateIpAddresses',
  'ec2:AttachNetworkInterface',
  'ec2:CreateNetworkInterface',
  'ec2:DeleteNetworkInterface',
  'ec2:DescribeInstances',
  'ec2:DescribeInstanceTypes',
  'ec2:DescribeTags',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DetachNetworkInterface',
  'ec2:ModifyNetworkInterfaceAttribute',
  'ec2:UnassignPrivateIpAddresses',
];

/** Renders the stack template for a completed manifest. Pure: the same input gives the same JSON. */
export function renderStackTemplate({
  manifest,
  stateBucket,
  hostedZoneId,
  partition = 'aws',
}: StackTemplateInput): Json {
  const { cluster, instanceGroups } = manifest;
  const name = cluster.metadata.name;
  const spec = cluster.spec;
  const cloudLabels = spec.cloudLabels ?? {};
  const subnets = spec.subnets ?? [];
  const resources: Json = {};
  const outputs: Json = {};
  const output = (key: string, value: unknown) => (outputs[key] = { Value: value });

  resources.Vpc = {
    Type: 'AWS::EC2::VPC',
    Properties: {
      CidrBlock: spec.networkCIDR,
      EnableDnsHostnames: true,
      EnableDnsSupport: true,
      Tags: tags(name, { Name: name }, cloudLabels),
    },
  };
  resources.InternetGateway = {
    Type: 'AWS::EC2::InternetGateway',
    Properties: { Tags: tags(name, { Name: name }, cloudLabels) },
  };
  resources.InternetGatewayAttachment = {
    Type: 'AWS::EC2::VPCGatewayAttachment',
    Properties: { VpcId: { Ref: 'Vpc' }, InternetGatewayId: { Ref: 'InternetGateway' } },
  };
  resources.PublicRouteTable = {
    Type: 'AWS::EC2::RouteTable',
    Properties: {
      VpcId: { Ref: 'Vpc' },
      Tags: tags(name, { Name: name, 'kubernetes.io/kops/role': 'public' }, cloudLabels),
    },
  };
  resources.PublicDefaultRoute = {
    Type: 'AWS::EC2::Route',
    DependsOn: 'InternetGatewayAttachment',
    Properties: {
      RouteTableId: { Ref: 'PublicRouteTable' },
      DestinationCidrBlock: '0.0.0.0/0',
      GatewayId: { Ref: 'InternetGateway' },
    },
  };
  output('VpcId', { Ref: 'Vpc' });

  const isPublic = (s: ClusterSubnetSpec) => s.type === 'Public' || s.type === 'Utility';
  for (const subnet of subnets) {
    const id = subnetOutputKey(subnet.name);
    resources[id] = {
      Type: 'AWS::EC2::Subnet',
      Properties: {
        VpcId: { Ref: 'Vpc' },
        CidrBlock: subnet.cidr,
        AvailabilityZone: subnet.zone,
        MapPublicIpOnLaunch: isPublic(subnet),
        Tags: tags(
          name,
          {
            Name: `${subnet.name}.${name}`,
            SubnetType: subnet.type,
            [isPublic(subnet) ? 'kubernetes.io/role/elb' : 'kubernetes.io/role/internal-elb']: '1',
          },
          cloudLabels,
        ),
      },
    };
    output(id, { Ref: id });
  }

  // Private subnets leave through a NAT gateway in a public subnet of their own zone, as in kOps.
  const privateZones = [...new Set(subnets.filter((s) => s.type === 'Private').map((s) => s.zone))];
  const natProblems = [];
  for (const zone of privateZones) {
    const egressSubnet =
      subnets.find((s) => s.zone === zone && s.type === 'Utility') ??
      subnets.find((s) => s.zone === zone && s.type === 'Public');
    if (!egressSubnet) {
      natProblems.push({
        path: 'spec.subnets',
        message: `Forbidden: Private subnets in zone "${zone}" need a Utility subnet in the same zone for their NAT gateway`,
      });
      continue;
    }
    const z = logicalId('', zone);
    resources[`NatEip${z}`] = {
      Type: 'AWS::EC2::EIP',
      DependsOn: 'InternetGatewayAttachment',
      Properties: { Domain: 'vpc', Tags: tags(name, { Name: `${zone}.${name}` }, cloudLabels) },
    };
    resources[`NatGateway${z}`] = {
      Type: 'AWS::EC2::NatGateway',
      Properties: {
        AllocationId: { 'Fn::GetAtt': [`NatEip${z}`, 'AllocationId'] },
        SubnetId: { Ref: subnetOutputKey(egressSubnet.name) },
        Tags: tags(name, { Name: `${zone}.${name}` }, cloudLabels),
      },
    };
    resources[`PrivateRouteTable${z}`] = {
      Type: 'AWS::EC2::RouteTable',
      Properties: {
        VpcId: { Ref: 'Vpc' },
        Tags: tags(
          name,
          { Name: `private-${zone}.${name}`, 'kubernetes.io/kops/role': `private-${zone}` },
          cloudLabels,
        ),
      },
    };
    resources[`PrivateDefaultRoute${z}`] = {
      Type: 'AWS::EC2::Route',
      Properties: {
        RouteTableId: { Ref: `PrivateRouteTable${z}` },
        DestinationCidrBlock: '0.0.0.0/0',
        NatGatewayId: { Ref: `NatGateway${z}` },
      },
    };
  }
  if (natProblems.length > 0) throw new SpecInvalidError(natProblems);
  for (const subnet of subnets) {
    const table = isPublic(subnet)
      ? 'PublicRouteTable'
      : `PrivateRouteTable${logicalId('', subnet.zone)}`;
    resources[subnetLogicalIds(subnet.name).routeTableAssociation] = {
      Type: 'AWS::EC2::SubnetRouteTableAssociation',
      Properties: { SubnetId: { Ref: subnetOutputKey(subnet.name) }, RouteTableId: { Ref: table } },
    };
  }

  // Security groups: kOps's masters / nodes / bastion split, all traffic inside the cluster.
  const hasBastion = instanceGroups.some((ig) => ig.spec.role === 'Bastion');
  // Named with the cluster's hash (names.ts); the kOps name stays the Name tag.
  const groups: Array<[string, SecurityGroupKind, string]> = [
    ['MastersSecurityGroup', 'masters', 'Security group for the control plane'],
    ['NodesSecurityGroup', 'nodes', 'Security group for nodes'],
    ...(hasBastion
      ? [
          ['BastionSecurityGroup', 'bastion', 'Security group for bastions'] as [
            string,
            SecurityGroupKind,
            string,
          ],
        ]
      : []),
  ];
  for (const [id, kind, description] of groups) {
    resources[id] = {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupName: securityGroupName(kind, name),
        GroupDescription: description,
        VpcId: { Ref: 'Vpc' },
        Tags: tags(name, { Name: nameTag(`${kind}.${name}`).Value }, cloudLabels),
      },
    };
    output(`${id}Id`, { 'Fn::GetAtt': [id, 'GroupId'] });
  }
  const ingress = (id: string, group: string, rule: Json) =>
    (resources[id] = {
      Type: 'AWS::EC2::SecurityGroupIngress',
      Properties: { GroupId: { 'Fn::GetAtt': [group, 'GroupId'] }, ...rule },
    });
  ingress('MastersFromMasters', 'MastersSecurityGroup', {
    IpProtocol: '-1',
    SourceSecurityGroupId: { 'Fn::GetAtt': ['MastersSecurityGroup', 'GroupId'] },
  });
  ingress('MastersFromNodes', 'MastersSecurityGroup', {
    IpProtocol: '-1',
    SourceSecurityGroupId: { 'Fn::GetAtt': ['NodesSecurityGroup', 'GroupId'] },
  });
  ingress('NodesFromMasters', 'NodesSecurityGroup', {
    IpProtocol: '-1',
    SourceSecurityGroupId: { 'Fn::GetAtt': ['MastersSecurityGroup', 'GroupId'] },
  });
  ingress('NodesFromNodes', 'NodesSecurityGroup', {
    IpProtocol: '-1',
    SourceSecurityGroupId: { 'Fn::GetAtt': ['NodesSecurityGroup', 'GroupId'] },
  });
  spec.kubernetesApiAccess.forEach((source, i) => {
    ingress(`ApiAccess${i}`, 'MastersSecurityGroup', {
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      ...ingressFrom(source, 'Kubernetes API'),
    });
  });
  // With a bastion, SSH from outside reaches the bastion only; without one, every instance.
  const sshTargets = hasBastion
    ? ['BastionSecurityGroup']
    : ['MastersSecurityGroup', 'NodesSecurityGroup'];
  for (const target of sshTargets) {
    spec.sshAccess.forEach((source, i) => {
      ingress(`${target.replace('SecurityGroup', '')}SshAccess${i}`, target, {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        ...ingressFrom(source, 'SSH'),
      });
    });
  }
  if (hasBastion) {
    ingress('MastersSshFromBastion', 'MastersSecurityGroup', {
      IpProtocol: 'tcp',
      FromPort: 22,
      ToPort: 22,
      SourceSecurityGroupId: { 'Fn::GetAtt': ['BastionSecurityGroup', 'GroupId'] },
    });
    ingress('NodesSshFromBastion', 'NodesSecurityGroup', {
      IpProtocol: 'tcp',
      FromPort: 22,
      ToPort: 22,
      SourceSecurityGroupId: { 'Fn::GetAtt': ['BastionSecurityGroup', 'GroupId'] },
    });
  }

  // IAM: one role and instance profile per kind of instance, named with the cluster's hash so no
  // two clusters share one (names.ts); the kOps name (`masters.<cluster>`) is the Name tag.
  const bucketArn = `arn:${partition}:s3:::${stateBucket}`;
  const clusterObjects = `${bucketArn}/${clusterFolder(name)}`;
  const usesVpcCni = spec.networking?.amazonvpc !== undefined;
  const roles: Array<[string, InstanceRoleKind, Json[]]> = [
    [
      'Masters',
      'masters',
      [
        // The control plane reads the join token and its own keys back (a replacement keeps the
        // cluster's CA); `aws s3 ls` on the key tells a first boot from a replacement.
        {
          Effect: 'Allow',
          Action: ['s3:GetObject'],
          Resource: [
            `${clusterObjects}${STORE.bootstrapToken}`,
            `${clusterObjects}${STORE.controlPlanePki}`,
          ],
        },
        {
          Effect: 'Allow',
          Action: ['s3:ListBucket'],
          Resource: [bucketArn],
          Condition: { StringEquals: { 's3:prefix': clusterKey(name, STORE.controlPlanePki) } },
        },
        {
          Effect: 'Allow',
          Action: ['s3:PutObject'],
          Resource: [
            `${clusterObjects}${STORE.pki}*`,
            `${clusterObjects}${STORE.kubeconfig}`,
            `${clusterObjects}${STORE.controlPlanePki}`,
          ],
        },
        {
          Effect: 'Allow',
          Action: [
            'ec2:DescribeInstances',
            'ec2:DescribeRegions',
            'ec2:DescribeTags',
            'ec2:DescribeVolumes',
            'autoscaling:DescribeAutoScalingGroups',
          ],
          Resource: '*',
        },
        // etcd's volume: created tagged for the cluster, attached only to the cluster's instances.
        {
          Effect: 'Allow',
          Action: ['ec2:CreateVolume'],
          Resource: '*',
          Condition: { StringEquals: { 'aws:RequestTag/KubernetesCluster': name } },
        },
        {
          Effect: 'Allow',
          Action: ['ec2:CreateTags'],
          Resource: '*',
          Condition: { StringEquals: { 'ec2:CreateAction': 'CreateVolume' } },
        },
        {
          Effect: 'Allow',
          Action: ['ec2:AttachVolume'],
          Resource: '*',
          Condition: { StringEquals: { 'aws:ResourceTag/KubernetesCluster': name } },
        },
        ...(usesVpcCni ? [{ Effect: 'Allow', Action: VPC_CNI_ACTIONS, Resource: '*' }] : []),
      ],
    ],
    [
      'Nodes',
      'nodes',
      [
        // Nodes read what joining takes, and nothing of the control plane's keys.
        {
          Effect: 'Allow',
          Action: ['s3:GetObject'],
          Resource: [
            `${clusterObjects}${STORE.bootstrapToken}`,
            `${clusterObjects}${STORE.caCertHash}`,
          ],
        },
        {
          Effect: 'Allow',
          Action: ['ec2:DescribeInstances', 'ec2:DescribeRegions'],
          Resource: '*',
        },
        ...(usesVpcCni ? [{ Effect: 'Allow', Action: VPC_CNI_ACTIONS, Resource: '*' }] : []),
      ],
    ],
    ...(hasBastion
      ? ([
          [
            'Bastions',
            'bastions',
            [{ Effect: 'Allow', Action: ['ec2:DescribeRegions'], Resource: '*' }],
          ],
        ] as Array<[string, InstanceRoleKind, Json[]]>)
      : []),
  ];
  for (const [kind, roleKind, statements] of roles) {
    const kopsName = kopsRoleName(roleKind, name);
    resources[`${kind}Role`] = {
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: iamRoleName(roleKind, name),
        AssumeRolePolicyDocument: assumeRole(),
        Policies: [
          {
            PolicyName: kopsName.slice(0, 128),
            PolicyDocument: { Version: '2012-10-17', Statement: statements },
          },
        ],
        Tags: tags(name, { Name: nameTag(kopsName).Value }, cloudLabels),
      },
    };
    resources[`${kind}InstanceProfile`] = {
      Type: 'AWS::IAM::InstanceProfile',
      Properties: {
        InstanceProfileName: instanceProfileName(roleKind, name),
        Roles: [{ Ref: `${kind}Role` }],
      },
    };
    output(`${kind}InstanceProfileArn`, { 'Fn::GetAtt': [`${kind}InstanceProfile`, 'Arn'] });
  }

  // DNS: kOps's placeholder records in the user's zone; verify-dns points them at the control plane.
  if (hostedZoneId !== undefined) {
    Object.assign(resources, apiRecords(manifest, hostedZoneId));
    output('HostedZoneId', hostedZoneId);
  }

  const controlPlaneGroups = instanceGroups
    .filter((ig) => isControlPlaneRole(ig.spec.role))
    .map((ig) => ig.metadata.name);
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `kopsless cluster ${name}: network, security groups, IAM and DNS (control plane: ${controlPlaneGroups.join(', ')})`,
    Resources: resources,
    Outputs: outputs,
  };
}
