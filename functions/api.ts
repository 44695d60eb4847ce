import { readApiConfig } from '../src/api-config.js';
import { createApiHandler } from '../src/handlers/api.js';

/** The Lambda entry: the handler built once, at cold start, from the function's environment (see src/handlers/api.ts). */
export const handler = createApiHandler(readApiConfig(process.env));
