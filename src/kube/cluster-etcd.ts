import { BlockList, isIP } from 'node:net';
import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { ClusterNotValidError, ConfigError } from '../errors.js';
import { storeKey } from '../state/layout.js';
import type { ClusterApiResults } from './cluster-api-protocol.js';
import {
  type EtcdAccess,
  type EtcdMember,
  type EtcdPort,
  etcdEndpoints,
  etcdPort,
} from './etcd.js';
import { etcdFailures } from './etcd-health.js';
import { localClusterApiUrl, localClusterApiUrlInVpc } from './from-store.js';
import {
  instanceIdFromProviderId,
  type KubeNode,
  type KubePod,
  type KubePort,
  listAll,
} from './port.js';

/**
 * The etcd operations of a cluster's API function (`listEtcdMembers`, `removeEtcdMember`):
 * carried out on the control plane's etcd member API (port 2379) from inside the cluster's VPC,
 * with the etcd client certificate only this function may read. The caller names a member by
 * the control-plane instance it runs on; the address dialed comes from the cluster itself (its
 * control-plane nodes' internal IPs), never from the request.
 */

/** The label kubeadm (and kOps) put on control-plane nodes, which a kubelet may not set on itself. */
const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';

/** Control-plane nodes per list page: a control plane has a handful. */
const PAGE_SIZE = 50;

/** A control-plane node: its name (the etcd member's), its instance and its internal address. */
interface ControlPlaneNode {
  name: string;
  instanceId: string;
  internalIp?: string;
}

/**
 * The stored etcd access, checked as data before any request: on AWS the CA, certificate and key
 * inline and no `endpoints` (etcd is dialed on the cluster's own control-plane addresses only);
 * on the local backend (`localKubeApi`) endpoints under the cluster's own simulated API, dialed
 * on its VPC side as the function does on AWS.
 */
export function checkedEtcdAccess(
  cluster: string,
  access: EtcdAccess,
  localKubeApi?: string,
): EtcdAccess {
  const where = storeKey.etcdClient(cluster);
  if (!localKubeApi) {
    const missing = (['ca', 'cert', 'key'] as const).filter((field) => !access[field]);
    if (missing.length > 0)
      throw new ClusterNotValidError(`${where}: ${missing.join(', ')} missing (PEM, inline)`);
    if (access.endpoints)
      throw new ClusterNotValidError(
        `${where}: endpoints refused: etcd is reached on the cluster's control-plane addresses only`,
      );
    return access;
  }
  // Compared as the HTTP client will dial them: `/clusters/a/../b/etcd` is cluster b's.
  const outside = new URL(localClusterApiUrl(localKubeApi, cluster));
  const inside = localClusterApiUrlInVpc(localKubeApi, cluster);
  const own = (endpoint: string): URL | undefined => {
    const url = URL.canParse(endpoint) ? new URL(endpoint) : undefined;
    return url &&
      url.origin === outside.origin &&
      url.pathname.startsWith(`${outside.pathname}/`) &&
      !url.search &&
      !url.hash
      ? url
      : undefined;
  };
  const endpoints = access.endpoints ?? [];
  const foreign = endpoints.find((e) => !own(e));
  if (foreign !== undefined)
    throw new ClusterNotValidError(
      `${where}: endpoints: ${foreign} is not cluster "${cluster}"'s own etcd on the local backend`,
    );
  return {
    ...access,
    endpoints: endpoints.map((e) => `${inside}${own(e)!.pathname.slice(outside.pathname.length)}`),
  };
}

/** The VPC's address ranges, where etcd's control-plane addresses must be; any when none is known. */
export interface EtcdNetwork {
  cidrs: string[];
  contains(ip: string): boolean;
}

/** The ranges of `cidrs` (`10.0.0.0/16`, IPv4 or IPv6); a malformed one is a ConfigError at cold start. */
export function vpcNetwork(cidrs: string[]): EtcdNetwork {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [network = '', prefix = ''] = cidr.split('/');
    const family = isIP(network);
    if (family === 0 || !/^\d{1,3}$/.test(prefix))
      throw new ConfigError(`VPC_CIDRS: "${cidr}" is not a CIDR block`);
    list.addSubnet(network, Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
  }
  return {
    cidrs,
    contains: (ip) => cidrs.length === 0 || list.check(ip, isIP(ip) === 4 ? 'ipv4' : 'ipv6'),
  };
}

/**
 * A node's InternalIP as an etcd address: an IP literal, never a name a resolver could point
 * elsewhere, and inside the VPC when its ranges are known (a node's status is its kubelet's to
 * write).
 */
