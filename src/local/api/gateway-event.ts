import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { parseDocument } from 'yaml';
import { now as clockNow } from '../../clock.js';
import type { CallerIdentity } from './sigv4.js';

/** One resource and method of the REST API, as template.yaml declares it on the API function. */
export interface ApiRoute {
  method: string;
  /** The resource path with its parameters, e.g. `/clusters/{name}`. */
  resource: string;
}

/** The stage the template deploys (`StageName`); it leads every path, as in the deployed URL. */
export const LOCAL_STAGE = 'v1';

/**
 * The API function's `Api` events in template.yaml: the same routes API Gateway is given, so
 * the local endpoint answers exactly what the deployed one would route to the function.
 */
export function routesFromTemplate(templatePath: string): ApiRoute[] {
  // The template's short-form intrinsics (!Ref, !Sub) are unknown tags to a plain YAML parser:
  // they only sit in properties this reader does not look at.
  const doc = parseDocument(readFileSync(templatePath, 'utf8'), { logLevel: 'silent' }).toJS() as {
    Resources: Record<string, { Properties?: { Events?: Record<string, any> } }>;
  };
  const events = doc.Resources.ApiFunction?.Properties?.Events ?? {};
  return Object.values(events)
    .filter((event) => event?.Type === 'Api')
    .map((event) => ({
      method: String(event.Properties.Method).toUpperCase(),
      resource: String(event.Properties.Path),
    }));
}

/** The route a request path falls on and its path parameters (decoded, as API Gateway passes them). */
export function matchRoute(
  routes: ApiRoute[],
  method: string,
  path: string,
): { route: ApiRoute; pathParameters: Record<string, string> } | 'no-resource' | 'no-method' {
  let resourceFound = false;
  for (const route of routes) {
    const names: string[] = [];
    const pattern = route.resource.replace(/\{([^}]+)\}|[^{}]+/g, (part, name?: string) => {
      if (name) {
        names.push(name);
        return '([^/]+)';
      }
      return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
    });
    const m = new RegExp(`^${pattern}$`).exec(path);
    if (!m) continue;
    resourceFound = true;
    if (route.method !== method) continue;
    const pathParameters: Record<string, string> = {};
    try {
      names.forEach((name, i) => {
        pathParameters[name] = decodeURIComponent(m[i + 1]!);
      });
    } catch {
      // A malformed escape (%E0%A4%A) names no resource, as API Gateway answers it.
      return 'no-resource';
    }
    return { route, pathParameters };
  }
  return resourceFound ? 'no-method' : 'no-resource';
}

export interface IncomingCall {
  method: string;
  /** The path under the stage, e.g. `/clusters/x` for `/v1/clusters/x`. */
  path: string;
  rawHeaders: string[];
  query: URLSearchParams;
  body: Buffer;
  sourceIp: string;
}

/**
 * The event API Gateway's Lambda proxy integration sends for a REST API request: headers and
 * multiValueHeaders as received, query parameters, path parameters, the stage and the caller's
 * IAM identity in requestContext, the body as text (base64 when it is not UTF-8).
 */
export function proxyEvent(
  call: IncomingCall,
  match: { route: ApiRoute; pathParameters: Record<string, string> },
  identity: CallerIdentity,
  apiId: string,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < call.rawHeaders.length; i += 2) {
    const name = call.rawHeaders[i]!;
    const value = call.rawHeaders[i + 1]!;
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of call.query) {
    query[name] = value;
    (multiQuery[name] ??= []).push(value);
  }
  const text = call.body.toString('utf8');
  const isText = Buffer.from(text, 'utf8').equals(call.body);
  const requestId = randomUUID();
  const now = clockNow();
  return {
    resource: match.route.resource,
    path: call.path,
    httpMethod: call.method,
    headers,
    multiValueHeaders,
    queryStringParameters: call.query.size > 0 ? query : null,
    multiValueQueryStringParameters: call.query.size > 0 ? multiQuery : null,
    pathParameters: Object.keys(match.pathParameters).length > 0 ? match.pathParameters : null,
    stageVariables: null,
    body: call.body.length === 0 ? null : isText ? text : call.body.toString('base64'),
    isBase64Encoded: call.body.length > 0 && !isText,
    requestContext: {
      accountId: identity.accountId,
      apiId,
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: call.method,
      path: `/${LOCAL_STAGE}${call.path}`,
      stage: LOCAL_STAGE,
      requestId,
      requestTimeEpoch: now.getTime(),
      resourceId: 'local',
      resourcePath: match.route.resource,
      identity: {
        accessKey: identity.accessKey,
        accountId: identity.accountId,
        apiKey: null,
        apiKeyId: null,
        caller: identity.caller,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: call.sourceIp,
        user: identity.user,
        userAgent: headers['User-Agent'] ?? headers['user-agent'] ?? null,
        userArn: identity.userArn,
      },
    },
  } as APIGatewayProxyEvent;
}
