import { CLUSTER_TAG, OWNER_TAG } from './names.js';

/**
 * The IAM of a cluster stack's instance roles that keeps them inside their own cluster: the path
 * and permissions boundary every role carries, and grants conditioned on the cluster's own VPC
 * and tags rather than on `*`.
 *
 * CONTRACT with template.yaml: the boundary is the managed policy
 * `<deployment>-cluster-roles-boundary` under {@link CLUSTER_ROLE_PATH}, and CloudFormation's
 * service role may create a role only under that path and only with that boundary.
 */

type Json = Record<string, unknown>;

/** The IAM path of every role a cluster stack makes (and of the profiles it made before they left it). */
export const CLUSTER_ROLE_PATH = '/kopsless/';

/** The managed policy that bounds every role of a cluster stack made by this deployment. */
export function boundaryPolicyName(deployment: string): string {
  return `${deployment}-cluster-roles-boundary`;
}

/** The boundary's ARN, resolved by CloudFormation in the cluster's account and partition. */
export function boundaryArn(deployment: string): Json {
  return {
    'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:policy${CLUSTER_ROLE_PATH}${boundaryPolicyName(deployment)}`,
  };
}

/**
 * The ARN of the cluster's VPC, as the `ec2:Vpc` condition key holds it: the stack's own `Vpc`
 * resource, or the ID of a VPC the manifest shares (`spec.networkID`).
 */
export function clusterVpcArn(vpcId: unknown): Json {
  return {
    'Fn::Sub':
      typeof vpcId === 'string'
        ? `arn:\${AWS::Partition}:ec2:\${AWS::Region}:\${AWS::AccountId}:vpc/${vpcId}`
        : 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc/${Vpc}',
  };
}

const ec2Arn = (type: string): Json => ({
  'Fn::Sub': `arn:\${AWS::Partition}:ec2:\${AWS::Region}:\${AWS::AccountId}:${type}/*`,
});

/**
 * What the VPC CNI calls on a node (AmazonEKS_CNI_Policy's actions), each limited to the
 * cluster's VPC: network interfaces, subnets and security groups by `ec2:Vpc`, instances by the
 * cluster tag. A node of one cluster cannot make, attach, change or delete another's interfaces.
 */
export function vpcCniStatements(cluster: string, vpcId: unknown): Json[] {
  const inOwnVpc = { ArnEquals: { 'ec2:Vpc': clusterVpcArn(vpcId) } };
  return [
    {
      Sid: 'VpcCniDescribe',
      Effect: 'Allow',
      // Describe calls take no resource and no condition.
      Action: [
        'ec2:DescribeInstances',
        'ec2:DescribeInstanceTypes',
        'ec2:DescribeTags',
        'ec2:DescribeNetworkInterfaces',
      ],
      Resource: '*',
    },
    {
      Sid: 'VpcCniInterfacesInOwnVpc',
      Effect: 'Allow',
      Action: [
        'ec2:AssignPrivateIpAddresses',
        'ec2:AttachNetworkInterface',
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:DetachNetworkInterface',
        'ec2:ModifyNetworkInterfaceAttribute',
        'ec2:UnassignPrivateIpAddresses',
      ],
      Resource: [ec2Arn('network-interface'), ec2Arn('subnet'), ec2Arn('security-group')],
      Condition: inOwnVpc,
    },
    {
      Sid: 'VpcCniOwnInstances',
      Effect: 'Allow',
      Action: ['ec2:AttachNetworkInterface', 'ec2:DetachNetworkInterface'],
      Resource: ec2Arn('instance'),
      Condition: { StringEquals: { [`aws:ResourceTag/${CLUSTER_TAG}`]: cluster } },
    },
    {
      Sid: 'VpcCniTagNewInterfaces',
      Effect: 'Allow',
      Action: 'ec2:CreateTags',
      Resource: ec2Arn('network-interface'),
      Condition: { StringEquals: { 'ec2:CreateAction': 'CreateNetworkInterface' } },
    },
  ];
}

/**
 * etcd's volume: created empty (no parent snapshot, and a snapshot resource is never granted, so
 * a volume from anyone's snapshot is refused), encrypted, tagged for the cluster and with the
 * deployment's owner tag at creation, and attached only to the cluster's instances.
 */
export function etcdVolumeStatements(cluster: string, deployment: string): Json[] {
  return [
    {
      Sid: 'EtcdVolumeCreate',
      Effect: 'Allow',
      Action: 'ec2:CreateVolume',
      Resource: ec2Arn('volume'),
      Condition: {
        Bool: { 'ec2:Encrypted': 'true' },
        Null: { 'ec2:ParentSnapshot': 'true' },
        // The owner tag is what lets the delete stage remove the volume: set here, at creation.
        StringEquals: {
          [`aws:RequestTag/${CLUSTER_TAG}`]: cluster,
          [`aws:RequestTag/${OWNER_TAG}`]: deployment,
        },
      },
    },
    {
      Sid: 'EtcdVolumeTagAtCreation',
      Effect: 'Allow',
      Action: 'ec2:CreateTags',
      Resource: ec2Arn('volume'),
      Condition: { StringEquals: { 'ec2:CreateAction': 'CreateVolume' } },
    },
    {
      Sid: 'EtcdVolumeAttach',
      Effect: 'Allow',
      Action: 'ec2:AttachVolume',
      Resource: [ec2Arn('volume'), ec2Arn('instance')],
      Condition: { StringEquals: { [`aws:ResourceTag/${CLUSTER_TAG}`]: cluster } },
    },
  ];
}
