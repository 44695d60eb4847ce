import type { CompletedManifest } from '../manifest/completed.js';
import { isControlPlaneRole } from '../manifest/types.js';
import { clusterFolder, clusterKey, CLUSTER_OBJECTS as STORE } from '../state/layout.js';
import { apiRecords } from './dns-records.js';
import {
  clusterTags,
  DEFAULT_DEPLOYMENT,
  type InstanceRoleKind,
  iamRoleName,
  instanceProfileName,
  kopsRoleName,
  nameTag,
  ownerTag,
  type SecurityGroupKind,
  securityGroupName,
} from './names.js';
import { clusterApiResources } from './stack-cluster-api.js';
import {
  boundaryArn,
  CLUSTER_ROLE_PATH,
  etcdVolumeStatements,
  vpcCniStatements,
} from './stack-iam.js';
import { type ExistingNetwork, renderNetwork } from './stack-network.js';
import { apiLoadBalancerResources, hasApiLoadBalancer } from './stack-nlb.js';

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
  /** The kopsless deployment that owns the stack: its owner tag and its roles' boundary. */
  deployment?: string;
  /** What the launch stage found of a VPC the manifest shares (`spec.networkID`). */
  existingNetwork?: ExistingNetwork;
  /**
   * The deployment's ClusterApiLayer version: with it the stack runs the cluster's API function
   * in the cluster's VPC (stack-cluster-api.ts). The local backend runs that function itself.
   */
  clusterApiLayerArn?: string;
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

export { subnetOutputKey } from './stack-network.js';

function tags(
  cluster: string,
  deployment: string,
  extra: Record<string, string> = {},
  cloudLabels: Record<string, string> = {},
): Tag[] {
  const all = [
    ...clusterTags(cluster),
    ownerTag(deployment),
    ...Object.entries(cloudLabels).map(([Key, Value]) => ({ Key, Value })),
  ];
  for (const [Key, Value] of Object.entries(extra)) all.push({ Key, Value });
  return all;
}

/**
 * The API server's default `--service-node-port-range` (kOps's too); a manifest that changes it
 * (`spec.kubeAPIServer`) is not built.
 */
const NODE_PORT_RANGE = { from: 30000, to: 32767 };

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

/** Renders the stack template for a completed manifest. Pure: the same input gives the same JSON. */
export function renderStackTemplate({
  manifest,
  stateBucket,
  hostedZoneId,
  partition = 'aws',
  deployment = DEFAULT_DEPLOYMENT,
  existingNetwork,
  clusterApiLayerArn,
}: StackTemplateInput): Json {
  const { cluster, instanceGroups } = manifest;
  const name = cluster.metadata.name;
  const spec = cluster.spec;
  const cloudLabels = spec.cloudLabels ?? {};
  const resources: Json = {};
  const outputs: Json = {};
  const output = (key: string, value: unknown) => (outputs[key] = { Value: value });

  const network = renderNetwork(
    manifest,
    (extra = {}) => tags(name, deployment, extra, cloudLabels),
    existingNetwork,
  );
  Object.assign(resources, network.resources);
  Object.assign(outputs, network.outputs);
  const vpcId = network.vpcId;

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
        VpcId: vpcId,
        Tags: tags(name, deployment, { Name: nameTag(`${kind}.${name}`).Value }, cloudLabels),
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
  // kOps's nodePortAccess: the API server's NodePort range, TCP and UDP, open to the nodes.
  (spec.nodePortAccess ?? []).forEach((source, i) => {
    for (const protocol of ['tcp', 'udp'])
      ingress(`NodesNodePort${protocol.toUpperCase()}Access${i}`, 'NodesSecurityGroup', {
        IpProtocol: protocol,
        FromPort: NODE_PORT_RANGE.from,
        ToPort: NODE_PORT_RANGE.to,
        ...ingressFrom(source, 'NodePort services'),
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
            // A highly available control plane: who initialises, and the CA hash its joiners check.
            `${clusterObjects}${STORE.controlPlaneInitializer}`,
            `${clusterObjects}${STORE.caCertHash}`,
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
            `${clusterObjects}${STORE.etcdClient}`,
            `${clusterObjects}${STORE.controlPlaneInitializer}`,
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
        secretsKeyStatement(['kms:Decrypt', 'kms:GenerateDataKey']),
        ...etcdVolumeStatements(name),
        ...(usesVpcCni ? vpcCniStatements(name, vpcId) : []),
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
        secretsKeyStatement(['kms:Decrypt']),
        {
          Effect: 'Allow',
          Action: ['ec2:DescribeInstances', 'ec2:DescribeRegions'],
          Resource: '*',
        },
        ...(usesVpcCni ? vpcCniStatements(name, vpcId) : []),
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
        Path: CLUSTER_ROLE_PATH,
        PermissionsBoundary: boundaryArn(deployment),
        AssumeRolePolicyDocument: assumeRole(),
        Policies: [
          {
            PolicyName: kopsName.slice(0, 128),
            PolicyDocument: { Version: '2012-10-17', Statement: statements },
          },
        ],
        Tags: tags(name, deployment, { Name: nameTag(kopsName).Value }, cloudLabels),
      },
    };
    resources[`${kind}InstanceProfile`] = {
      Type: 'AWS::IAM::InstanceProfile',
      Properties: {
        InstanceProfileName: instanceProfileName(roleKind, name),
        Path: CLUSTER_ROLE_PATH,
        Roles: [{ Ref: `${kind}Role` }],
      },
    };
    output(`${kind}InstanceProfileArn`, { 'Fn::GetAtt': [`${kind}InstanceProfile`, 'Arn'] });
  }

  if (clusterApiLayerArn)
    Object.assign(
      resources,
      clusterApiResources({
        manifest,
        stateBucket,
        partition,
        deployment,
        layerArn: clusterApiLayerArn,
        vpcId,
        routeTables: Object.keys(network.resources)
          .filter((id) => (network.resources[id] as Json).Type === 'AWS::EC2::RouteTable')
          .sort(),
        tags: (extra = {}) => tags(name, deployment, extra, cloudLabels),
      }),
    );

  const loadBalancer = hasApiLoadBalancer(cluster);
  if (loadBalancer) {
    const lb = apiLoadBalancerResources(cluster, {
      tags: tags(name, deployment, {}, cloudLabels),
      vpcId,
    });
    Object.assign(resources, lb.resources);
    Object.assign(outputs, lb.outputs);
  }
  // DNS: records in the user's zone (kOps's placeholder, or aliases to the load balancer); with
  // DNS None there is no zone and no record, and the API is the load balancer's name.
  if (hostedZoneId !== undefined) {
    Object.assign(resources, apiRecords(manifest, hostedZoneId, { loadBalancer }));
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

/**
 * The secrets key (template.yaml's SecretsKey), only through S3: the cluster's secrets/ are
 * encrypted under it. The key's own policy admits this deployment's instance roles; S3 (the
 * role's object grants, the boundary's one bucket and the bucket policy) keeps them to their
 * cluster's objects.
 */
function secretsKeyStatement(actions: string[]): Json {
  return {
    Effect: 'Allow',
    Action: actions,
    Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*' },
    Condition: {
      StringEquals: { 'kms:ViaService': { 'Fn::Sub': 's3.${AWS::Region}.amazonaws.com' } },
    },
  };
}
