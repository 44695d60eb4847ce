import type { KubeConfig } from '@kubernetes/client-node';
import { storedKubeConfig } from '../../src/kube/stored-kubeconfig.js';
import { simKubeconfig } from '../../src/local/kube-sim/aws-backend.js';

/** The KubeConfig the stages build for a cluster whose stored kubeconfig names `url`, registered as the local backend registers its API. */
export function registeredKubeConfig(cluster: string, url: string): KubeConfig {
  return storedKubeConfig(cluster, simKubeconfig(cluster, url), {
    httpsHosts: [],
    registeredUrls: [url],
  });
}
