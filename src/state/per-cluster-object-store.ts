import type { ObjectStore } from './object-store.js';

/** The cluster a state store key belongs to: its first path segment (`<cluster>/config`). */
export function clusterOfKey(key: string): string {
  const slash = key.indexOf('/');
  if (slash <= 0)
    throw new Error(`state store key "${key}" names no cluster (expected "<cluster>/...")`);
  return key.slice(0, slash);
}

/**
 * One state store over per-cluster object stores: each read, write and listing goes to the
 * store of the cluster its key names, whose credentials reach only that cluster's prefix, so a
 * key of cluster B asked for while acting for A is refused by IAM, not by this code. Only the
 * list of the store's clusters (`listFolders`) uses `everyCluster`, the caller's own credentials.
 */
export function perClusterObjectStore(
  ofCluster: (cluster: string) => ObjectStore,
  everyCluster?: Pick<ObjectStore, 'listFolders'>,
): ObjectStore {
  return {
    get: (key) => ofCluster(clusterOfKey(key)).get(key),
    put: (key, body, condition) => ofCluster(clusterOfKey(key)).put(key, body, condition),
    delete: (key) => ofCluster(clusterOfKey(key)).delete(key),
    list: (prefix) => ofCluster(clusterOfKey(prefix)).list(prefix),
    async listFolders() {
      if (!everyCluster)
        throw new Error('this state store lists no clusters: it acts for one cluster at a time');
      return everyCluster.listFolders();
    },
  };
}
