import { describe, expect, it } from 'vitest';
import { manifestFromFlags } from '../../src/manifest/create-cluster.js';
import { completeManifest } from '../../src/manifest/defaults.js';
import { isControlPlaneRole } from '../../src/manifest/types.js';
import { renderUserData } from '../../src/planning/user-data.js';

const LB_NAME = 'api-0123abcd-0123456789abcdef.elb.us-east-1.amazonaws.com';

function controlPlaneScript(flags: { dns?: 'none' | 'public'; loadBalancer: boolean }) {
  const manifest = completeManifest(
    manifestFromFlags({
      name: 'lb.example.com',
      zones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
      controlPlaneCount: 3,
      ...(flags.dns === 'public' ? { dns: 'public' } : {}),
      ...(flags.loadBalancer ? { apiLoadBalancerType: 'public' as const } : {}),
    }),
  );
  if (!flags.loadBalancer) delete manifest.cluster.spec.api;
  const group = manifest.instanceGroups.find((ig) => isControlPlaneRole(ig.spec.role))!;
  return renderUserData({
    cluster: manifest.cluster,
    instanceGroup: group,
    maxPods: 17,
    stateBucket: 'state-bucket',
    region: 'us-east-1',
    controlPlaneCount: 3,
    apiLoadBalancerName: LB_NAME,
  });
}

const lineIndex = (script: string, pattern: RegExp) =>
  script.split('\n').findIndex((line) => pattern.test(line));

describe('a control plane behind the API load balancer', () => {
  it('reaches its API locally before kubeadm init and after joining (DNS None)', () => {
    const script = controlPlaneScript({ dns: 'none', loadBalancer: true });
    const hosts = new RegExp(`127\\.0\\.0\\.1 ${LB_NAME.replaceAll('.', '\\.')}'? >> /etc/hosts`);
    const lines = script.split('\n');
    const entries = lines.flatMap((line, i) => (hosts.test(line) ? [i] : []));

    expect(entries).toHaveLength(2);
    expect(entries[0]).toBeLessThan(lineIndex(script, /^\s+kubeadm init /));
    expect(entries[1]).toBeGreaterThan(lineIndex(script, /^\s+join_control_plane$/));
  });

  it('maps both API names with DNS', () => {
    const script = controlPlaneScript({ dns: 'public', loadBalancer: true });

    expect(script).toContain("'127.0.0.1 api.internal.lb.example.com api.lb.example.com'");
  });

  it('leaves /etc/hosts alone without a load balancer', () => {
    const script = controlPlaneScript({ dns: 'public', loadBalancer: false });

    expect(script).not.toContain('/etc/hosts');
  });
});
