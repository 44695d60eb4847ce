import type { Logger } from '@aws-lambda-powertools/logger';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpEventNormalizer from '@middy/http-event-normalizer';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpRouterHandler, { type Method } from '@middy/http-router';
import httpSecurityHeaders from '@middy/http-security-headers';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { ApiConfig } from '../api-config.js';
import { clientConfig } from '../aws/clients.js';
import { perCluster } from '../aws/cluster-credentials.js';
import { type ExecutionsApi, executionsApi } from '../aws/sfn.js';
import { stageLogger } from '../lambda.js';
import { type ApiDeps, HttpProblem, routes } from '../stages/api.js';
import { ClusterStore } from '../state/cluster-store.js';
import { s3ObjectStore } from '../state/object-store.js';
import { perClusterObjectStore } from '../state/per-cluster-object-store.js';
import type { HandlerRuntime } from './runtime.js';

function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  };
}

/** Runs one route; the client's mistakes come back as 4xx with what was wrong, anything else as 500. */
function routeHandler(fn: (typeof routes)[keyof typeof routes], deps: ApiDeps, logger: Logger) {
  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      const response = await fn(
        {
          method: event.httpMethod,
          path: event.path,
          pathParameters: event.pathParameters ?? {},
          headers: event.headers ?? {},
          body: event.body,
          isBase64Encoded: event.isBase64Encoded,
        },
        deps,
      );
      return json(response.statusCode, response.body);
    } catch (error) {
      if (error instanceof HttpProblem)
        return json(error.statusCode, { message: error.message, ...error.details });
      logger.error('request failed', { error: error as Error, path: event.path });
      throw error;
    }
  };
}

/**
 * The kopsless API (API Gateway REST, IAM-authorized). `executions` replaces Step Functions
 * where no Step Functions runs the state machines (the local endpoint's background runner).
 */
export function createApiHandler(
  config: ApiConfig,
  runtime: HandlerRuntime = {},
  overrides: { executions?: ExecutionsApi } = {},
) {
  const aws = clientConfig(runtime.aws);
  // A cluster's state is read with credentials of that cluster alone; the list of the store's
  // clusters with the function's own.
  const ofCluster = perCluster(
    aws,
    { sessionPrefix: 'api', roleArn: config.clusterActorRoleArn },
    (settings) => s3ObjectStore(new S3Client(settings), config.stateBucket),
  );
  const deps: ApiDeps = {
    store: new ClusterStore(
      perClusterObjectStore(ofCluster, s3ObjectStore(new S3Client(aws), config.stateBucket)),
    ),
    executions: overrides.executions ?? executionsApi(new SFNClient(aws)),
    stateMachines: config.stateMachines,
  };
  const logger = stageLogger('api', runtime.logLevel);
  const route = (fn: (typeof routes)[keyof typeof routes]) => routeHandler(fn, deps, logger);
  const table: Array<{ method: Method; path: string; handler: ReturnType<typeof route> }> = [
    { method: 'POST', path: '/clusters', handler: route(routes.createCluster) },
    { method: 'GET', path: '/clusters', handler: route(routes.listClusters) },
    { method: 'GET', path: '/clusters/{name}', handler: route(routes.getCluster) },
    { method: 'POST', path: '/clusters/{name}/update', handler: route(routes.updateCluster) },
    {
      method: 'POST',
      path: '/clusters/{name}/rolling-update',
      handler: route(routes.rollingUpdate),
    },
    { method: 'DELETE', path: '/clusters/{name}', handler: route(routes.deleteCluster) },
    {
      method: 'GET',
      path: '/clusters/{name}/executions/{id}',
      handler: route(routes.getExecution),
    },
  ];
  return middy(
    httpRouterHandler({
      routes: table,
      // JSON like every other answer, naming what was asked for (the router's default is plain text).
      notFoundResponse: ({ method, path }: { method: string; path: string }) =>
        json(404, { message: `no route for ${method} ${path.slice(0, 200)}` }),
    } as never) as unknown as (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>,
  )
    .use(httpHeaderNormalizer())
    .use(httpEventNormalizer())
    .use(httpSecurityHeaders())
    .use(
      httpErrorHandler({
        fallbackMessage: 'internal error',
        logger: (error: unknown) => logger.warn('request refused', { error: error as Error }),
      }),
    );
}
