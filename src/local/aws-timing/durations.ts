/**
 * How long AWS itself takes for what a cluster create waits on, in seconds, each figure with
 * where it comes from. The local backend applies them on its simulated clock (simulate.ts) so
 * that a create run in simulated time waits, through the state machine's own polling, about as
 * long as it would in an AWS account; the bench's model of kOps (scripts/bench/kops-create-model.ts)
 * uses the same figures for the same AWS resources. Where the sources give a range the model
 * takes a typical value and says so; none of these is a guarantee AWS gives.
 */

/** One modelled duration and its provenance. */
export interface AwsDuration {
  seconds: number;
  /** Public sources the figure is taken from or checked against. */
  sources: readonly string[];
  /** How the figure follows from the sources (which value of a range, what it adds up). */
  basis: string;
}

/** Each figure once; the CloudFormation resource table below refers to these. */
export const AWS_DURATIONS = {
  ec2NetworkResource: {
    seconds: 5,
    sources: [
      'https://github.com/kubernetes-sigs/cluster-api-provider-aws/issues/241',
      'https://github.com/hashicorp-education/learn-terraform-variables/pull/6',
    ],
    basis:
      'CreateVpc, CreateSubnet and security-group rules complete within 1-5 s in the CloudTrail and Terraform logs quoted there; 5 s covers CloudFormation reading each back',
  },
  internetGatewayAttachment: {
    seconds: 15,
    sources: ['https://github.com/kubernetes-sigs/cluster-api-provider-aws/issues/241'],
    basis:
      'attaching a gateway is a separate call after the gateway and the VPC exist; modelled as three network-resource steps',
  },
  natGateway: {
    seconds: 120,
    sources: [
      'https://github.com/kubernetes/kops/pull/944',
      'https://github.com/kubernetes/kops/pull/995',
      'https://github.com/hashicorp/terraform/issues/8687',
    ],
    basis:
      'pending to available "can take up to 10 min" (kOps #944), "up to 5 min" (its code comment), over 3 min in the Terraform log; the model takes a typical 2 minutes',
  },
  iamRole: {
    seconds: 5,
    sources: [
      'https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency',
    ],
    basis: 'one IAM write; its propagation is paid where the role is used (the instance profile)',
  },
  cloudFormationInstanceProfile: {
    seconds: 120,
    sources: [
      'https://github.com/hashicorp/terraform/issues/15341',
      'https://github.com/hashicorp/terraform-provider-aws/issues/838',
    ],
    basis:
      'CloudFormation waits a fixed 2 minutes after creating an instance profile so that it has propagated before anything launches with it (AWS forum answer quoted in both threads)',
  },
  iamInstanceProfilePropagation: {
    seconds: 10,
    sources: [
      'https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency',
      'https://github.com/hashicorp/terraform/pull/11678',
    ],
    basis:
      'until an instance profile made, or given its role, through the IAM API is usable by Auto Scaling ("Invalid IAM Instance Profile name" before): AWS documents no figure; 10 s is a low guess, applied alike to kOps and to kopsless, which both make their profiles through IAM and retry their groups',
  },
  lambdaFunction: {
    seconds: 10,
    sources: ['https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html'],
    basis:
      "a new function is Pending while Lambda creates its resources (a VPC function its network interfaces); the page gives no duration: 10 s is the model's value",
  },
  networkLoadBalancer: {
    seconds: 180,
    sources: [
      'https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_LoadBalancerState.html',
    ],
    basis:
      "a new load balancer is provisioning until it is active; the page gives no duration: 3 minutes is the model's value",
  },
  route53Change: {
    seconds: 60,
    sources: [
      'https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-deleting.html',
      'https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetChange.html',
    ],
    basis:
      '"Changes generally propagate to all Route 53 name servers within 60 seconds"; GetChange says PENDING until then, INSYNC after',
  },
  instanceInService: {
    seconds: 20,
    sources: [
      'http://www.daemonology.net/blog/2021-08-12-EC2-boot-time-benchmarking.html',
      'https://github.com/brevdev/ec2-coldboot-research/blob/main/@fix_plan.md',
    ],
    basis:
      'RunInstances 1.5 s, pending to running 4.9 s (c5.xlarge) to 16.5 s (t3.medium and five other types); Auto Scaling reports an instance InService once it runs (no lifecycle hook): 20 s',
  },
  nodeReady: {
    seconds: 150,
    sources: [
      'http://www.daemonology.net/blog/2021-08-12-EC2-boot-time-benchmarking.html',
      'https://github.com/kubernetes/kops/issues/15961',
    ],
    basis:
      'from the launch call until the node is Ready: running after ~20 s, the OS up ~23 s later (running to SSH open), downloading containerd, kubelet and the CNI ~70 s (the containerd download alone took 69 s in the kOps job of #15961), kubelet registering and the CNI ready ~30 s: ~145 s, taken as 150 s, the figure the rolling-update bench uses for a replacement',
  },
} as const satisfies Record<string, AwsDuration>;

export type AwsDurationName = keyof typeof AWS_DURATIONS;

/** CloudFormation resource types and the figure each takes to create; unlisted types take `ec2NetworkResource`. */
export const CLOUDFORMATION_CREATE: Readonly<Record<string, AwsDurationName>> = {
  'AWS::EC2::VPC': 'ec2NetworkResource',
  'AWS::EC2::Subnet': 'ec2NetworkResource',
  'AWS::EC2::InternetGateway': 'ec2NetworkResource',
  'AWS::EC2::VPCGatewayAttachment': 'internetGatewayAttachment',
  'AWS::EC2::RouteTable': 'ec2NetworkResource',
  'AWS::EC2::Route': 'ec2NetworkResource',
  'AWS::EC2::SubnetRouteTableAssociation': 'ec2NetworkResource',
  'AWS::EC2::SecurityGroup': 'ec2NetworkResource',
  'AWS::EC2::SecurityGroupIngress': 'ec2NetworkResource',
  'AWS::EC2::EIP': 'ec2NetworkResource',
  'AWS::EC2::NatGateway': 'natGateway',
  // The stacks' only endpoint is a gateway endpoint (S3): a route-table entry, no interfaces.
  'AWS::EC2::VPCEndpoint': 'ec2NetworkResource',
  'AWS::IAM::Role': 'iamRole',
  'AWS::IAM::Policy': 'iamRole',
  // Only in a stack made before instance profiles left it (retained there, never created again).
  'AWS::IAM::InstanceProfile': 'cloudFormationInstanceProfile',
  'AWS::Lambda::Function': 'lambdaFunction',
  'AWS::ElasticLoadBalancingV2::LoadBalancer': 'networkLoadBalancer',
  'AWS::ElasticLoadBalancingV2::TargetGroup': 'ec2NetworkResource',
  'AWS::ElasticLoadBalancingV2::Listener': 'ec2NetworkResource',
  'AWS::Route53::RecordSet': 'route53Change',
};

/** Seconds CloudFormation takes to create one resource of `type`. */
export function resourceCreateSeconds(type: string): number {
  return AWS_DURATIONS[CLOUDFORMATION_CREATE[type] ?? 'ec2NetworkResource'].seconds;
}
