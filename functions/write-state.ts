import { readConfig } from '../src/config.js';
import { createWriteStateHandler } from '../src/handlers/write-state.js';

/** The Lambda entry: the handler built once, at cold start, from the function's environment (see src/handlers/write-state.ts). */
// The Lambda runtime sets AWS_LAMBDA_FUNCTION_NAME: only there are the lock's executions Step Functions' own.
export const handler = createWriteStateHandler(readConfig(process.env), {
  onLambda: Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME),
});
