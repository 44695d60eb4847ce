import { readConfig } from '../src/config.js';
import { createLaunchClusterHandler } from '../src/handlers/launch-cluster.js';

/** The Lambda entry: the handler built once, at cold start, from the function's environment (see src/handlers/launch-cluster.ts). */
export const handler = createLaunchClusterHandler(readConfig(process.env));
