import { readConfig } from '../src/config.js';
import { createRollingUpdateHandler } from '../src/handlers/rolling-update.js';

/** The Lambda entry: the handler built once, at cold start, from the function's environment (see src/handlers/rolling-update.ts). */
// KOPSLESS_KUBE_API is set only by the local backend (KOPSLESS_BUNDLES=1): where its simulated
// Kubernetes API serves the clusters. The template never sets it.
export const handler = createRollingUpdateHandler(
  readConfig(process.env),
  process.env.KOPSLESS_KUBE_API ? { localKubeApi: process.env.KOPSLESS_KUBE_API } : {},
);
