import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { LambdaClientConfig } from '@aws-sdk/client-lambda';
import { createClusterApiHandler } from '../../handlers/cluster-api.js';
import { ETCD_ALIAS } from '../../kube/cluster-api-protocol.js';
import { clusterApiFunctionName } from '../../planning/names.js';
import { CLUSTER_API_TIMEOUT_SECONDS } from '../../planning/stack-cluster-api.js';
import { inFunction } from '../instrument/aws-calls.js';
import { withinHandler } from '../instrument/faults.js';
import { type LocalSettings, lambdaContext } from './handlers.js';

/**
 * The local stand-in for each cluster's API function (on AWS a function in the cluster's stack,
 * attached to its subnets: docs/network-path.md). The shared functions invoke it exactly as on
 * AWS, with `lambda:InvokeFunction` through the SDK's Lambda client: in-process through a
 * request handler that takes the place of the HTTP transport, from bundles through a small
 * HTTP host on 127.0.0.1 that speaks Lambda's Invoke API. Either way the invocation reaches
 * the same dispatch: one handler per cluster, built as the cluster's stack configures it.
 */

/** The logical ID of the cluster API function in a cluster's stack: faults are injected under it. */
export const CLUSTER_API_FUNCTION_ID = 'ClusterApiFunction';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/** What an invocation answers: Lambda's status, its payload and `X-Amz-Function-Error` when the function failed. */
export interface LocalInvocation {
  status: number;
  payload: string;
  functionError?: string;
}

/** One cluster API function per cluster and settings object, built on first use, as a warm container. */
const built = new WeakMap<LocalSettings, Map<string, Handler>>();

function handlerFor(cluster: string, settings: LocalSettings): Handler {
  let handlers = built.get(settings);
  if (!handlers) built.set(settings, (handlers = new Map()));
  let handler = handlers.get(cluster);
  if (!handler) {
    const { lambdaTransport: _own, ...runtime } = settings.runtime ?? {};
    handler = createClusterApiHandler(
      { cluster, stateBucket: settings.config.stateBucket },
      runtime,
    ) as Handler;
    handlers.set(cluster, handler);
  }
  return handler;
}

/** Lambda's answer for a function (or an alias of it) that does not exist. */
function notFound(functionName: string, qualifier?: string): LocalInvocation {
  return {
    status: 404,
    payload: JSON.stringify({
      Type: 'User',
      message: `Function not found: arn:aws:lambda:local:000000000000:function:${functionName}${qualifier ? `:${qualifier}` : ''}`,
    }),
  };
}

/** The qualifiers a cluster stack's function answers to: its one alias, and `$LATEST`. */
const QUALIFIERS = new Set([ETCD_ALIAS, '$LATEST']);

/**
 * The cluster whose function an invocation of `functionName` reaches, and its event; or Lambda's
 * answer when there is none. Each cluster's stack runs one function named for it, so a request
 * for cluster B sent to A's name finds no function that would serve it: 404, as Lambda answers
 * for a missing function.
 */
export function invocationTarget(
  functionName: string,
  payload: string,
  qualifier?: string,
): { cluster: string; event: unknown } | LocalInvocation {
  if (qualifier !== undefined && !QUALIFIERS.has(qualifier))
    return notFound(functionName, qualifier);
  let event: unknown;
  try {
    event = JSON.parse(payload || '{}');
  } catch {
    return {
      status: 400,
      payload: JSON.stringify({ Type: 'User', message: 'Could not parse request body into json' }),
    };
  }
  const cluster = (event as { cluster?: unknown } | null)?.cluster;
  if (typeof cluster !== 'string' || clusterApiFunctionName(cluster) !== functionName)
    return notFound(functionName);
  return { cluster, event };
}

/**
 * Invokes the cluster API function named `functionName` (through its alias `qualifier`, when
 * given) with `payload`, from the sources.
 */
export async function invokeLocalClusterApi(
  settings: LocalSettings,
  functionName: string,
  payload: string,
  qualifier?: string,
): Promise<LocalInvocation> {
  const target = invocationTarget(functionName, payload, qualifier);
  if ('status' in target) return target;
  const { cluster, event } = target;
  const handler = handlerFor(cluster, settings);
  try {
    // Its AWS calls are its own: each cluster's function has its cluster's role.
    const answer = await inFunction(functionName, () =>
      withinHandler(CLUSTER_API_FUNCTION_ID, () =>
        handler(
          event,
          lambdaContext(
            functionName,
            CLUSTER_API_TIMEOUT_SECONDS,
            settings.config.region,
            qualifier,
          ),
        ),
      ),
    );
    return { status: 200, payload: JSON.stringify(answer ?? null) };
  } catch (error) {
    return handlerErrorInvocation(error);
  }
}

