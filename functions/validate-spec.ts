import { readConfig } from '../src/config.js';
import { createValidateSpecHandler } from '../src/handlers/validate-spec.js';

/** The Lambda entry: the handler built once, at cold start, from the function's environment (see src/handlers/validate-spec.ts). */
export const handler = createValidateSpecHandler(readConfig(process.env));
