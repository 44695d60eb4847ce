import { describe, expect, it } from 'vitest';
import { ClusterNotValidError } from '../../src/errors.js';
import type { ClusterEtcd, EtcdMember } from '../../src/kube/etcd.js';
import { etcdFailures } from '../../src/kube/etcd-health.js';
import type { KubeNode, KubePod, KubePort } from '../../src/kube/port.js';
import { removeOutgoingMembers } from '../../src/stages/etcd-membership.js';

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

/** A cluster's etcd as the cluster API function answers, recording the removals asked of it. */
function etcdOf(members: EtcdMember[] | undefined) {
  const removals: string[] = [];
  const etcd: ClusterEtcd = {
    listMembers: async () => members,
    removeMemberOf: async (instanceId) => {
      removals.push(instanceId);
      return true;
    },
  };
  return { removals, etcd: async () => etcd };
}
/** Only the reads removeOutgoingMembers makes. */
const kubeWith = (systemPods: KubePod[]) =>
  ({ listNodes: async () => nodes, listPods: async () => systemPods }) as unknown as KubePort;

describe('removeOutgoingMembers', () => {
  it("asks for the outgoing instance's member by its instance ID, and no other", async () => {
    const { removals, etcd } = etcdOf(['a', 'b', 'c'].map((n) => member(n)));

    const removed = await removeOutgoingMembers('c.example.com', ['i-b'], {
      kube: kubeWith(pods),
      etcd,
    });

    expect(removed).toEqual(['b']);
    expect(removals).toEqual(['i-b']);
  });

  it('removes nothing, and says why, while a member that stays is unhealthy', async () => {
    const { removals, etcd } = etcdOf(['a', 'b', 'c'].map((n) => member(n)));

    const removal = removeOutgoingMembers('c.example.com', ['i-b'], {
      kube: kubeWith([etcdPod('a'), etcdPod('b'), etcdPod('c', false)]),
      etcd,
    });

    await expect(removal).rejects.toBeInstanceOf(ClusterNotValidError);
    await expect(removal).rejects.toThrow(/its pod etcd-c is not ready/);
    expect(removals).toEqual([]);
  });

  it('leaves a single member, and an unpublished member API, alone', async () => {
    const single = etcdOf([member('a')]);
    const unpublished = etcdOf(undefined);

    await removeOutgoingMembers('c.example.com', ['i-a'], {
      kube: kubeWith(pods),
      etcd: single.etcd,
    });
    await removeOutgoingMembers('c.example.com', ['i-a'], {
      kube: kubeWith(pods),
      etcd: unpublished.etcd,
    });

    expect(single.removals).toEqual([]);
    expect(unpublished.removals).toEqual([]);
  });
});
