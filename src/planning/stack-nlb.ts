import type { CompletedCluster } from '../manifest/completed.js';
import type { ClusterSubnetSpec } from '../manifest/types.js';
import { stableHash } from './names.js';
import { isSharedSubnet, subnetOutputKey } from './stack-network.js';

/**
 * The API's Network Load Balancer (`spec.api.loadBalancer`, class Network) in the cluster stack:
 * the load balancer in one subnet per zone (public and utility subnets for `Public`, private ones
 * for `Internal`), a TCP 443 listener, and the target group the control-plane Auto Scaling groups
 * register their instances in. Pure.
 */

type Json = Record<string, unknown>;
type Tag = { Key: string; Value: string };

/**
 * How long a deregistered control-plane instance keeps its open connections before the load
 * balancer drops them; the roll waits this long between deregistering and terminating it.
 */
export const API_DEREGISTRATION_DELAY_SECONDS = 30;

/** The stack outputs the load balancer adds. */
export const API_LOAD_BALANCER_OUTPUTS = {
  dnsName: 'ApiLoadBalancerDnsName',
  hostedZoneId: 'ApiLoadBalancerHostedZoneId',
  targetGroupArn: 'ApiTargetGroupArn',
} as const;

/**
 * The API load balancer's name: `api-` and 12 hex digits of the cluster name's hash, within
 * Elastic Load Balancing's 32 characters and unique per cluster.
 */
export function apiLoadBalancerName(cluster: string): string {
  return `api-${stableHash(cluster).slice(0, 12)}`;
}

function apiTargetGroupName(cluster: string): string {
  return `tcp-${stableHash(cluster).slice(0, 12)}`;
}

/**
 * Whether a host name is the DNS name Elastic Load Balancing gives the cluster's API load balancer
 * (`<name>-<id>.elb.<region>.amazonaws.com`, an internal one's with `internal-` before it): with
 * DNS None the only name the cluster's API has, so the one its stored kubeconfig may name.
 */
export function isApiLoadBalancerHost(cluster: string, host: string, region?: string): boolean {
  const name = apiLoadBalancerName(cluster);
  const pattern = new RegExp(
    `^(?:internal-)?${name}-[a-z0-9]+\\.(?:elb\\.([a-z0-9-]+)|([a-z0-9-]+)\\.elb)\\.amazonaws\\.com(?:\\.cn)?$`,
  );
  const match = pattern.exec(host.toLowerCase());
  // Load balancer names are unique only within an account and region: one of this name in
  // another region is nobody's promise, so the functions' own region is required when known.
  return !!match && (!region || (match[1] ?? match[2]) === region);
}

/** Whether the cluster's API is behind a load balancer. */
export function hasApiLoadBalancer(cluster: CompletedCluster): boolean {
  const lb = cluster.spec.api?.loadBalancer;
  return typeof lb === 'object' && lb !== null;
}

/** The load balancer's scheme: kOps's `Public` (the default) or `Internal`. */
export function apiLoadBalancerScheme(cluster: CompletedCluster): 'internet-facing' | 'internal' {
  return cluster.spec.api?.loadBalancer?.type === 'Internal' ? 'internal' : 'internet-facing';
}

/** One subnet per zone, of the kinds the scheme needs, in the manifest's order. */
function loadBalancerSubnets(
  subnets: ClusterSubnetSpec[],
  scheme: 'internet-facing' | 'internal',
): ClusterSubnetSpec[] {
  const wanted =
    scheme === 'internal'
      ? (s: ClusterSubnetSpec) => s.type === 'Private'
      : (s: ClusterSubnetSpec) => s.type === 'Public' || s.type === 'Utility';
  const byZone = new Map<string, ClusterSubnetSpec>();
  for (const subnet of subnets.filter(wanted))
    if (!byZone.has(subnet.zone)) byZone.set(subnet.zone, subnet);
  return [...byZone.values()];
}

