import { ApiException } from '@kubernetes/client-node';
import {
  ClusterNotValidError,
  KubernetesApiError,
  StoredKubeconfigError,
  TransientKubeError,
} from '../errors.js';
import type {
  ClusterApiAction,
  ClusterApiFailure,
  ClusterApiInvoker,
  ClusterApiRequest,
  ClusterApiResults,
} from './cluster-api-protocol.js';
import { MAX_REMOTE_PAGE } from './cluster-api-protocol.js';
import { DEFAULT_PAGE_SIZE, foldPages, type KubePort, type ListPage, listAll } from './port.js';

/**
 * The Kubernetes port of a cluster as the shared functions see it: every call is one request to
 * the cluster's API function, which runs inside the cluster's VPC (docs/network-path.md). The
 * shared functions never hold the cluster's kubeconfig and never dial its API themselves.
 */

/** Rebuilds the error the function reported, under the name Step Functions matches. */
export function rebuild(failure: ClusterApiFailure, operation: string): Error {
  const message = `cluster API function, ${operation}: ${failure.message}`;
  // etcd refused (a removal that would cost the quorum) or its stored access is not usable.
  if (failure.name === 'ClusterNotValidError') return new ClusterNotValidError(message);
  // 410 Gone keeps the client's shape, so list folds restart as they do in-process.
  if (failure.status === 410) return new ApiException(410, message, undefined, {});
  if (failure.name === 'StoredKubeconfigError') return new StoredKubeconfigError(message);
  if (failure.name === 'KubernetesApiError') return new KubernetesApiError(message, failure.status);
  return new TransientKubeError(message);
}

/** A KubePort over a cluster's API function, pages at most MAX_REMOTE_PAGE items each. */
export function remoteKubePort(
  cluster: string,
  invoke: ClusterApiInvoker,
  options: { pageSize?: number } = {},
): KubePort {
  const pageSize = Math.min(options.pageSize ?? DEFAULT_PAGE_SIZE, MAX_REMOTE_PAGE);
  /** Requests without the cluster, which the port adds: it is the one cluster this port reaches. */
  type Asked = ClusterApiRequest extends infer R
    ? R extends unknown
      ? Omit<R, 'cluster'>
      : never
    : never;
  async function call<O extends ClusterApiAction>(
    request: Asked & { action: O },
  ): Promise<ClusterApiResults[O]> {
    const full = { ...request, cluster } as unknown as ClusterApiRequest;
    const response = await invoke(full);
    if (!response.ok) throw rebuild(response.error, full.action);
    return response.result as ClusterApiResults[O];
  }
  const pageOf =
    <O extends 'listNodes' | 'listPods' | 'listPodRows'>(
      operation: O,
      selectors: { fieldSelector?: string; labelSelector?: string } = {},
    ) =>
    async (request: { limit?: number; _continue?: string }): Promise<ListPage<never>> => {
      const out = (await call({
        action: operation,
        limit: Math.min(request.limit ?? pageSize, MAX_REMOTE_PAGE),
        ...(request._continue ? { continue: request._continue } : {}),
        ...(operation === 'listNodes' ? {} : selectors),
      } as never)) as ClusterApiResults[O];
      return {
        items: out.items as never[],
        ...(out.continue ? { metadata: { _continue: out.continue } } : {}),
      };
    };
  const same = <T>(item: T) => item;
  return {
    listNodes: () => listAll(pageOf('listNodes'), pageSize, same),
    listPods: (selectors = {}) => listAll(pageOf('listPods', selectors), pageSize, same),
    foldNodes: (initial, step) => foldPages(pageOf('listNodes'), pageSize, same, initial, step),
    foldPods: (selectors, initial, step) =>
      foldPages(pageOf('listPods', selectors), pageSize, same, initial, step),
    foldPodRows: (selectors, initial, step) =>
      foldPages(pageOf('listPodRows', selectors), pageSize, same, initial, step),
    async podSlotCounts() {
      const out = await call<'podSlotCounts'>({ action: 'podSlotCounts' });
      return {
        byNode: new Map(Object.entries(out.byNode)),
        pendingTooManyPods: out.pendingTooManyPods,
      };
    },
    async cordon(node) {
      await call<'cordon'>({ action: 'cordon', node });
    },
    async uncordon(node) {
      await call<'uncordon'>({ action: 'uncordon', node });
    },
    async evict(namespace, name) {
      return (await call<'evict'>({ action: 'evict', namespace, name })).result;
    },
    async getDaemonSetEnv(namespace, name, container) {
      return (
        await call<'getDaemonSetEnv'>({ action: 'getDaemonSetEnv', namespace, name, container })
      ).env;
    },
    async setDaemonSetEnv(namespace, name, container, env) {
      await call<'setDaemonSetEnv'>({
        action: 'setDaemonSetEnv',
        namespace,
        name,
        container,
        env,
      });
    },
    async recordEvent(event) {
      try {
        await call<'recordEvent'>({ action: 'recordEvent', event });
      } catch {
        // Best effort, as the in-process port: an event never fails a stage.
      }
    },
  };
}

/**
 * The port of a cluster through its API function, or undefined while the control plane has not
 * stored its kubeconfig yet (the function is asked first, as kubeForCluster reads the store).
 */
export async function clusterKube(
  cluster: string,
  invoke: ClusterApiInvoker,
  options: { pageSize?: number } = {},
): Promise<KubePort | undefined> {
  const answer = await invoke({ cluster, action: 'published' });
  if (!answer.ok) throw rebuild(answer.error, 'published');
  return (answer.result as ClusterApiResults['published']).published
    ? remoteKubePort(cluster, invoke, options)
    : undefined;
}
