import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type LocalHandler, lambdaContext } from '../sfn/handlers.js';
import { type ApiRoute, LOCAL_STAGE, matchRoute, proxyEvent } from './gateway-event.js';
import { MISSING_TOKEN, type SigV4Credentials, verifySigV4 } from './sigv4.js';

/** API Gateway's limit on a REST API request body. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface LocalApiOptions {
  /** 0 picks a free port. */
  port: number;
  routes: ApiRoute[];
  /** The API function's handler, built as the local runner builds it. */
  handler: LocalHandler;
  credentials: SigV4Credentials;
  region: string;
  accountId: string;
  log?: (line: string) => void;
}

export interface LocalApi {
  server: Server;
  url: string;
  close(): Promise<void>;
}

type ProxyResult = {
  statusCode: number;
  headers?: Record<string, string | number | boolean>;
  multiValueHeaders?: Record<string, Array<string | number | boolean>>;
  body?: string;
  isBase64Encoded?: boolean;
};

function send(res: ServerResponse, statusCode: number, body: unknown, headers = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(statusCode, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * The kopsless REST API on 127.0.0.1, as API Gateway serves it deployed: `/<stage>/<resource>`,
 * IAM (SigV4) authorization checked before anything else runs, the request handed to the API
 * function's handler as a Lambda proxy event, its answer returned as API Gateway returns it.
 */
export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  const log = options.log ?? (() => {});
  const server = createServer((req, res) => {
    void serve(req, res).catch((error: Error) => {
      log(`request failed: ${error.message}`);
      if (!res.headersSent) send(res, 502, { message: 'Internal server error' });
      else res.destroy();
    });
  });
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const body = await readBody(req);
    if (!body) return send(res, 413, { message: 'Request Too Long' });
    const stagePrefix = `/${LOCAL_STAGE}`;
    const underStage = url.pathname.startsWith(`${stagePrefix}/`)
      ? url.pathname.slice(stagePrefix.length)
      : undefined;
    const match = underStage ? matchRoute(options.routes, method, underStage) : 'no-resource';
    // API Gateway answers a resource or method it does not have as it answers an unsigned call.
    if (typeof match === 'string')
      return send(
        res,
        403,
        { message: MISSING_TOKEN },
        { 'x-amzn-ErrorType': 'MissingAuthenticationTokenException' },
      );
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
    const query: Record<string, string | string[]> = {};
    for (const key of new Set(url.searchParams.keys())) {
      const values = url.searchParams.getAll(key);
      query[key] = values.length === 1 ? values[0]! : values;
    }
    const verdict = await verifySigV4(
      { method, path: url.pathname, query, headers, body },
      { credentials: options.credentials, region: options.region, accountId: options.accountId },
    );
    if (!verdict.ok) {
      log(`${method} ${url.pathname}: 403 ${verdict.message.split('\n')[0]}`);
      return send(
        res,
        403,
        { message: verdict.message },
        { 'x-amzn-ErrorType': verdict.errorType },
      );
    }
    const event = proxyEvent(
      {
        method,
        path: underStage!,
        rawHeaders: req.rawHeaders,
        query: url.searchParams,
        body,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      },
      match,
      verdict.identity,
      'local',
    );
    const result = (await options.handler(
      event,
      lambdaContext('kopsless-ApiFunction'),
    )) as ProxyResult;
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(result.headers ?? {})) out[k] = String(v);
    for (const [k, v] of Object.entries(result.multiValueHeaders ?? {})) out[k] = v.map(String);
    const payload = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
    res.writeHead(result.statusCode, { ...out, 'Content-Length': payload.length });
    res.end(payload);
    log(`${method} ${url.pathname}: ${result.statusCode}`);
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}/${LOCAL_STAGE}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