/**
 * The load balancer's resources and outputs. Names are at most 32 characters (Elastic Load
 * Balancing's limit) and unique per cluster: a hash of the cluster name.
 */
export function apiLoadBalancerResources(
  cluster: CompletedCluster,
  context: {
    /** The tags of every resource the stack creates. */
    tags: Tag[];
    /** The VPC ID as the rest of the stack uses it: a `Ref` to the stack's VPC or a shared VPC's ID. */
    vpcId: unknown;
  },
): { resources: Json; outputs: Json } {
  const { tags, vpcId } = context;
  const scheme = apiLoadBalancerScheme(cluster);
  const subnets = loadBalancerSubnets(cluster.spec.subnets ?? [], scheme);
  const resources: Json = {
    ApiLoadBalancer: {
      Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
      Properties: {
        Name: apiLoadBalancerName(cluster.metadata.name),
        Type: 'network',
        Scheme: scheme,
        Subnets: subnets.map((s) => (isSharedSubnet(s) ? s.id : { Ref: subnetOutputKey(s.name) })),
        LoadBalancerAttributes: [{ Key: 'load_balancing.cross_zone.enabled', Value: 'true' }],
        Tags: tags,
      },
    },
    ApiTargetGroup: {
      Type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
      Properties: {
        Name: apiTargetGroupName(cluster.metadata.name),
        Protocol: 'TCP',
        Port: 443,
        TargetType: 'instance',
        VpcId: vpcId,
        HealthCheckProtocol: 'TCP',
        HealthCheckPort: 'traffic-port',
        HealthCheckIntervalSeconds: 10,
        HealthyThresholdCount: 2,
        UnhealthyThresholdCount: 2,
        TargetGroupAttributes: [
          {
            Key: 'deregistration_delay.timeout_seconds',
            Value: String(API_DEREGISTRATION_DELAY_SECONDS),
          },
        ],
        Tags: tags,
      },
    },
    // A listener takes no tags in CloudFormation, so no stack role may modify or delete one (it
    // could not tell its cluster's from another's): deleting the load balancer deletes it.
    ApiListener: {
      Type: 'AWS::ElasticLoadBalancingV2::Listener',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        LoadBalancerArn: { Ref: 'ApiLoadBalancer' },
        Protocol: 'TCP',
        Port: 443,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: 'ApiTargetGroup' } }],
      },
    },
    // The load balancer keeps the client's address, so the control plane sees its health checks
    // (and an internal load balancer's clients) coming from the VPC.
    MastersApiFromVpc: {
      Type: 'AWS::EC2::SecurityGroupIngress',
      Properties: {
        GroupId: { 'Fn::GetAtt': ['MastersSecurityGroup', 'GroupId'] },
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        CidrIp: cluster.spec.networkCIDR,
        Description: 'Kubernetes API through the API load balancer (health checks, VPC clients)',
      },
    },
  };
  const outputs: Json = {
    [API_LOAD_BALANCER_OUTPUTS.dnsName]: {
      Value: { 'Fn::GetAtt': ['ApiLoadBalancer', 'DNSName'] },
    },
    [API_LOAD_BALANCER_OUTPUTS.hostedZoneId]: {
      Value: { 'Fn::GetAtt': ['ApiLoadBalancer', 'CanonicalHostedZoneID'] },
    },
    [API_LOAD_BALANCER_OUTPUTS.targetGroupArn]: { Value: { Ref: 'ApiTargetGroup' } },
  };
  return { resources, outputs };
}

/** The alias that points an API record at the load balancer, in place of kOps's placeholder address. */
export function apiLoadBalancerAlias(): Json {
  return {
    DNSName: { 'Fn::GetAtt': ['ApiLoadBalancer', 'DNSName'] },
    HostedZoneId: { 'Fn::GetAtt': ['ApiLoadBalancer', 'CanonicalHostedZoneID'] },
    EvaluateTargetHealth: false,
  };
}
