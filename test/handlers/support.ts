import { lambdaContext as localLambdaContext } from '../../src/local/sfn/handlers.js';

/** Environment every handler reads at cold start. */
export const HANDLER_ENV = {
  STATE_BUCKET: 'state-bucket',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

/** A Lambda context as the runtime passes it. */
export const lambdaContext = localLambdaContext('kopsless-test') as never;

/** An S3 GetObject body: the one method of the SDK's stream mixin the state store calls. */
export function body(text: string) {
  return { transformToString: async () => text };
}

/** An error shaped as the SDK throws it for an HTTP status and error code. */
export function awsError(name: string, status: number, message = name): Error {
  return Object.assign(new Error(message), {
    name,
    $metadata: { httpStatusCode: status },
    $fault: status >= 500 ? 'server' : 'client',
  });
}
