import { S3Client } from '@aws-sdk/client-s3';
import type { KubeConfig } from '@kubernetes/client-node';
import { clientConfig } from '../aws/clients.js';
import { now } from '../clock.js';
import { ConfigError, InvalidInputError, StoredKubeconfigError } from '../errors.js';
import {
  type ClusterApiRequest,
  ClusterApiRequestSchema,
  type ClusterApiResponse,
  ETCD_ACTIONS,
  ETCD_ALIAS,
  invokedThroughEtcdAlias,
} from '../kube/cluster-api-protocol.js';
import { type EtcdAccessLoader, serveClusterApi } from '../kube/cluster-api-server.js';
import { checkedEtcdAccess, vpcNetwork } from '../kube/cluster-etcd.js';
import { etcdAccessFromStore } from '../kube/etcd.js';
import {
  kubeconfigKey,
  localClusterApiUrl,
  localClusterApiUrlInVpc,
  trustedServers,
} from '../kube/from-store.js';
import { storedKubeConfig } from '../kube/stored-kubeconfig.js';
import { stageHandler, stageLogger } from '../lambda.js';
import { s3ObjectStore } from '../state/object-store.js';
import type { HandlerRuntime } from './runtime.js';

/**
 * How long a warm function keeps a checked kubeconfig before reading the store again. The
 * stored kubeconfig changes only when the control plane writes a new one, and a request the API
 * server refuses (401) reads it again at once, so minutes cost nothing in freshness; seconds
 * would read it on nearly every invocation of a roll, whose steps are minutes apart.
 */
const KUBECONFIG_TTL_MS = 15 * 60_000;

/** What the cluster API function reads from its environment, which the cluster's stack sets. */
export interface ClusterApiConfig {
  /** The one cluster this function serves. */
  cluster: string;
  stateBucket: string;
  /** The cluster's internal API name (`spec.masterInternalName`): the only HTTPS server it dials. */
  apiServerHost?: string;
  /** The VPC's CIDR blocks (`VPC_CIDRS`): the control-plane addresses etcd is dialed on must be inside. */
  vpcCidrs?: string[];
}

/** The function's settings from its environment; a missing one fails the cold start by name. */
export function readClusterApiConfig(env: Record<string, string | undefined>): ClusterApiConfig {
  const missing = ['CLUSTER_NAME', 'STATE_BUCKET'].filter((name) => !env[name]);
  if (missing.length > 0)
    throw new ConfigError(`the cluster API function needs ${missing.join(' and ')}`);
  return {
    cluster: env.CLUSTER_NAME!,
    stateBucket: env.STATE_BUCKET!,
    ...(env.API_SERVER_HOST ? { apiServerHost: env.API_SERVER_HOST } : {}),
    ...(env.VPC_CIDRS ? { vpcCidrs: env.VPC_CIDRS.split(',').filter((c) => c !== '') } : {}),
  };
}

/**
 * The cluster API function: attached to one cluster's subnets, it carries out the shared
 * functions' Kubernetes requests for that cluster alone (cluster-api-protocol.ts), with the
 * kubeconfig the control plane stored, checked as data before every use, and its etcd member
 * requests with the etcd client certificate, which no other function reads.
 */
export function createClusterApiHandler(config: ClusterApiConfig, runtime: HandlerRuntime = {}) {
  const objects = s3ObjectStore(new S3Client(clientConfig(runtime.aws)), config.stateBucket);
  const servers = trustedServers(config.cluster, {
    ...(config.apiServerHost ? { masterInternalName: config.apiServerHost } : {}),
    ...(runtime.localKubeApi ? { localKubeApi: runtime.localKubeApi } : {}),
  });
  // The clock port, so the cache's age follows a local run's simulated clock, not the host's load.
  const clock = () => now().getTime();
  // Locally the simulated API serves the cluster's VPC side under its own prefix: the URL the
  // control plane stored (and the check above accepted) is dialed there, as on AWS the same
  // api.internal name resolves to a private address from inside the VPC.
  const fromInsideVpc = (kube: KubeConfig): KubeConfig => {
    const base = runtime.localKubeApi;
    if (!base) return kube;
    const outside = localClusterApiUrl(base, config.cluster);
    const inside = localClusterApiUrlInVpc(base, config.cluster);
    kube.clusters = kube.clusters.map((c) => (c.server === outside ? { ...c, server: inside } : c));
    return kube;
  };
  /** The checked kubeconfig, kept briefly: a drain makes many calls a second. */
  let current: { ok: true; config: KubeConfig; readAt: number } | undefined;
  const load = async (): Promise<
    | { ok: true; config: KubeConfig; readAt: number }
    | { ok: false; answer: ClusterApiResponse; unpublished: ClusterApiResponse }
  > => {
    current = undefined;
    const stored = await objects.get(kubeconfigKey(config.cluster));
    if (!stored)
      return {
        ok: false,
        unpublished: { ok: true, result: { published: false } },
        answer: {
          ok: false,
          error: {
            name: 'TransientKubeError',
            message: `cluster "${config.cluster}" has no kubeconfig in the state store yet`,
          },
        },
      };
    try {
      current = {
        ok: true,
        config: fromInsideVpc(storedKubeConfig(config.cluster, stored.body, servers)),
        readAt: clock(),
      };
      return current;
    } catch (error) {
      if (!(error instanceof StoredKubeconfigError)) throw error;
      const answer: ClusterApiResponse = {
        ok: false,
        error: { name: error.name, message: error.message },
      };
      return { ok: false, answer, unpublished: answer };
    }
  };
  // Read for each etcd operation (a few per control-plane replacement), checked as data first.
  const etcdAccess: EtcdAccessLoader = async () => {
    const stored = await etcdAccessFromStore(objects, config.cluster);
    return stored && checkedEtcdAccess(config.cluster, stored, runtime.localKubeApi);
  };
  const etcdNetwork = vpcNetwork(config.vpcCidrs ?? []);
  return stageHandler(
    stageLogger('cluster-api', runtime.logLevel),
    async (request: ClusterApiRequest, context): Promise<ClusterApiResponse> => {
      if (request.cluster !== config.cluster)
        throw new InvalidInputError([
          {
            path: 'cluster',
            message: `this function serves cluster "${config.cluster}" only, not "${request.cluster}"`,
          },
        ]);
      // IAM lets only the rolling update invoke the alias: etcd's membership is its alone.
      if (ETCD_ACTIONS.has(request.action) && !invokedThroughEtcdAlias(context.invokedFunctionArn))
        throw new InvalidInputError([
          {
            path: 'action',
            message: `${request.action} is served only through this function's "${ETCD_ALIAS}" alias (only the rolling update may invoke it), not as ${context.invokedFunctionArn || 'an unknown ARN'}`,
          },
        ]);
      const cached = current && clock() - current.readAt < KUBECONFIG_TTL_MS ? current : undefined;
      const loaded = cached ?? (await load());
      if (!loaded.ok) return request.action === 'published' ? loaded.unpublished : loaded.answer;
      const answer = await serveClusterApi(request, loaded.config, etcdAccess, etcdNetwork);
      // A replaced control plane stores a new admin certificate: refused with the old one, read again.
      if (cached && !answer.ok && answer.error.status === 401) {
        const fresh = await load();
        return fresh.ok
          ? serveClusterApi(request, fresh.config, etcdAccess, etcdNetwork)
          : fresh.answer;
      }
      return answer;
    },
    ClusterApiRequestSchema,
  );
}
