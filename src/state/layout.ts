/**
 * The state store's layout: where each object of a cluster lives, in kOps's layout so kOps users
 * find their way around it:
 *
 *   <cluster>/config                            the Cluster as written
 *   <cluster>/instancegroup/<name>              each InstanceGroup as written
 *   <cluster>/cluster-completed.spec            the Cluster with defaults filled in
 *   <cluster>/kops-version.txt                  the version that last wrote the cluster
 *
 * plus what kOps does not have: `status.json` (phase, last execution, last error), `lock` (a
 * lease held by one execution), what the instances publish and read while they boot (the
 * bootstrap token, the CA hash, the admin kubeconfig, the control plane's keys) and the ENI
 * watcher's state and decisions.
 *
 * The one place the keys are spelled: the store, the stages, the instances' IAM policy and their
 * boot script all take them from here. Pure, no imports, so any layer may read it.
 */

/** Each object's key inside its cluster's folder (what the boot script appends to `${STATE_STORE}/`). */
export const CLUSTER_OBJECTS = {
  config: 'config',
  instanceGroups: 'instancegroup/',
  completed: 'cluster-completed.spec',
  version: 'kops-version.txt',
  status: 'status.json',
  lock: 'lock',
  bootstrapToken: 'secrets/bootstrap-token',
  /** When the launch stage last wrote the bootstrap token (ISO time): not a secret. */
  bootstrapTokenIssued: 'bootstrap-token-issued',
  kubeconfig: 'secrets/kubeconfig',
  controlPlanePki: 'secrets/control-plane-pki.tar.gz',
  /** A client certificate of the etcd CA (JSON: ca, cert, key) for the member API; see kube/etcd.ts. */
  etcdClient: 'secrets/etcd-client.json',
  /** Holds the ID of the control-plane instance that runs `kubeadm init`; written once, If-None-Match. */
  controlPlaneInitializer: 'secrets/control-plane-initializer',
  /** The control plane writes under this folder; nodes read the CA hash from it. */
  pki: 'pki/',
  caCertHash: 'pki/ca-cert-hash',
  eniWatcher: 'eni-watcher/',
} as const;

/** A cluster's folder: every key of the cluster starts with it. */
export function clusterFolder(cluster: string): string {
  return `${cluster}/`;
}

/** The full key of one of a cluster's objects, as `CLUSTER_OBJECTS` names them. */
export function clusterKey(
  cluster: string,
  object: (typeof CLUSTER_OBJECTS)[keyof typeof CLUSTER_OBJECTS],
): string {
  return `${clusterFolder(cluster)}${object}`;
}

/** The full keys of a cluster's objects. */
export const storeKey = {
  config: (cluster: string) => clusterKey(cluster, CLUSTER_OBJECTS.config),
  instanceGroups: (cluster: string) => clusterKey(cluster, CLUSTER_OBJECTS.instanceGroups),
  instanceGroup: (cluster: string, ig: string) =>
    `${clusterKey(cluster, CLUSTER_OBJECTS.instanceGroups)}${ig}`,
  completed: (cluster: string) => clusterKey(cluster, CLUSTER_OBJECTS.completed),
  version: (cluster: string) => clusterKey(cluster, CLUSTER_OBJECTS.version),
  status: (cluster: string) => clusterKey(cluster, CLUSTER_OBJECTS.status),
  lock: (cluster: string) => clusterKey(cluster, CLUSTER_OBJECTS.lock),
  bootstrapToken: (cluster: string) => clusterKey(cluster, CLUSTER_OBJECTS.bootstrapToken),
  bootstrapTokenIssued: (cluster: string) =>
    clusterKey(cluster, CLUSTER_OBJECTS.bootstrapTokenIssued),
  kubeconfig: (cluster: string) => clusterKey(cluster, CLUSTER_OBJECTS.kubeconfig),
  etcdClient: (cluster: string) => clusterKey(cluster, CLUSTER_OBJECTS.etcdClient),
  eniWatcherState: (cluster: string) =>
    `${clusterKey(cluster, CLUSTER_OBJECTS.eniWatcher)}state.json`,
  eniWatcherLastDecision: (cluster: string) =>
    `${clusterKey(cluster, CLUSTER_OBJECTS.eniWatcher)}last-decision.json`,
  eniWatcherDecision: (cluster: string, at: string) =>
    `${clusterKey(cluster, CLUSTER_OBJECTS.eniWatcher)}decisions/${at}.json`,
};
