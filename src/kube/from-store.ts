import { storeKey } from '../state/layout.js';
import type { ObjectStore } from '../state/object-store.js';
import { type KubePort, kubePort } from './port.js';
import { clusterServers, storedKubeConfig, type TrustedServers } from './stored-kubeconfig.js';

/** Where a cluster's admin kubeconfig is kept (the control plane's bootstrap writes it there). */
export const kubeconfigKey = storeKey.kubeconfig;

/**
 * The server URL the local backend's simulated Kubernetes API serves a cluster at, under its
 * base URL (`http://127.0.0.1:<port>`): the one plain-HTTP server a stored kubeconfig may name.
 */
export function localClusterApiUrl(localKubeApi: string, cluster: string): string {
  return `${localKubeApi.replace(/\/+$/, '')}/clusters/${cluster}`;
}

/**
 * The same cluster's API as the local backend serves it inside the cluster's VPC
 * (`<base>/vpc/clusters/<name>`): a cluster marked private answers there only, as on AWS
 * `api.internal.<cluster>` resolves to the control plane's private address inside the VPC alone.
 */
export function localClusterApiUrlInVpc(localKubeApi: string, cluster: string): string {
  return `${localKubeApi.replace(/\/+$/, '')}/vpc/clusters/${cluster}`;
}

/** Where a cluster's stored kubeconfig may point, and where the local backend serves it when there is one. */
export interface KubeServerSettings {
  /** The cluster's internal API name (`spec.masterInternalName`); `api.internal.<cluster>` unset. */
  masterInternalName?: string;
  /** The local backend's simulated API base URL (`KOPSLESS_KUBE_API`); unset on AWS. */
  localKubeApi?: string;
}

/** The servers a cluster's stored kubeconfig may name (see TrustedServers). */
export function trustedServers(cluster: string, settings: KubeServerSettings = {}): TrustedServers {
  const own = clusterServers(cluster, settings.masterInternalName);
  return settings.localKubeApi
    ? { ...own, registeredUrls: [localClusterApiUrl(settings.localKubeApi, cluster)] }
    : own;
}

/**
 * The Kubernetes port of a cluster, from the kubeconfig in the state store; undefined while the
 * control plane has not published one yet. The kubeconfig is checked first (storedKubeConfig):
 * one that holds a command, a file path or another server is refused before any request.
 */
export async function kubeForCluster(
  objects: Pick<ObjectStore, 'get'>,
  cluster: string,
  settings: KubeServerSettings = {},
): Promise<KubePort | undefined> {
  const kubeconfig = await objects.get(kubeconfigKey(cluster));
  return kubeconfig
    ? kubePort(storedKubeConfig(cluster, kubeconfig.body, trustedServers(cluster, settings)))
    : undefined;
}
