import type { FunctionLogicalId } from '../functions-registry.js';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/**
 * How the local runner loads each Lambda entry: the same modules SAM bundles, imported lazily
 * so that their module-scope clients are built after the backend's environment is set.
 */
export const LOCAL_HANDLERS: Record<FunctionLogicalId, () => Promise<{ handler: Handler }>> = {
  ValidateSpecFunction: () => import('../../functions/validate-spec.js') as Promise<{ handler: Handler }>,
  WriteStateFunction: () => import('../../functions/write-state.js') as Promise<{ handler: Handler }>,
  LaunchClusterFunction: () => import('../../functions/launch-cluster.js') as Promise<{ handler: Handler }>,
  VerifyDnsFunction: () => import('../../functions/verify-dns.js') as Promise<{ handler: Handler }>,
  RollingUpdateFunction: () => import('../../functions/rolling-update.js') as Promise<{ handler: Handler }>,
  DeleteClusterFunction: () => import('../../functions/delete-cluster.js') as Promise<{ handler: Handler }>,
  WatchEniFunction: () => import('../../functions/watch-eni.js') as Promise<{ handler: Handler }>,
  ApiFunction: () => import('../../functions/api.js') as Promise<{ handler: Handler }>,
};

/** The context object the Lambda runtime passes, as far as the handlers and Powertools read it. */
export function lambdaContext(functionName: string) {
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 900_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