function etcdAddress(node: V1Node, network?: EtcdNetwork): string | undefined {
  const internalIp = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (internalIp === undefined) return undefined;
  const which = `control-plane node ${node.metadata?.name ?? '(unnamed)'}`;
  if (isIP(internalIp) === 0)
    throw new ClusterNotValidError(
      `${which}: InternalIP "${internalIp.slice(0, 64)}" is not an IP address; etcd is dialed on addresses only`,
    );
  if (network && !network.contains(internalIp))
    throw new ClusterNotValidError(
      `${which}: InternalIP ${internalIp} is outside the cluster's VPC (${network.cidrs.join(', ')})`,
    );
  return internalIp;
}

async function controlPlaneNodes(
  config: KubeConfig,
  network?: EtcdNetwork,
): Promise<ControlPlaneNode[]> {
  const core = config.makeApiClient(CoreV1Api);
  return listAll(
    (request) => core.listNode({ ...request, labelSelector: CONTROL_PLANE_LABEL }),
    PAGE_SIZE,
    (node: V1Node) => {
      const internalIp = etcdAddress(node, network);
      return {
        name: node.metadata?.name ?? '',
        instanceId: instanceIdFromProviderId(node.spec?.providerID ?? ''),
        ...(internalIp ? { internalIp } : {}),
      };
    },
  );
}

/** The member API, dialed on the control-plane nodes other than `leaving`. */
function memberApi(access: EtcdAccess, nodes: ControlPlaneNode[], leaving?: string): EtcdPort {
  const ips = nodes
    .filter((n) => n.instanceId !== leaving)
    .map((n) => n.internalIp ?? '')
    .filter((ip) => ip !== '');
  return etcdPort(access, etcdEndpoints(access, ips));
}

/** The members, or `published: false` while the control plane has not stored the client certificate. */
export async function listEtcdMembers(
  config: KubeConfig,
  access: EtcdAccess | undefined,
  network?: EtcdNetwork,
): Promise<ClusterApiResults['listEtcdMembers']> {
  if (!access) return { published: false, members: [] };
  const etcd = memberApi(access, await controlPlaneNodes(config, network));
  return { published: true, members: await etcd.listMembers() };
}

/**
 * Why removing `leaving` now would put etcd at risk, or undefined when it may go: every member
 * that stays must be healthy, and they must be a majority of the membership as it is, so the
 * removal (which etcd commits with the current quorum) leaves a quorum behind.
 */
function removalRisk(
  leaving: EtcdMember,
  members: EtcdMember[],
  nodes: KubeNode[],
  systemPods: KubePod[],
): string | undefined {
  const staying = members.filter((m) => m.id !== leaving.id);
  const unhealthy = etcdFailures(staying, staying.length, nodes, systemPods);
  if (unhealthy.length > 0)
    return `the quorum rests on the others, and ${unhealthy.map((f) => f.message).join('; ')}`;
  if (staying.length <= members.length / 2)
    return `${staying.length} of ${members.length} member(s) would stay, not a majority of the membership`;
  return undefined;
}

/**
 * Removes the etcd member of a control-plane instance, dialing the other members, only while
 * every other member is healthy and they stay a majority (removalRisk); refused otherwise with
 * ClusterNotValidError naming what is wrong. Idempotent: an instance with no node or no member
 * (removed already, never joined) is `removed: false`.
 */
export async function removeEtcdMember(
  config: KubeConfig,
  port: Pick<KubePort, 'listNodes' | 'listPods'>,
  access: EtcdAccess | undefined,
  instanceId: string,
  network?: EtcdNetwork,
): Promise<ClusterApiResults['removeEtcdMember']> {
  if (!access) return { removed: false };
  const nodes = await controlPlaneNodes(config, network);
  const node = nodes.find((n) => n.instanceId === instanceId);
  if (!node) return { removed: false };
  const etcd = memberApi(access, nodes, instanceId);
  const members = await etcd.listMembers();
  const member = members.find((m) => m.name === node.name);
  if (!member) return { removed: false };
  const [allNodes, systemPods] = await Promise.all([
    port.listNodes(),
    port.listPods({ fieldSelector: 'metadata.namespace=kube-system' }),
  ]);
  const risk = removalRisk(member, members, allNodes, systemPods);
  if (risk)
    throw new ClusterNotValidError(
      `not removing etcd member ${member.name} of ${instanceId}: ${risk}`,
    );
  return (await etcd.removeMember(member.id))
    ? { removed: true, member: member.name }
    : { removed: false };
}
