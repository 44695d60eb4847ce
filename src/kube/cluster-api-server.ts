import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { classifyKubeError, isKubernetesApiError, KubernetesApiError } from '../errors.js';
import {
  type ClusterApiFailure,
  type ClusterApiRequest,
  type ClusterApiResponse,
  type ClusterApiResults,
  MAX_RESPONSE_BYTES,
} from './cluster-api-protocol.js';
import { type EtcdNetwork, listEtcdMembers, removeEtcdMember } from './cluster-etcd.js';
import type { EtcdAccess } from './etcd.js';
import { podTablePage } from './pod-rows.js';
import { countPodSlots, type KubePort, kubePort, toNode, toPod } from './port.js';

/**
 * The cluster API function's core: one request of the protocol (cluster-api-protocol.ts) carried
 * out on the cluster's API server, with the KubeConfig built from the cluster's stored
 * kubeconfig, or on its etcd member API (cluster-etcd.ts). Lists answer one page as the API server gave it; the caller folds the pages.
 */

function failure(error: unknown, what: string): ClusterApiFailure {
  const rawStatus = isKubernetesApiError(error) ? error.code : undefined;
  // Sorted as the port sorts its own errors: 5xx, 429 and no answer are worth another try.
  const named = classifyKubeError(error, what);
  const status = rawStatus ?? (named instanceof KubernetesApiError ? named.statusCode : undefined);
  return {
    name: named.name,
    // The API server's answer can be long; the first part says what went wrong.
    message: named.message.slice(0, 2000),
    ...(status !== undefined ? { status } : {}),
  };
}

/**
 * The etcd client certificate the control plane stored, read only for an etcd operation;
 * undefined before it is stored.
 */
export type EtcdAccessLoader = () => Promise<EtcdAccess | undefined>;

async function carryOut(
  request: ClusterApiRequest,
  config: KubeConfig,
  port: KubePort,
  etcdAccess: EtcdAccessLoader,
  etcdNetwork?: EtcdNetwork,
): Promise<ClusterApiResults[ClusterApiRequest['action']]> {
  switch (request.action) {
    case 'published':
      return { published: true };
    case 'listNodes': {
      const out = await config.makeApiClient(CoreV1Api).listNode({
        limit: request.limit,
        ...(request.continue ? { _continue: request.continue } : {}),
      });
      const token = out.metadata?._continue || undefined;
      return { items: out.items.map(toNode), ...(token ? { continue: token } : {}) };
    }
    case 'listPods': {
      const out = await config.makeApiClient(CoreV1Api).listPodForAllNamespaces({
        limit: request.limit,
        ...(request.continue ? { _continue: request.continue } : {}),
        ...(request.fieldSelector ? { fieldSelector: request.fieldSelector } : {}),
        ...(request.labelSelector ? { labelSelector: request.labelSelector } : {}),
      });
      const token = out.metadata?._continue || undefined;
      return { items: out.items.map(toPod), ...(token ? { continue: token } : {}) };
    }
    case 'listPodRows': {
      const selectors = {
        ...(request.fieldSelector ? { fieldSelector: request.fieldSelector } : {}),
        ...(request.labelSelector ? { labelSelector: request.labelSelector } : {}),
      };
      const out = await podTablePage(config, selectors, {
        limit: request.limit,
        ...(request.continue ? { _continue: request.continue } : {}),
      });
      const token = out.metadata?._continue || undefined;
      return { items: out.items, ...(token ? { continue: token } : {}) };
    }
    case 'podSlotCounts': {
      const counts = await countPodSlots(port);
      return {
        byNode: Object.fromEntries(counts.byNode),
        pendingTooManyPods: counts.pendingTooManyPods,
      };
    }
    case 'cordon':
      await port.cordon(request.node);
      return {};
    case 'uncordon':
      await port.uncordon(request.node);
      return {};
    case 'evict':
      return { result: await port.evict(request.namespace, request.name) };
    case 'getDaemonSetEnv': {
      const env = await port.getDaemonSetEnv(request.namespace, request.name, request.container);
      return env ? { env } : {};
    }
    case 'setDaemonSetEnv':
      await port.setDaemonSetEnv(request.namespace, request.name, request.container, request.env);
      return {};
    case 'recordEvent':
      await port.recordEvent(request.event);
      return {};
    case 'listEtcdMembers':
      return listEtcdMembers(config, await etcdAccess(), etcdNetwork);
    case 'removeEtcdMember':
      return removeEtcdMember(config, port, await etcdAccess(), request.instanceId, etcdNetwork);
  }
}

/**
 * Carries out one request. Kubernetes errors (and the port's named ones) become an `ok: false`
 * answer with their status, so the caller can tell a 410 Gone or a 429 from a refusal.
 */
export async function serveClusterApi(
  request: ClusterApiRequest,
  config: KubeConfig,
  etcdAccess: EtcdAccessLoader,
  etcdNetwork?: EtcdNetwork,
): Promise<ClusterApiResponse> {
  // The port built from the config does the mutations exactly as the stages did in-process;
  // list pages use the clients directly, since a port folds whole lists.
  const port = kubePort(config);
  let answer: ClusterApiResponse;
  try {
    answer = { ok: true, result: await carryOut(request, config, port, etcdAccess, etcdNetwork) };
  } catch (error) {
    return { ok: false, error: failure(error, request.action) };
  }
  const bytes = Buffer.byteLength(JSON.stringify(answer));
  return bytes <= MAX_RESPONSE_BYTES
    ? answer
    : {
        ok: false,
        error: {
          name: 'KubernetesApiError',
          message: `${request.action}: the answer is ${bytes} bytes, over the ${MAX_RESPONSE_BYTES} a Lambda response may carry; ask for a smaller page`,
        },
      };
}
