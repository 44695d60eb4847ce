import type { InstanceTypeInfo } from '../../src/planning/max-pods.js';
import { instanceProfileName } from '../../src/planning/names.js';
import type { StackOutputs } from '../../src/planning/stack-template.js';

/** Instance data as EC2 DescribeInstanceTypes reports it (default network card only). */
export const INSTANCE_TYPES: Record<string, InstanceTypeInfo> = {
  't3.medium': {
    instanceType: 't3.medium',
    vcpus: 2,
    maxEnis: 3,
    ipv4PerEni: 6,
    hypervisor: 'nitro',
    bareMetal: false,
  },
  't3.micro': {
    instanceType: 't3.micro',
    vcpus: 2,
    maxEnis: 2,
    ipv4PerEni: 2,
    hypervisor: 'nitro',
    bareMetal: false,
  },
  'm5.large': {
    instanceType: 'm5.large',
    vcpus: 2,
    maxEnis: 3,
    ipv4PerEni: 10,
    hypervisor: 'nitro',
    bareMetal: false,
  },
  'm5.8xlarge': {
    instanceType: 'm5.8xlarge',
    vcpus: 32,
    maxEnis: 8,
    ipv4PerEni: 30,
    hypervisor: 'nitro',
    bareMetal: false,
  },
  'm5.24xlarge': {
    instanceType: 'm5.24xlarge',
    vcpus: 96,
    maxEnis: 15,
    ipv4PerEni: 50,
    hypervisor: 'nitro',
    bareMetal: false,
  },
  'm5.metal': { instanceType: 'm5.metal', vcpus: 96, maxEnis: 15, ipv4PerEni: 50, bareMetal: true },
  'm4.large': {
    instanceType: 'm4.large',
    vcpus: 2,
    maxEnis: 2,
    ipv4PerEni: 10,
    hypervisor: 'xen',
    bareMetal: false,
  },
  't2.medium': {
    instanceType: 't2.medium',
    vcpus: 2,
    maxEnis: 3,
    ipv4PerEni: 6,
    hypervisor: 'xen',
    bareMetal: false,
  },
  // p4d: four network cards of 15 ENIs each; only the default card's ENIs carry pods.
  'p4d.24xlarge': {
    instanceType: 'p4d.24xlarge',
    vcpus: 96,
    maxEnis: 15,
    ipv4PerEni: 50,
    hypervisor: 'nitro',
    bareMetal: false,
  },
};

/** What the seed cluster's stack reports as outputs. */
export const SEED_OUTPUTS: StackOutputs = {
  VpcId: 'vpc-0123',
  HostedZoneId: 'Z0123',
  MastersSecurityGroupId: 'sg-masters',
  NodesSecurityGroupId: 'sg-nodes',
  MastersInstanceProfileArn: `arn:aws:iam::123456789012:instance-profile/${instanceProfileName('masters', 'seed.example.com')}`,
  NodesInstanceProfileArn: `arn:aws:iam::123456789012:instance-profile/${instanceProfileName('nodes', 'seed.example.com')}`,
  SubnetUsEast1a: 'subnet-a',
  SubnetUsEast1b: 'subnet-b',
};

export const SEED_IMAGE =
  '099720109477/ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610';
