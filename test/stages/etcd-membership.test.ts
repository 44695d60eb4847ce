import { describe, expect, it } from 'vitest';
import type { EtcdMember } from '../../src/kube/etcd.js';
import type { KubeNode, KubePod } from '../../src/kube/port.js';
import { etcdFailures } from '../../src/stages/etcd-membership.js';

const member = (name: string, extra: Partial<EtcdMember> = {}): EtcdMember => ({
  id: `id-${name}`,
  name,
  peerURLs: [],
  clientURLs: [],
  isLearner: false,
  ...extra,
});
const node = (name: string): KubeNode => ({
  name,
  providerId: `aws:///us-east-1a/i-${name}`,
  instanceId: `i-${name}`,
  role: 'control-plane',
  ready: true,
  unschedulable: false,
  allocatablePods: 17,
});
const etcdPod = (nodeName: string, ready = true): KubePod => ({
  namespace: 'kube-system',
  name: `etcd-${nodeName}`,
  nodeName,
  phase: 'Running',
  ready,
  labels: { component: 'etcd', tier: 'control-plane' },
  drainSkips: true,
  notReadyContainers: ready ? [] : ['etcd'],
});
const nodes = ['a', 'b', 'c'].map(node);
const pods = ['a', 'b', 'c'].map((n) => etcdPod(n));

describe('etcdFailures', () => {
  it('finds nothing wrong with one healthy voting member per control-plane node', () => {
    expect(
      etcdFailures(
        ['a', 'b', 'c'].map((n) => member(n)),
        3,
        nodes,
        pods,
      ),
    ).toEqual([]);
  });

  it('names a member whose node is gone, and the count that no longer matches', () => {
    const members = ['a', 'b', 'c', 'old'].map((n) => member(n));

    const failures = etcdFailures(members, 3, nodes, pods);

    expect(failures.map((f) => f.name)).toEqual(['etcd', 'old']);
    expect(failures[0]!.message).toContain('etcd has 4 member(s)');
    expect(failures[1]!.message).toBe(
      'etcd member "old" (ID id-old) is not healthy: its node is gone (the member was not removed before its instance was terminated)',
    );
  });

  it('names a learner and a member whose etcd pod is not ready', () => {
    const members = [member('a'), member('b', { isLearner: true }), member('c')];

    const failures = etcdFailures(members, 3, nodes, [
      etcdPod('a'),
      etcdPod('b'),
      etcdPod('c', false),
    ]);

    expect(failures.map((f) => f.message)).toEqual([
      'etcd member "b" (ID id-b) is not healthy: it is a learner, not yet a voting member',
      'etcd member "c" (ID id-c) is not healthy: its pod etcd-c is not ready',
    ]);
  });
});
