import type { KubePort } from '../kube/port.js';
import { isSecretKey, type ObjectStore } from '../state/object-store.js';
import type { DeployedApi } from './deployed-api.js';
import { UsageError } from './usage-error.js';

/**
 * The state store as the CLI of a deployed stack sees it with its user's credentials: every
 * object but `secrets/`. The secrets key's policy lets only the functions' roles use it, so a
 * user's read or write there would be refused by KMS; it is refused here first, saying what to
 * use instead, and nothing is sent.
 */
export function withoutSecrets(objects: ObjectStore): ObjectStore {
  const refuse = (key: string): never => {
    throw new UsageError(
      `s3 object ${key}: with --target aws the CLI does not use secrets/ with your credentials (only the kopsless functions may); the kopsless API hands out a cluster's kubeconfig (kopsless export kubeconfig --admin)`,
    );
  };
  return {
    get: async (key) => (isSecretKey(key) ? refuse(key) : objects.get(key)),
    put: async (key, body, condition) =>
      isSecretKey(key) ? refuse(key) : objects.put(key, body, condition),
    delete: async (key) => (isSecretKey(key) ? refuse(key) : objects.delete(key)),
    list: (prefix) => objects.list(prefix),
    listFolders: () => objects.listFolders(),
  };
}

/**
 * A cluster's Kubernetes port from the admin kubeconfig the API hands out (its admin route), held
 * to the same checks as a kubeconfig read from the store: inline credentials, the cluster's own
 * server, nothing that runs.
 */
export async function kubeThroughApi(
  api: DeployedApi,
  cluster: string,
): Promise<KubePort | undefined> {
  const [{ kubeForCluster, kubeconfigKey }, kubeconfig] = await Promise.all([
    import('../kube/from-store.js'),
    api.kubeconfig(cluster, true),
  ]);
  if (kubeconfig === undefined) return undefined;
  const key = kubeconfigKey(cluster);
  return kubeForCluster(
    { get: async (k) => (k === key ? { body: kubeconfig, etag: '' } : undefined) },
    cluster,
  );
}
