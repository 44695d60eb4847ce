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
  /**
   * The kinds whose instance profile the deployed stack already holds (a stack made before
   * profiles left it, instance-profiles.ts): they stay in it unchanged, retained, so that no
   * update or delete of the stack makes an instance-profile call (its role has none).
   */
  stackHeldInstanceProfiles?: readonly InstanceRoleKind[];
}

export interface StackOutputs {
  VpcId: string;
  /** The user's zone that holds the cluster's records (absent when it publishes none). */
  HostedZoneId?: string;
  MastersSecurityGroupId: string;
  NodesSecurityGroupId: string;
  BastionSecurityGroupId?: string;
  /** Only from a stack made before instance profiles left it (instance-profiles.ts). */
  MastersInstanceProfileArn?: string;
  NodesInstanceProfileArn?: string;
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

/** A part of the template: its resources and outputs, in the order they are written. */
interface TemplateSection {
  resources: Json;
  outputs: Json;
}

/** What every section needs to name and tag what it renders. */
interface SectionContext {
  manifest: CompletedManifest;
  name: string;
  deployment: string;
  partition: string;
  stateBucket: string;
  vpcId: unknown;
  hasBastion: boolean;
  /** The cluster's tags, the deployment's owner tag, the cloud labels, then `extra`. */
  tagged: (extra?: Record<string, string>) => Tag[];
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
  stackHeldInstanceProfiles = [],
}: StackTemplateInput): Json {
  const name = manifest.cluster.metadata.name;
  const cloudLabels = manifest.cluster.spec.cloudLabels ?? {};
  const tagged = (extra: Record<string, string> = {}) => tags(name, deployment, extra, cloudLabels);
  const network = renderNetwork(manifest, tagged, existingNetwork);
  const context: SectionContext = {
    manifest,
    name,
    deployment,
    partition,
    stateBucket,
    vpcId: network.vpcId,
    hasBastion: manifest.instanceGroups.some((ig) => ig.spec.role === 'Bastion'),
    tagged,
  };
  const sections: TemplateSection[] = [
    network,
    renderSecurityGroups(context),
    renderSecurityGroupIngress(context),
    renderInstanceRoles(context, stackHeldInstanceProfiles),
    renderApiLoadBalancer(context),
    renderApiRecords(manifest, hostedZoneId),
    renderClusterApi(context, network, clusterApiLayerArn),
  ];
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: describeStack(manifest),
    Resources: Object.assign({}, ...sections.map((section) => section.resources)),
    Outputs: Object.assign({}, ...sections.map((section) => section.outputs)),
  };
}

/** The stack's description: the cluster and its control-plane groups. */
function describeStack({ cluster, instanceGroups }: CompletedManifest): string {
  const controlPlaneGroups = instanceGroups
    .filter((ig) => isControlPlaneRole(ig.spec.role))
    .map((ig) => ig.metadata.name);
  return `kopsless cluster ${cluster.metadata.name}: network, security groups, IAM and DNS (control plane: ${controlPlaneGroups.join(', ')})`;
}

/**
 * Security groups: kOps's masters / nodes / bastion split, named with the cluster's hash
 * (names.ts); the kOps name stays the Name tag.
 */
function renderSecurityGroups({
  name,
  vpcId,
  hasBastion,
  tagged,
}: SectionContext): TemplateSection {
  const groups: Array<[string, SecurityGroupKind, string]> = [
    ['MastersSecurityGroup', 'masters', 'Security group for the control plane'],
    ['NodesSecurityGroup', 'nodes', 'Security group for nodes'],
  ];
  if (hasBastion) groups.push(['BastionSecurityGroup', 'bastion', 'Security group for bastions']);
  const section: TemplateSection = { resources: {}, outputs: {} };
  for (const [id, kind, description] of groups) {
    section.resources[id] = {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupName: securityGroupName(kind, name),
        GroupDescription: description,
        VpcId: vpcId,
        Tags: tagged({ Name: nameTag(`${kind}.${name}`).Value }),
      },
    };
    section.outputs[`${id}Id`] = { Value: { 'Fn::GetAtt': [id, 'GroupId'] } };
  }
  return section;
}

/**
 * The rules between the groups: all traffic inside the cluster, the Kubernetes API from
 * `kubernetesApiAccess`, and SSH from `sshAccess` (to the bastion only when there is one).
 */
