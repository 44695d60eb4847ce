import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { KopslessError, namedError } from './errors.js';

/** One structured logger per function, named after it (Powertools JSON logs on AWS). */
export function stageLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

/**
 * Gives every error that leaves a handler the name Step Functions matches: AWS SDK and
 * Kubernetes errors sorted as transient (retried by the ASL) or permanent (caught and
 * compensated); a bug (TypeError, ...) keeps its own name, so status.json says what it was.
 */
export function namedErrors(logger: Logger): MiddlewareObj {
  return {
    onError: async (request) => {
      const named = namedError(request.error);
      const transient = named instanceof KopslessError ? named.transient : false;
      logger.error('stage failed', { errorName: named.name, transient, error: named });
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
