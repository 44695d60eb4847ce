import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ClusterNotValidError, TransientKubeError } from '../errors.js';
import { ETCD_CLIENT_PORT } from '../planning/stack-cluster-api.js';
import { storeKey } from '../state/layout.js';
import type { ObjectStore } from '../state/object-store.js';

/**
 * The etcd member API of a cluster's stacked etcd, as the cluster's API function uses it for the
 * rolling update and `validate cluster`: list the members, remove one. It speaks etcd's v3 JSON
 * gateway (`POST /v3/cluster/member/list`, `POST /v3/cluster/member/remove`) over HTTPS to port
 * 2379 of a control-plane instance, with the client certificate of the etcd CA that the
 * initialising control plane publishes in the state store (kubeadm's `apiserver-etcd-client`).
 * etcd accepts it from inside the cluster's VPC only: the control-plane security group opens 2379
 * to the cluster's own instances and to its API function.
 */

/** One etcd member as the member API lists it. */
export interface EtcdMember {
  /** The uint64 member ID as a decimal string (how the JSON gateway spells it). */
  id: string;
  /** kubeadm names a member after its node; empty for a member added but not started yet. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface EtcdPort {
  listMembers(): Promise<EtcdMember[]>;
  /**
   * Removes the member; false when etcd no longer has it (removed already). etcd refuses (and
   * this throws) when the removal would cost the quorum.
   */
  removeMember(id: string): Promise<boolean>;
}

/**
 * A cluster's stacked etcd as the roll and `validate cluster` see it, through the cluster's API
 * function (remote-etcd.ts): its member API answers only inside the cluster's VPC.
 */
export interface ClusterEtcd {
  /** The members; undefined while the control plane has not stored the etcd client certificate. */
  listMembers(): Promise<EtcdMember[] | undefined>;
  /** Removes the member of this control-plane instance; false when it has none (removed already). */
  removeMemberOf(instanceId: string): Promise<boolean>;
}

/**
 * What reaches a cluster's etcd, as the state store holds it (`secrets/etcd-client.json`): the
 * etcd CA and a client certificate and key it signed, PEM. `endpoints` replaces the control-plane
 * addresses for a backend whose etcd is not on them (the local backend's simulated API serves it).
 */
export interface EtcdAccess {
  ca?: string;
  cert?: string;
  key?: string;
  endpoints?: string[];
}

/** How long an endpoint may take to answer: outside the VPC, 2379 never answers at all. */
const CONNECT_TIMEOUT_MS = 5_000;

function parseAccess(text: string, cluster: string): EtcdAccess {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message quotes the text, which holds a private key: it is left out.
    throw new ClusterNotValidError(
      `${storeKey.etcdClient(cluster)} in the state store is not JSON ({ca, cert, key} of PEM strings)`,
    );
  }
  const ok =
    typeof parsed === 'object' &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Object.entries(parsed).every(([k, v]) =>
      k === 'endpoints'
        ? Array.isArray(v) && v.every((e) => typeof e === 'string')
        : typeof v === 'string',
    );
  if (!ok)
    throw new ClusterNotValidError(
      `${storeKey.etcdClient(cluster)} in the state store is not {ca, cert, key, endpoints?} of strings`,
    );
  return parsed as EtcdAccess;
}

/** The access a cluster's control plane published, or undefined before it has. */
export async function etcdAccessFromStore(
  objects: Pick<ObjectStore, 'get'>,
  cluster: string,
): Promise<EtcdAccess | undefined> {
  const object = await objects.get(storeKey.etcdClient(cluster));
  return object ? parseAccess(object.body, cluster) : undefined;
}

/** The member API URLs to try, in order: the access's own, else each control-plane address's 2379. */
export function etcdEndpoints(access: EtcdAccess, controlPlaneIps: string[]): string[] {
  return access.endpoints ?? controlPlaneIps.map((ip) => `https://${ip}:${ETCD_CLIENT_PORT}`);
}

interface GatewayMember {
  ID?: string | number;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

function post(
  endpoint: string,
  path: string,
  body: unknown,
  access: EtcdAccess,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(`${endpoint.replace(/\/$/, '')}${path}`);
  const payload = JSON.stringify(body);
  const options = {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
    timeout: CONNECT_TIMEOUT_MS,
  };
  return new Promise((resolve, reject) => {
    const req =
      url.protocol === 'https:'
        ? httpsRequest(url, {
            ...options,
            ...(access.ca ? { ca: access.ca } : {}),
            ...(access.cert ? { cert: access.cert } : {}),
            ...(access.key ? { key: access.key } : {}),
          })
        : httpRequest(url, options);
    req.on('timeout', () =>
      req.destroy(new Error(`no answer from ${url.host} in ${CONNECT_TIMEOUT_MS / 1000} s`)),
    );
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          parsed = { message: text.slice(0, 500) };
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.end(payload);
  });
}

/**
 * A port over the first endpoint that answers. An endpoint that cannot be reached, or answers
 * 5xx (no quorum, a member still starting), gives way to the next; when none answers the error is
 * transient, for the state machine's retry. A refusal (4xx: removing a member etcd will not
 * remove) is permanent, with etcd's own message.
 */
export function etcdPort(access: EtcdAccess, endpoints: string[]): EtcdPort {
  /** etcd's gateway answers 404 (gRPC NotFound) for a member ID it does not have. */
  const MEMBER_NOT_FOUND = 404;
  const call = async (
    path: string,
    body: unknown,
    what: string,
    options: { notFound?: boolean } = {},
  ): Promise<Record<string, unknown> | undefined> => {
    if (endpoints.length === 0)
      throw new TransientKubeError(`cannot ${what}: no control-plane instance to reach etcd on`);
    const failures: string[] = [];
    for (const endpoint of endpoints) {
      let answer: Awaited<ReturnType<typeof post>>;
      try {
        answer = await post(endpoint, path, body, access);
      } catch (error) {
        failures.push(`${endpoint}: ${(error as Error).message}`);
        continue;
      }
      if (answer.status === 200) return answer.body;
      if (options.notFound && answer.status === MEMBER_NOT_FOUND) return undefined;
      const message = String(answer.body.message ?? answer.body.error ?? '');
      if (answer.status >= 500) {
        failures.push(`${endpoint}: ${answer.status} ${message}`);
        continue;
      }
      throw new ClusterNotValidError(`etcd refused to ${what}: ${message} (${answer.status})`);
    }
    throw new TransientKubeError(`cannot ${what}: ${failures.join('; ')}`);
  };
  return {
    async listMembers() {
      const body = (await call('/v3/cluster/member/list', {}, 'list the etcd members')) ?? {};
      const members = Array.isArray(body.members) ? (body.members as GatewayMember[]) : [];
      return members.map((m) => ({
        id: String(m.ID ?? ''),
        name: m.name ?? '',
        peerURLs: m.peerURLs ?? [],
        clientURLs: m.clientURLs ?? [],
        isLearner: m.isLearner === true,
      }));
    },
    async removeMember(id) {
      const answer = await call(
        '/v3/cluster/member/remove',
        { ID: id },
        `remove etcd member ${id}`,
        {
          notFound: true,
        },
      );
      return answer !== undefined;
    },
  };
}
