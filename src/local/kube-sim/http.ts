import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Obj, SimCluster } from './cluster.js';
import { decodeKubernetesProtobuf, ProtobufBodyError } from './protobuf.js';

/** The simulated API server's requests, routes and replies: what every route module shares. */

type Handler = (c: SimCluster, req: Request) => Obj | Promise<Obj>;

/** One request as a route handler sees it. */
export interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  accept: string | undefined;
  contentType: string | undefined;
  body: Obj | undefined;
  params: string[];
  /** At most this many items per page when the client asks for pages (`limit`). */
  maxPageItems: number;
  /** `Warning:` headers for the response (field validation `Warn`). */
  warnings: string[];
}

/** An answer other than success: the Status object the API server sends, with its code and reason. */
export class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    /** The Status object's `details` (the causes of a 422 Invalid). */
    readonly details?: Obj,
  ) {
    super(message);
  }
}

/** 404 NotFound as the API server words it: `<resource> "<name>" not found`. */
export function notFound(kind: string, name: string): HttpError {
  return new HttpError(404, 'NotFound', `${kind} "${name}" not found`);
}

const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;

/** The request body as an object: JSON, or protobuf for the kinds kubectl sends it for; undefined when empty. */
export async function readBody(req: IncomingMessage): Promise<Obj | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    // The API server's own bound on a request body (3 MiB), which also bounds the work a body can cause.
    if (size > MAX_REQUEST_BODY_BYTES)
      throw new HttpError(
        413,
        'RequestEntityTooLarge',
        `Request entity too large: limit is ${MAX_REQUEST_BODY_BYTES}`,
      );
    chunks.push(chunk as Buffer);
  }
  if (chunks.length === 0) return undefined;
  if (/^application\/vnd\.kubernetes\.protobuf\s*(;|$)/.test(req.headers['content-type'] ?? '')) {
    // kubectl's create generators send protobuf; the object is then handled as a JSON body.
    try {
      return decodeKubernetesProtobuf(Buffer.concat(chunks));
    } catch (error) {
      if (error instanceof ProtobufBodyError)
        throw new HttpError(
          error.malformed ? 400 : 415,
          error.malformed ? 'BadRequest' : 'UnsupportedMediaType',
          error.message,
        );
      throw error;
    }
  }
  if (/protobuf/.test(req.headers['content-type'] ?? '')) {
    throw new HttpError(
      415,
      'UnsupportedMediaType',
      `the simulated API server reads JSON and application/vnd.kubernetes.protobuf, not ${req.headers['content-type']}: use \`kubectl apply -f <manifest>\``,
    );
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as Obj;
  } catch {
    throw new HttpError(
      400,
      'BadRequest',
      'request body is not JSON (the simulated API server reads JSON only)',
    );
  }
}

/** Writes a JSON answer, with field validation warnings as `Warning:` headers. */
export function send(res: ServerResponse, code: number, body: Obj, warnings: string[] = []): void {
  res.writeHead(code, {
    'Content-Type': 'application/json',
    ...(warnings.length
      ? { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') }
      : {}),
  });
  res.end(JSON.stringify(body));
}

/** One route: method, path pattern (after /clusters/<name>), handler. */
export type Route = [string, RegExp, Handler];
