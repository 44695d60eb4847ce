import type { FunctionLogicalId } from '../functions-registry.js';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/**
 * How the local runner loads each Lambda entry: the same modules SAM bundles, imported lazily
 * so that their module-scope clients are built after the backend's environment is set.
 */
export const LOCAL_HANDLERS: Record<FunctionLogicalId, () => Promise<{ handler: Handler }>> = {
  ValidateSpecFunction: () => import('../../functions/validate-spec.js') as Promise<{ handler: Handler }>,
  WriteStateFunction: () => import('../../functions/write-state.js') as Promise<{ handler: Handler }>,
  LaunchClusterFunction: () => import('../../functions/launch-cluster.js') as Promise<{ handler: Handler }>,
  VerifyDnsFunction: () => import('../../functions/verify-dns.js') as Promise<{ handler: Handler }>,
};
