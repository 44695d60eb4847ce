import { randomUUID } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { ClusterExistsError, ClusterLockedError, SpecInvalidError } from '../errors.js';
import { storeKey } from '../state/layout.js';
import {
  type ApiDeps,
  type ApiRequest,
  type ApiResponse,
  buildableManifest,
  clusterName,
  HttpProblem,
  requireCluster,
} from './api.js';
import { writeState } from './write-state.js';

/**
 * The API's routes for what the CLI of a deployed stack must not do with its user's own
 * credentials: register a cluster (the state store is the functions') and hand out a cluster's
 * kubeconfig (`secrets/` is readable only by the roles the secrets key's policy names). A user is
 * allowed each one by `execute-api:Invoke` on its route, never by S3 or KMS grants.
 */

/** How long a registration holds the cluster's lock: it writes a few small objects. */
const REGISTER_LEASE_SECONDS = 60;

/** A write-state error as the API's answer: what the client can fix, never a 500. */
function asProblem(error: unknown): never {
  if (error instanceof ClusterExistsError) throw new HttpProblem(409, error.message);
  if (error instanceof ClusterLockedError)
    throw new HttpProblem(409, error.message, { execution: error.holder });
  if (error instanceof SpecInvalidError)
    throw new HttpProblem(400, 'the manifest is invalid', { errors: error.issues });
  throw error;
}

type Named = { name?: unknown; [key: string]: unknown };

/** The fields of a kubeconfig user that would run something or read a file on the caller's machine. */
const COMMAND_FIELDS = ['exec', 'auth-provider', 'tokenFile', 'client-certificate', 'client-key'];

/** Fields of a cluster entry that would read a file, go through a proxy or skip TLS checks. */
const REFUSED_CLUSTER_FIELDS = ['certificate-authority', 'proxy-url', 'insecure-skip-tls-verify'];

/** What is handed out of a cluster entry and of a user: inline data, nothing else. */
const CLUSTER_FIELDS = ['server', 'certificate-authority-data', 'tls-server-name'];
const USER_FIELDS = ['token', 'client-certificate-data', 'client-key-data'];

function picked(entry: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  return Object.fromEntries(fields.filter((f) => f in entry).map((f) => [f, entry[f]]));
}

/**
 * The stored kubeconfig as handed out: its current context's cluster and user only, the user's
 * credentials only for `admin`. A stored user that would run a command or read a file is refused
 * (422), so nothing the store holds ever runs on a caller's machine.
 */
export function exportedKubeconfig(cluster: string, stored: string, admin: boolean): string {
  let config: { contexts?: Named[]; clusters?: Named[]; users?: Named[]; [k: string]: unknown };
  try {
    config = (parse(stored) ?? {}) as typeof config;
  } catch {
    // The parser's message quotes the offending line, which may hold a credential: not passed on.
    throw new HttpProblem(422, `the kubeconfig stored for "${cluster}" is not YAML`);
  }
  const current =
    config.contexts?.find((c) => c.name === config['current-context']) ?? config.contexts?.[0];
  const context = (current?.context ?? {}) as { cluster?: unknown; user?: unknown };
  const clusterEntry = config.clusters?.find((c) => c.name === context.cluster);
  if (!clusterEntry)
    throw new HttpProblem(422, `the kubeconfig stored for "${cluster}" has no cluster entry`);
  const user = (config.users?.find((u) => u.name === context.user)?.user ?? {}) as Record<
    string,
    unknown
  >;
  const refused = COMMAND_FIELDS.filter((field) => field in user);
  if (refused.length > 0)
    throw new HttpProblem(
      422,
      `the kubeconfig stored for "${cluster}" has users[].user.${refused[0]}: not handed out`,
    );
  const entry = (clusterEntry.cluster ?? {}) as Record<string, unknown>;
  const refusedInCluster = REFUSED_CLUSTER_FIELDS.filter((field) => field in entry);
  if (refusedInCluster.length > 0 || typeof entry.server !== 'string')
    throw new HttpProblem(
      422,
      `the kubeconfig stored for "${cluster}" has ${refusedInCluster.length > 0 ? `clusters[].cluster.${refusedInCluster[0]}` : 'no server'}: not handed out`,
    );
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: picked(entry, CLUSTER_FIELDS) }],
    users: [{ name: cluster, user: admin ? picked(user, USER_FIELDS) : {} }],
    contexts: [{ name: cluster, context: { cluster, user: cluster } }],
    'current-context': cluster,
  });
}

async function kubeconfigOf(
  request: ApiRequest,
  deps: ApiDeps,
  admin: boolean,
): Promise<ApiResponse> {
  const cluster = clusterName(request);
  await requireCluster(cluster, deps);
  const stored = await deps.objects.get(storeKey.kubeconfig(cluster));
  if (!stored)
    throw new HttpProblem(
      404,
      `cluster "${cluster}" has no kubeconfig yet: its control plane publishes one when it is up`,
      { reason: 'NoKubeconfig' },
    );
  return {
    statusCode: 200,
    body: { cluster, admin, kubeconfig: exportedKubeconfig(cluster, stored.body, admin) },
  };
}

export const clusterAccessRoutes = {
  /**
   * `POST /clusters/{name}/register`: the manifest in the body is checked and written to the
   * state store as a registered cluster (as `kops create -f` without `--yes`); nothing is built.
   * Registering the same manifest again (a retry) answers the same; another manifest under a
   * name already registered is a 409 naming the cluster (edit or replace change a spec).
   */
  async registerCluster(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
    const cluster = clusterName(request);
    const { manifest, cluster: named } = buildableManifest(request);
    if (named !== cluster)
      throw new HttpProblem(
        400,
        `metadata.name: the manifest's cluster is "${named}", the path names "${cluster}"`,
      );
    const owner = `api-register-${randomUUID()}`;
    const writeDeps = { store: deps.store, lockLeaseSeconds: REGISTER_LEASE_SECONDS };
    try {
      await writeState({ action: 'acquireLock', cluster, owner, operation: 'register' }, writeDeps);
      try {
        await writeState({ action: 'register', manifest, owner, operation: 'register' }, writeDeps);
      } finally {
        await writeState({ action: 'release', cluster, owner }, writeDeps);
      }
    } catch (error) {
      asProblem(error);
    }
    return { statusCode: 200, body: { cluster, phase: 'Registered' } };
  },

  /** `GET /clusters/{name}/kubeconfig`: the cluster's API server and CA, no credentials. */
  kubeconfig: (request: ApiRequest, deps: ApiDeps) => kubeconfigOf(request, deps, false),

  /** `POST /admin/kubeconfig/{name}`: with the cluster admin's credentials. */
  adminKubeconfig: (request: ApiRequest, deps: ApiDeps) => kubeconfigOf(request, deps, true),
};
