import { readConfig } from '../src/config.js';
import { createWatchEniHandler } from '../src/handlers/watch-eni.js';

/** The Lambda entry: the handler built once, at cold start, from the function's environment (see src/handlers/watch-eni.ts). */
export const handler = createWatchEniHandler(readConfig(process.env));
