import { storeKey } from '../state/layout.js';
import type { ObjectStore } from '../state/object-store.js';
import { type KubePort, kubePort } from './port.js';

/** Where a cluster's admin kubeconfig is kept (the control plane's bootstrap writes it there). */
export const kubeconfigKey = storeKey.kubeconfig;

/**
 * The Kubernetes port of a cluster, from the kubeconfig in the state store; undefined while the
 * control plane has not published one yet. This is the only place that knows where the API is.
 */
export async function kubeForCluster(
  objects: Pick<ObjectStore, 'get'>,
  cluster: string,
): Promise<KubePort | undefined> {
  const kubeconfig = await objects.get(kubeconfigKey(cluster));
  return kubeconfig ? kubePort(kubeconfig.body) : undefined;
}
