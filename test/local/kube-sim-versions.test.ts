import { describe, expect, it } from 'vitest';
import { type InstanceView, SimCluster } from '../../src/local/kube-sim/cluster.js';

const instance = (id: string, kubeletVersion?: string): InstanceView => ({
  instanceId: id,
  zone: 'us-east-1a',
  privateIp: '172.20.32.10',
  privateDnsName: `ip-${id}.ec2.internal`,
  instanceType: 't3.medium',
  instanceGroup: 'nodes-us-east-1a',
  controlPlane: false,
  maxPods: 17,
  ...(kubeletVersion ? { kubeletVersion } : {}),
});

describe('simulated kubelet versions', () => {
  it("reports each node's kubelet version from its instance, the cluster's when the instance gives none", () => {
    const cluster = new SimCluster('c.example.com', 'v1.32.0');

    cluster.syncInstances([instance('i-old'), instance('i-new', 'v1.33.1')]);

    const versions = Object.fromEntries(
      [...cluster.nodes.values()].map((n) => [n.metadata.name, n.status.nodeInfo.kubeletVersion]),
    );
    expect(versions).toEqual({
      'ip-i-old.ec2.internal': 'v1.32.0',
      'ip-i-new.ec2.internal': 'v1.33.1',
    });
  });
});
