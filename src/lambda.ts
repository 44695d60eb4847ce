import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { ZodType, ZodTypeDef } from 'zod';
import { boundError } from './causes.js';
import { KopslessError, namedError } from './errors.js';
import { parseEvent } from './stages/inputs.js';

/**
 * One structured logger per function, named after it (Powertools JSON logs on AWS). Without
 * `logLevel`, Powertools reads POWERTOOLS_LOG_LEVEL (Lambda's setting); the local runner passes one.
 */
export function stageLogger(serviceName: string, logLevel?: LogLevel): Logger {
  return new Logger({ serviceName, ...(logLevel ? { logLevel } : {}) });
}

/**
 * Gives every error that leaves a handler the name Step Functions matches: AWS SDK and
 * Kubernetes errors sorted as transient (retried by the ASL) or permanent (caught and
 * compensated); a bug (TypeError, ...) keeps its own name, so status.json says what it was.
 */
export function namedErrors(logger: Logger): MiddlewareObj {
  return {
    onError: async (request) => {
      // Bounded: Step Functions keeps 32,768 characters of a cause, and cuts the rest mid-word.
      const named = boundError(namedError(request.error));
      const transient = named instanceof KopslessError ? named.transient : false;
      logger.error('stage failed', { errorName: named.name, transient, error: named });
      request.error = named;
    },
  };
}

/**
 * Wraps a stage's core as a Lambda handler: the event parsed with its schema (an unknown
 * action or a wrong field is a named error before the core runs), context in the logs, errors
 * named. The core gets the Lambda context too (the time left in the invocation).
 */
export function stageHandler<I, O>(
  logger: Logger,
  core: (input: I, context: Context) => Promise<O>,
  schema?: ZodType<I, ZodTypeDef, unknown>,
) {
  return middy<I, O, Error, Context>(async (event: I, context: Context) =>
    core(schema ? parseEvent(schema, event) : event, context),
  )
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(namedErrors(logger));
}
