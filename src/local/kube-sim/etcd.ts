import { randomBytes } from 'node:crypto';

/**
 * kubeadm's stacked etcd as the simulated cluster keeps it: one member per control-plane node,
 * named after the node (kubeadm names the member after the node), added when the node's
 * `kubeadm init` or `kubeadm join --control-plane` runs. Membership behaves as etcd's does:
 *
 * - a member is removed only by the member API; a member whose instance is gone stays a member,
 *   unhealthy, and still counts towards the quorum;
 * - a cluster whose healthy members are fewer than a quorum of all members (more than half)
 *   serves nothing, so the API server in front of it answers 503;
 * - a new member is added only while the cluster has its quorum (a join against a cluster
 *   without quorum fails and is tried again by the next sync);
 * - a removal that would leave fewer started members than a quorum of the rest is refused, as
 *   etcd's `--strict-reconfig-check` (on by default) refuses it.
 *
 * One exception models the etcd volume of a single control plane: the replacement of the only
 * member attaches that member's data volume and runs `kubeadm init` on top of it, so it takes
 * the member over instead of adding one.
 */

export interface SimEtcdMember {
  /** etcd's uint64 member ID, as the JSON gateway spells it (a decimal string). */
  id: string;
  name: string;
  peerURL: string;
  clientURL: string;
}

/** An answer of the member API that etcd refuses, with the gRPC code the gateway would return. */
export class EtcdRefusal extends Error {
  constructor(
    readonly grpcCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** gRPC's FailedPrecondition and NotFound codes, as etcd's gateway returns them. */
const FAILED_PRECONDITION = 9;
const NOT_FOUND = 5;

/** Whether `healthy` members keep a cluster of `total` members serving. */
export function hasQuorum(healthy: number, total: number): boolean {
  return total === 0 || healthy >= Math.floor(total / 2) + 1;
}

export class SimEtcd {
  private readonly members = new Map<string, SimEtcdMember>();

  /** `running(name)`: whether the member's node (its instance) still runs. */
  constructor(private readonly running: (name: string) => boolean) {}

  list(): SimEtcdMember[] {
    return [...this.members.values()];
  }

  isMember(name: string): boolean {
    return this.list().some((m) => m.name === name);
  }

  healthyCount(): number {
    return this.list().filter((m) => this.running(m.name)).length;
  }

  hasQuorum(): boolean {
    return hasQuorum(this.healthyCount(), this.members.size);
  }

  /**
   * What a control-plane node's kubeadm does to etcd when it boots: initialise, take over the
   * single member's volume, or join; whether the node is a member afterwards.
   */
  join(name: string, ip: string): boolean {
    if (this.isMember(name)) return true;
    const [only] = this.list();
    if (this.members.size === 1 && only && !this.running(only.name)) {
      this.members.set(only.id, { ...only, name, ...urls(ip) });
      return true;
    }
    if (!this.hasQuorum()) return false;
    const id = BigInt(`0x${randomBytes(8).toString('hex')}`).toString();
    this.members.set(id, { id, name, ...urls(ip) });
    return true;
  }

  /** The member API's remove: refused when it would cost the quorum, or for an unknown ID. */
  remove(id: string): void {
    if (!this.members.has(id)) throw new EtcdRefusal(NOT_FOUND, 'etcdserver: member not found');
    const rest = this.list().filter((m) => m.id !== id);
    const started = rest.filter((m) => this.running(m.name)).length;
    if (rest.length === 0 || !hasQuorum(started, rest.length))
      throw new EtcdRefusal(
        FAILED_PRECONDITION,
        'etcdserver: re-configuration failed due to not enough started members',
      );
    this.members.delete(id);
  }
}

function urls(ip: string): { peerURL: string; clientURL: string } {
  return { peerURL: `https://${ip}:2380`, clientURL: `https://${ip}:2379` };
}

/** An answer of etcd's JSON gateway: status and body. */
export interface EtcdGatewayAnswer {
  status: number;
  body: Record<string, unknown>;
}

function memberJson(m: SimEtcdMember): Record<string, unknown> {
  return { ID: m.id, name: m.name, peerURLs: [m.peerURL], clientURLs: [m.clientURL] };
}

/** HTTP status grpc-gateway gives a gRPC code. */
const GATEWAY_STATUS: Record<number, number> = {
  [FAILED_PRECONDITION]: 400,
  [NOT_FOUND]: 404,
};

/**
 * etcd's v3 JSON gateway (`POST /v3/cluster/member/list`, `POST /v3/cluster/member/remove` with
 * `{"ID": "<id>"}`): the calls the rolling update makes, answered from the model. Both need a
 * quorum, as a linearizable member list and a reconfiguration do in etcd.
 */
export function etcdGateway(
  etcd: SimEtcd,
  method: string,
  path: string,
  body: Record<string, unknown> | undefined,
): EtcdGatewayAnswer {
  const failure = (status: number, code: number, message: string): EtcdGatewayAnswer => ({
    status,
    body: { error: message, code, message },
  });
  if (method !== 'POST') return failure(405, 12, `method ${method} not allowed`);
  if (!etcd.hasQuorum()) return failure(503, 14, 'etcdserver: request timed out');
  const header = { raft_term: '2' };
  if (path === '/v3/cluster/member/list')
    return { status: 200, body: { header, members: etcd.list().map(memberJson) } };
  if (path === '/v3/cluster/member/remove') {
    const id = body?.ID;
    if (typeof id !== 'string' && typeof id !== 'number')
      return failure(400, 3, 'ID: a member ID is required');
    try {
      etcd.remove(String(id));
    } catch (error) {
      if (!(error instanceof EtcdRefusal)) throw error;
      return failure(GATEWAY_STATUS[error.grpcCode] ?? 500, error.grpcCode, error.message);
    }
    return { status: 200, body: { header, members: etcd.list().map(memberJson) } };
  }
  return failure(404, 5, `Not Found: ${path}`);
}
