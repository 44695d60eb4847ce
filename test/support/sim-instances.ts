import type { InstanceView } from '../../src/local/kube-sim/cluster.js';

/**
 * An EC2 instance as the simulated API sees it (what AwsSimBackend reads from moto), for tests
 * that feed a SimCluster directly: instance n of `group`, a t3.medium in us-east-1a whose kubelet
 * runs `maxPods` (17, the t3.medium figure, unless given).
 */
export const simInstance = (n: number, group: string, maxPods = 17): InstanceView => ({
  instanceId: `i-0${n}`,
  zone: 'us-east-1a',
  privateIp: `10.0.0.${n}`,
  privateDnsName: `ip-10-0-0-${n}.ec2.internal`,
  instanceType: 't3.medium',
  instanceGroup: group,
  controlPlane: group.startsWith('control-plane'),
  maxPods,
});
