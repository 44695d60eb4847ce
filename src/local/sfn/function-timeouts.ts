import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { FunctionLogicalId } from '../../functions-registry.js';

/**
 * Each function's Timeout as template.yaml deploys it (its own, else the Globals'): the local
 * runner gives a handler a Lambda context whose remaining time counts down from it, so a stage
 * that budgets its work by the time left does locally what it does on AWS.
 */

const TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'template.yaml');

/** Lambda's own default, for a function the template gives none. */
const LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3;

interface TemplateTimeouts {
  Globals?: { Function?: { Timeout?: number } };
  Resources?: Record<string, { Type?: string; Properties?: { Timeout?: number } }>;
}

let timeouts: Map<string, number> | undefined;

function readTimeouts(): Map<string, number> {
  // The short-form intrinsics (!Ref, !Sub) read as strings: only the numbers are used here.
  const template = parse(readFileSync(TEMPLATE, 'utf8'), {
    logLevel: 'silent',
  }) as TemplateTimeouts;
  const global = template.Globals?.Function?.Timeout ?? LAMBDA_DEFAULT_TIMEOUT_SECONDS;
  return new Map(
    Object.entries(template.Resources ?? {})
      .filter(([, r]) => r.Type === 'AWS::Serverless::Function')
      .map(([id, r]) => [id, r.Properties?.Timeout ?? global]),
  );
}

/** The function's Timeout in seconds, as template.yaml deploys it. */
export function functionTimeoutSeconds(logicalId: FunctionLogicalId): number {
  timeouts ??= readTimeouts();
  const seconds = timeouts.get(logicalId);
  if (seconds === undefined)
    throw new Error(`template.yaml deploys no function ${logicalId}: no Timeout to give it`);
  return seconds;
}