function renderSecurityGroupIngress({ manifest, hasBastion }: SectionContext): TemplateSection {
  const spec = manifest.cluster.spec;
  const resources: Json = {};
  const ingress = (id: string, group: string, rule: Json) => {
    resources[id] = {
      Type: 'AWS::EC2::SecurityGroupIngress',
      Properties: { GroupId: { 'Fn::GetAtt': [group, 'GroupId'] }, ...rule },
    };
  };
  const fromGroup = (group: string) => ({
    SourceSecurityGroupId: { 'Fn::GetAtt': [group, 'GroupId'] },
  });
  ingress('MastersFromMasters', 'MastersSecurityGroup', {
    IpProtocol: '-1',
    ...fromGroup('MastersSecurityGroup'),
  });
  ingress('MastersFromNodes', 'MastersSecurityGroup', {
    IpProtocol: '-1',
    ...fromGroup('NodesSecurityGroup'),
  });
  ingress('NodesFromMasters', 'NodesSecurityGroup', {
    IpProtocol: '-1',
    ...fromGroup('MastersSecurityGroup'),
  });
  ingress('NodesFromNodes', 'NodesSecurityGroup', {
    IpProtocol: '-1',
    ...fromGroup('NodesSecurityGroup'),
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
    const ssh = { IpProtocol: 'tcp', FromPort: 22, ToPort: 22 };
    ingress('MastersSshFromBastion', 'MastersSecurityGroup', {
      ...ssh,
      ...fromGroup('BastionSecurityGroup'),
    });
    ingress('NodesSshFromBastion', 'NodesSecurityGroup', {
      ...ssh,
      ...fromGroup('BastionSecurityGroup'),
    });
  }
  return { resources, outputs: {} };
}

/** The policy statements of the control plane's role. */
function controlPlaneStatements({
  name,
  deployment,
  partition,
  stateBucket,
  vpcId,
  manifest,
}: SectionContext) {
  const bucketArn = `arn:${partition}:s3:::${stateBucket}`;
  const clusterObjects = `${bucketArn}/${clusterFolder(name)}`;
  return [
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
    ...etcdVolumeStatements(name, deployment),
    ...vpcCniStatementsOf({ name, vpcId, manifest }),
  ];
}

/** The policy statements of a node's role: what joining takes, nothing of the control plane's keys. */
function nodeStatements({ name, partition, stateBucket, vpcId, manifest }: SectionContext) {
  const clusterObjects = `arn:${partition}:s3:::${stateBucket}/${clusterFolder(name)}`;
  return [
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
    ...vpcCniStatementsOf({ name, vpcId, manifest }),
  ];
}

/** The VPC CNI's statements, for a cluster that runs it. */
function vpcCniStatementsOf({
  name,
  vpcId,
  manifest,
}: Pick<SectionContext, 'name' | 'vpcId' | 'manifest'>): Json[] {
  return manifest.cluster.spec.networking?.amazonvpc !== undefined
    ? vpcCniStatements(name, vpcId)
    : [];
}

/**
 * IAM: one role per kind of instance, named with the cluster's hash so no two clusters share one
 * (names.ts); the kOps name (`masters.<cluster>`) is the Name tag. Instance profiles are made by
 * the launch stage (instance-profiles.ts), except those `held` by a stack made before: rendered
 * as they were, with their role kept even when no group uses it, and retained, so that
 * CloudFormation never calls IAM for them again; the delete stage removes them.
 */
function renderInstanceRoles(
  context: SectionContext,
  held: readonly InstanceRoleKind[],
): TemplateSection {
  const { name, deployment, hasBastion, tagged } = context;
  const roles: Array<[string, InstanceRoleKind, Json[]]> = [
    ['Masters', 'masters', controlPlaneStatements(context)],
    ['Nodes', 'nodes', nodeStatements(context)],
  ];
  if (hasBastion || held.includes('bastions'))
    roles.push([
      'Bastions',
      'bastions',
      [{ Effect: 'Allow', Action: ['ec2:DescribeRegions'], Resource: '*' }],
    ]);
  const section: TemplateSection = { resources: {}, outputs: {} };
  for (const [kind, roleKind, statements] of roles) {
    const kopsName = kopsRoleName(roleKind, name);
    section.resources[`${kind}Role`] = {
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
        Tags: tagged({ Name: nameTag(kopsName).Value }),
      },
    };
    if (!held.includes(roleKind)) continue;
    section.resources[`${kind}InstanceProfile`] = {
      Type: 'AWS::IAM::InstanceProfile',
      // Changing only these policies makes no IAM call; deleting the stack then leaves it alone.
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        InstanceProfileName: instanceProfileName(roleKind, name),
        Path: CLUSTER_ROLE_PATH,
        Roles: [{ Ref: `${kind}Role` }],
      },
    };
    section.outputs[`${kind}InstanceProfileArn`] = {
      Value: { 'Fn::GetAtt': [`${kind}InstanceProfile`, 'Arn'] },
    };
  }
  return section;
}

/**
 * The cluster's API function in its VPC (stack-cluster-api.ts), when the deployment gives its
 * layer; the S3 gateway endpoint goes into the route tables the network section made.
 */
function renderClusterApi(
  { manifest, stateBucket, partition, deployment, vpcId, tagged }: SectionContext,
  network: TemplateSection,
  layerArn?: string,
): TemplateSection {
  if (!layerArn) return { resources: {}, outputs: {} };
  const routeTables = Object.keys(network.resources)
    .filter((id) => (network.resources[id] as Json).Type === 'AWS::EC2::RouteTable')
    .sort();
  return {
    resources: clusterApiResources({
      manifest,
      stateBucket,
      partition,
      deployment,
      layerArn,
      vpcId,
      routeTables,
      tags: tagged,
    }),
    outputs: {},
  };
}

/** The API load balancer, its listener and target group (`spec.api.loadBalancer`), when asked for. */
function renderApiLoadBalancer({ manifest, vpcId, tagged }: SectionContext): TemplateSection {
  if (!hasApiLoadBalancer(manifest.cluster)) return { resources: {}, outputs: {} };
  const { resources, outputs } = apiLoadBalancerResources(manifest.cluster, {
    tags: tagged(),
    vpcId,
  });
  return { resources, outputs };
}

/**
 * DNS: records in the user's zone (kOps's placeholder, or aliases to the load balancer); with
 * DNS None there is no zone and no record, and the API is the load balancer's name.
 */
function renderApiRecords(manifest: CompletedManifest, hostedZoneId?: string): TemplateSection {
  if (hostedZoneId === undefined) return { resources: {}, outputs: {} };
  return {
    resources: apiRecords(manifest, hostedZoneId, {
      loadBalancer: hasApiLoadBalancer(manifest.cluster),
    }),
    outputs: { HostedZoneId: { Value: hostedZoneId } },
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
