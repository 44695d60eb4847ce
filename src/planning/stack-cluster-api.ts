import type { CompletedManifest } from '../manifest/completed.js';
import { storeKey } from '../state/layout.js';
import { clusterApiShim, SHIM_HANDLER } from './cluster-api-shim.js';
import {
  CLUSTER_API_ETCD_ALIAS,
  clusterApiFunctionName,
  clusterApiRoleName,
  nameTag,
  subnetLogicalIds,
} from './names.js';
import { boundaryArn, CLUSTER_ROLE_PATH, clusterVpcArn } from './stack-iam.js';
import { isSharedSubnet } from './stack-network.js';

/**
 * The cluster API function in a cluster's stack (docs/network-path.md): the one function that
 * dials the cluster's Kubernetes API, attached to the cluster's own subnets so it reaches
 * `api.internal.<cluster>` (or the internal load balancer) at its private address. The shared
 * functions invoke it with a small allow-listed request (src/kube/cluster-api-protocol.ts) and
 * never hold the cluster's kubeconfig.
 */

type Json = Record<string, unknown>;

/** etcd's client port on every control-plane instance, where the member API answers. */
export const ETCD_CLIENT_PORT = 2379;

/** The cluster API function's MemorySize, in MB. */
export const CLUSTER_API_MEMORY_MB = 512;

/**
 * The cluster API function's environment, as its cluster stack sets it (the local backend runs
 * the layer with the same, under `KOPSLESS_BUNDLES=1`).
 */
export function clusterApiEnvironment(
  cluster: string,
  stateBucket: string,
  apiServerHost = `api.internal.${cluster}`,
  vpcCidrs: string[] = [],
): Record<string, string> {
  return {
    CLUSTER_NAME: cluster,
    STATE_BUCKET: stateBucket,
    API_SERVER_HOST: apiServerHost,
    // The control-plane addresses etcd is dialed on must be inside these.
    ...(vpcCidrs.length > 0 ? { VPC_CIDRS: vpcCidrs.join(',') } : {}),
    NODE_OPTIONS: '--enable-source-maps',
    AWS_MAX_ATTEMPTS: '5',
    POWERTOOLS_LOG_LEVEL: 'INFO',
  };
}

/** The cluster API function's Timeout: the ENI watcher's (template.yaml), which waits for it. */
export const CLUSTER_API_TIMEOUT_SECONDS = 120;

export interface ClusterApiStackInput {
  manifest: CompletedManifest;
  stateBucket: string;
  partition: string;
  /** The kopsless deployment: the role's boundary is its. */
  deployment: string;
  /** The ARN of the deployment's ClusterApiLayer version (the launch function's CLUSTER_API_LAYER_ARN). */
  layerArn: string;
  /** The VPC: the stack's `Vpc` (a Ref) or a shared VPC's ID. */
  vpcId: unknown;
  /** The logical IDs of the route tables the stack made: the S3 gateway endpoint goes into them. */
  routeTables: string[];
  /** Tags of the cluster's resources (the cluster's, the owner's, the cloud labels), plus `extra`. */
  tags: (extra?: Record<string, string>) => unknown[];
}

const ec2Arn = (type: string): Json => ({
  'Fn::Sub': `arn:\${AWS::Partition}:ec2:\${AWS::Region}:\${AWS::AccountId}:${type}/*`,
});

/**
 * What Lambda does with the function's role to attach it to the subnets (the actions of
 * AWSLambdaVPCAccessExecutionRole, written inline since the service role may not attach managed
 * policies), each limited to the cluster's VPC where EC2 has a resource for it: the Describe
 * calls take `*` only. Logs go to the function's own log group.
 */
