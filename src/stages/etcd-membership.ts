import { ClusterNotValidError } from '../errors.js';
import type { ClusterEtcd } from '../kube/etcd.js';
import { etcdFailures } from '../kube/etcd-health.js';
import type { KubePort } from '../kube/port.js';

/**
 * The control plane's stacked etcd during a roll and in `validate cluster`. A control-plane
 * instance leaves etcd before it is terminated (its member removed through the member API while
 * the others are healthy, so the quorum shrinks with the membership instead of losing a vote),
 * and the roll goes on only once its replacement is a healthy voting member. etcd is reached
 * through the cluster's API function, inside the cluster's VPC (src/kube/remote-etcd.ts).
 */

/** The etcd of a cluster; undefined where its member API is out of reach altogether. */
export type EtcdOf = (cluster: string) => Promise<ClusterEtcd | undefined>;

/** Members (undefined before the member API is published), nodes and kube-system pods of the cluster. */
async function observe(kube: KubePort, etcd: ClusterEtcd) {
  const [members, nodes, systemPods] = await Promise.all([
    etcd.listMembers(),
    kube.listNodes(),
    kube.listPods({ fieldSelector: 'metadata.namespace=kube-system' }),
  ]);
  return { members, nodes, systemPods };
}

/**
 * Before the roll terminates these control-plane instances: removes their nodes' etcd members.
 * Refused, changing nothing, while another member is unhealthy: etcd would then be left without
 * a quorum. A single member is left alone (its replacement takes its data volume over).
 * Idempotent: a member removed already is not found again.
 */
export async function removeOutgoingMembers(
  cluster: string,
  instanceIds: string[],
  deps: { kube: KubePort; etcd: EtcdOf },
): Promise<string[]> {
  const etcd = await deps.etcd(cluster);
  if (!etcd) return [];
  const { members, nodes, systemPods } = await observe(deps.kube, etcd);
  if (!members || members.length <= 1) return [];
  const outgoing = nodes.filter((n) => instanceIds.includes(n.instanceId));
  const leaving = members.filter((m) => outgoing.some((n) => n.name === m.name));
  if (leaving.length === 0) return [];
  const staying = members.filter((m) => !leaving.includes(m));
  const unhealthy = etcdFailures(staying, staying.length, nodes, systemPods);
  if (unhealthy.length > 0)
    throw new ClusterNotValidError(
      `not removing etcd member(s) ${leaving.map((m) => m.name).join(', ')} of ${cluster}: the quorum rests on the others, and ${unhealthy.map((f) => f.message).join('; ')}`,
    );
  // Named by instance: the cluster's function finds the member and dials the others.
  for (const node of outgoing.filter((n) => leaving.some((m) => m.name === n.name)))
    await etcd.removeMemberOf(node.instanceId);
  return leaving.map((m) => m.name);
}

/**
 * While the roll waits for a control-plane replacement: what keeps etcd from being whole again
 * (`expected` members, each a healthy voter); empty when the next step may go.
 */
export async function etcdNotReady(
  cluster: string,
  expected: number,
  deps: { kube: KubePort; etcd: EtcdOf },
): Promise<string[]> {
  const etcd = await deps.etcd(cluster);
  if (!etcd) return [];
  const { members, nodes, systemPods } = await observe(deps.kube, etcd);
  return members ? etcdFailures(members, expected, nodes, systemPods).map((f) => f.message) : [];
}
