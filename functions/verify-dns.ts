import { readConfig } from '../src/config.js';
import { createVerifyDnsHandler, publicResolverFor } from '../src/handlers/verify-dns.js';

/** The Lambda entry: the handler built once, at cold start, from the function's environment (see src/handlers/verify-dns.ts). */
export const handler = createVerifyDnsHandler(
  readConfig(process.env),
  {},
  publicResolverFor(process.env),
);
