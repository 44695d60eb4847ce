import { readConfig } from '../src/config.js';
import { createRollingUpdateHandler } from '../src/handlers/rolling-update.js';

/** The Lambda entry: the handler built once, at cold start, from the function's environment (see src/handlers/rolling-update.ts). */
export const handler = createRollingUpdateHandler(readConfig(process.env));
