import { readConfig } from '../src/config.js';
import { createDeleteClusterHandler } from '../src/handlers/delete-cluster.js';

/** The Lambda entry: the handler built once, at cold start, from the function's environment (see src/handlers/delete-cluster.ts). */
export const handler = createDeleteClusterHandler(readConfig(process.env));