/** As Lambda reports a handler's error to a synchronous caller: status 200, the error payload. */
export function handlerErrorInvocation(error: unknown): LocalInvocation {
  const e = error as Error;
  return {
    status: 200,
    functionError: 'Unhandled',
    payload: JSON.stringify({ errorType: e.name, errorMessage: e.message }),
  };
}

/** The function name in an Invoke request's path: `/2015-03-31/functions/<name>/invocations`. */
function invokedName(path: string): string | undefined {
  const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(path.split('?')[0] ?? '');
  return match ? decodeURIComponent(match[1]!) : undefined;
}

/** The `Qualifier` of an Invoke request (an alias or version), from its query. */
function invokedQualifier(query: URLSearchParams): string | undefined {
  return query.get('Qualifier') ?? undefined;
}

/** The response of an invocation as an SDK HTTP response. */
function sdkResponse(answer: LocalInvocation) {
  return {
    response: {
      statusCode: answer.status,
      reason: '',
      headers: {
        'content-type': 'application/json',
        'x-amz-executed-version': '$LATEST',
        ...(answer.functionError ? { 'x-amz-function-error': answer.functionError } : {}),
      },
      body: Readable.from([Buffer.from(answer.payload)]),
    },
  };
}

/**
 * The SDK Lambda client's transport for in-process runs: the request is serialized, signed and
 * recorded as on AWS, then handed to the local cluster API function instead of the network.
 */
export function localLambdaRequestHandler(
  settings: LocalSettings,
): NonNullable<LambdaClientConfig['requestHandler']> {
  return {
    async handle(request: {
      path: string;
      query?: Record<string, string | string[] | null>;
      body?: unknown;
    }) {
      const name = invokedName(request.path);
      const query = new URLSearchParams();
      for (const [k, v] of Object.entries(request.query ?? {}))
        for (const one of [v].flat()) if (one !== null) query.append(k, one);
      const qualifier = invokedQualifier(query);
      const body =
        request.body === undefined
          ? ''
          : typeof request.body === 'string'
            ? request.body
            : Buffer.from(request.body as Uint8Array).toString('utf8');
      return sdkResponse(
        name
          ? await invokeLocalClusterApi(settings, name, body, qualifier)
          : { status: 404, payload: '{"message":"not an Invoke request"}' },
      );
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
  } as unknown as NonNullable<LambdaClientConfig['requestHandler']>;
}

/** A running host of the cluster API functions, for functions that run from their bundles. */
export interface LocalFunctionHost {
  /** `http://127.0.0.1:<port>`: the Lambda endpoint a bundle's process is given. */
  url: string;
  close(): Promise<void>;
}

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Runs one invocation of the cluster API function `functionName`, through its alias `qualifier` when given. */
export type LocalInvoke = (
  functionName: string,
  payload: string,
  qualifier?: string,
) => Promise<LocalInvocation>;

/**
 * Serves Lambda's Invoke API on 127.0.0.1 for the cluster API functions, so that a shared
 * function running from its bundle (its own process) invokes them with its own SDK client.
 * `invoke` runs them (from the sources unless given). The caller stops it with `close`.
 */
export async function startLocalFunctionHost(
  settings: LocalSettings,
  invoke: LocalInvoke = (name, payload, qualifier) =>
    invokeLocalClusterApi(settings, name, payload, qualifier),
): Promise<LocalFunctionHost> {
  const server: Server = createServer((req, res) => {
    const name = req.method === 'POST' ? invokedName(req.url ?? '') : undefined;
    const qualifier = invokedQualifier(new URL(req.url ?? '/', 'http://127.0.0.1').searchParams);
    void readAll(req)
      .then(async (body) =>
        name
          ? invoke(name, body, qualifier)
          : { status: 404, payload: '{"message":"not an Invoke request"}' },
      )
      .then((answer: LocalInvocation) => {
        res.writeHead(answer.status, {
          'content-type': 'application/json',
          ...(answer.functionError ? { 'x-amz-function-error': answer.functionError } : {}),
        });
        res.end(answer.payload);
      })
      .catch((error: Error) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: error.message }));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