function vpcAccessStatements(name: string, vpcId: unknown): Json[] {
  return [
    {
      Sid: 'LambdaDescribesTheNetwork',
      Effect: 'Allow',
      Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
      Resource: '*',
    },
    {
      Sid: 'LambdaInterfacesInOwnVpc',
      Effect: 'Allow',
      Action: [
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      Resource: [ec2Arn('network-interface'), ec2Arn('subnet'), ec2Arn('security-group')],
      Condition: { ArnEquals: { 'ec2:Vpc': clusterVpcArn(vpcId) } },
    },
    {
      Sid: 'OwnLogGroup',
      Effect: 'Allow',
      Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: {
        'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${clusterApiFunctionName(name)}:*`,
      },
    },
  ];
}

/** The subnets the function is attached to: the cluster's private ones, else its public ones. */
function attachedSubnets(manifest: CompletedManifest): unknown[] {
  const subnets = manifest.cluster.spec.subnets ?? [];
  const isPrivate = subnets.some((s) => s.type === 'Private');
  return subnets
    .filter((s) => (isPrivate ? s.type === 'Private' : s.type !== 'Private'))
    .map((s) => (isSharedSubnet(s) ? s.id : { Ref: subnetLogicalIds(s.name).subnet }));
}

/**
 * The resources of the cluster API function: its security group (HTTPS out only; the control
 * plane admits it on 443), an S3 gateway endpoint in the route tables the stack made (the state
 * store without a NAT gateway), its role (under the cluster-role path and boundary; this
 * cluster's kubeconfig and the ENI work Lambda does in the VPC, nothing else) and the function,
 * whose inline handler loads the deployment's layer.
 */
export function clusterApiResources(input: ClusterApiStackInput): Json {
  const { manifest, vpcId } = input;
  const name = manifest.cluster.metadata.name;
  const objectArn = (key: string) => `arn:${input.partition}:s3:::${input.stateBucket}/${key}`;
  const label = nameTag(`kubeapi.${name}`).Value;
  return {
    ClusterApiSecurityGroup: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: `kopsless cluster API function of ${name}`,
        VpcId: vpcId,
        SecurityGroupEgress: [
          {
            IpProtocol: 'tcp',
            FromPort: 443,
            ToPort: 443,
            CidrIp: '0.0.0.0/0',
            Description: 'Kubernetes API and the state store (S3 gateway endpoint)',
          },
          {
            IpProtocol: 'tcp',
            FromPort: ETCD_CLIENT_PORT,
            ToPort: ETCD_CLIENT_PORT,
            DestinationSecurityGroupId: { 'Fn::GetAtt': ['MastersSecurityGroup', 'GroupId'] },
            Description: "etcd's member API on the control plane",
          },
        ],
        Tags: input.tags({ Name: label }),
      },
    },
    MastersFromClusterApi: {
      Type: 'AWS::EC2::SecurityGroupIngress',
      Properties: {
        GroupId: { 'Fn::GetAtt': ['MastersSecurityGroup', 'GroupId'] },
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        SourceSecurityGroupId: { 'Fn::GetAtt': ['ClusterApiSecurityGroup', 'GroupId'] },
        Description: 'Kubernetes API from the kopsless cluster API function',
      },
    },
    // The roll removes a control-plane instance's etcd member through this function.
    MastersEtcdFromClusterApi: {
      Type: 'AWS::EC2::SecurityGroupIngress',
      Properties: {
        GroupId: { 'Fn::GetAtt': ['MastersSecurityGroup', 'GroupId'] },
        IpProtocol: 'tcp',
        FromPort: ETCD_CLIENT_PORT,
        ToPort: ETCD_CLIENT_PORT,
        SourceSecurityGroupId: { 'Fn::GetAtt': ['ClusterApiSecurityGroup', 'GroupId'] },
        Description: 'etcd member API from the kopsless cluster API function',
      },
    },
    ...(input.routeTables.length > 0
      ? {
          StateStoreEndpoint: {
            Type: 'AWS::EC2::VPCEndpoint',
            Properties: {
              VpcEndpointType: 'Gateway',
              VpcId: vpcId,
              ServiceName: { 'Fn::Sub': 'com.amazonaws.${AWS::Region}.s3' },
              RouteTableIds: input.routeTables.map((id) => ({ Ref: id })),
              Tags: input.tags({ Name: nameTag(`s3.${name}`).Value }),
            },
          },
        }
      : {}),
    ClusterApiRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: clusterApiRoleName(name),
        Path: CLUSTER_ROLE_PATH,
        PermissionsBoundary: boundaryArn(input.deployment),
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'lambda.amazonaws.com' },
              Action: 'sts:AssumeRole',
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'cluster-api',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                // This cluster's admin kubeconfig and etcd client certificate, and nothing else
                // of the state store. The key policy lets the kopsless-kubeapi-* roles decrypt
                // them through S3.
                {
                  Sid: 'OwnKubeconfigAndEtcdClient',
                  Effect: 'Allow',
                  Action: 's3:GetObject',
                  Resource: [
                    objectArn(storeKey.kubeconfig(name)),
                    objectArn(storeKey.etcdClient(name)),
                  ],
                },
                // The kubeconfig is under the secrets key: decrypted through S3 only.
                {
                  Sid: 'DecryptThroughS3',
                  Effect: 'Allow',
                  Action: 'kms:Decrypt',
                  Resource: {
                    'Fn::Sub': 'arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*',
                  },
                  Condition: {
                    StringEquals: {
                      'kms:ViaService': { 'Fn::Sub': 's3.${AWS::Region}.amazonaws.com' },
                    },
                  },
                },
                ...vpcAccessStatements(name, vpcId),
              ],
            },
          },
        ],
        Tags: input.tags({ Name: label }),
      },
    },
    ClusterApiFunction: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        FunctionName: clusterApiFunctionName(name),
        Description: `kopsless: the Kubernetes API of ${name}, from inside its VPC`.slice(0, 256),
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: SHIM_HANDLER,
        Code: { ZipFile: clusterApiShim() },
        Layers: [input.layerArn],
        Role: { 'Fn::GetAtt': ['ClusterApiRole', 'Arn'] },
        MemorySize: CLUSTER_API_MEMORY_MB,
        // The watcher's whole pod-slot count runs in one invocation (550,000 pods at 5,000
        // nodes): as long as the watcher itself may run.
        Timeout: CLUSTER_API_TIMEOUT_SECONDS,
        TracingConfig: { Mode: 'Active' },
        VpcConfig: {
          SubnetIds: attachedSubnets(manifest),
          SecurityGroupIds: [{ 'Fn::GetAtt': ['ClusterApiSecurityGroup', 'GroupId'] }],
        },
        Environment: {
          Variables: clusterApiEnvironment(
            name,
            input.stateBucket,
            manifest.cluster.spec.masterInternalName,
            [
              ...(manifest.cluster.spec.networkCIDR ? [manifest.cluster.spec.networkCIDR] : []),
              ...(manifest.cluster.spec.additionalNetworkCIDRs ?? []),
            ],
          ),
        },
        Tags: input.tags(),
      },
      // The state store through the endpoint from the first invocation.
      ...(input.routeTables.length > 0 ? { DependsOn: ['StateStoreEndpoint'] } : {}),
    },
    // The etcd operations are served only through this alias (`function:<name>:etcd`), which
    // IAM tells from the function's ARN: the rolling update alone may invoke it. It runs
    // $LATEST, the same code and settings as the function, so no version is published and none
    // can fall behind the layer.
    ClusterApiEtcdAlias: {
      Type: 'AWS::Lambda::Alias',
      Properties: {
        FunctionName: { Ref: 'ClusterApiFunction' },
        FunctionVersion: '$LATEST',
        Name: CLUSTER_API_ETCD_ALIAS,
        Description: `kopsless: the etcd membership of ${name}, for the rolling update alone`.slice(
          0,
          256,
        ),
      },
    },
  };
}
