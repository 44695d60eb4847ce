import { createClusterApiHandler, readClusterApiConfig } from '../src/handlers/cluster-api.js';

/**
 * The Lambda entry of a cluster's API function, built at cold start from the environment its
 * cluster stack sets (see src/handlers/cluster-api.ts). It ships as the deployment's
 * ClusterApiLayer; the stack's function loads it from /opt (src/planning/cluster-api-shim.ts).
 */
// KOPSLESS_KUBE_API is set only by the local backend: where its simulated Kubernetes API serves
// the clusters. A cluster stack never sets it.
export const handler = createClusterApiHandler(
  readClusterApiConfig(process.env),
  process.env.KOPSLESS_KUBE_API ? { localKubeApi: process.env.KOPSLESS_KUBE_API } : {},
);
