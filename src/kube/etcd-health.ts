import type { EtcdMember } from './etcd.js';
import type { KubeNode, KubePod } from './port.js';

/**
 * The health of a stacked etcd as the roll, `validate cluster` and the cluster API function
 * judge it: each member started, a voter, on a node that still exists, with a ready etcd pod.
 */

/** What is wrong with etcd, one line per problem, naming the member; empty when it is healthy. Pure. */
export function etcdFailures(
  members: EtcdMember[],
  expected: number,
  nodes: KubeNode[],
  systemPods: KubePod[],
): Array<{ name: string; message: string }> {
  const failures: Array<{ name: string; message: string }> = [];
  if (members.length !== expected) {
    const names = members.map((m) => m.name || m.id).join(', ');
    failures.push({
      name: 'etcd',
      message: `etcd has ${members.length} member(s) (${names}), the control plane ${expected}: a member must be added or removed`,
    });
  }
  const nodeNames = new Set(nodes.map((n) => n.name));
  const pods = new Map(
    systemPods.filter((p) => p.labels.component === 'etcd').map((p) => [p.nodeName ?? '', p]),
  );
  for (const member of members) {
    const label = `etcd member "${member.name || '(not started)'}" (ID ${member.id})`;
    const why = !member.name
      ? 'it has not started'
      : member.isLearner
        ? 'it is a learner, not yet a voting member'
        : !nodeNames.has(member.name)
          ? 'its node is gone (the member was not removed before its instance was terminated)'
          : !pods.get(member.name)
            ? `no etcd pod runs on node ${member.name}`
            : !pods.get(member.name)!.ready
              ? `its pod etcd-${member.name} is not ready`
              : undefined;
    if (why)
      failures.push({ name: member.name || member.id, message: `${label} is not healthy: ${why}` });
  }
  return failures;
}
