import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { classifyAwsError, KopslessError } from './errors.js';

/** One structured logger per function, named after it (Powertools JSON logs on AWS). */
export function stageLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

/**
 * Gives every error that leaves a handler a name from the two families Step Functions knows:
 * anything that is not already a KopslessError is sorted as transient (retried by the ASL) or
 * permanent (caught and compensated).
 */
export function namedErrors(logger: Logger): MiddlewareObj {
  return {
    onError: async (request) => {
      const named = request.error instanceof KopslessError ? request.error : classifyAwsError(request.error);
      logger.error('stage failed', { errorName: named.name, transient: named.transient, error: named });
      request.error = named;
    },
  };
}

/** Wraps a stage's core as a Lambda handler: context in the logs, errors named. */
export function stageHandler<I, O>(logger: Logger, core: (input: I) => Promise<O>) {
  return middy<I, O, Error, Context>(async (event: I) => core(event))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(namedErrors(logger));
}
