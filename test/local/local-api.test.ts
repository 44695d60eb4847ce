import { join } from 'node:path';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routesFromTemplate } from '../../src/local/api/gateway-event.js';
import { type LocalApi, startLocalApi } from '../../src/local/api/server.js';
import { ROOT } from '../helpers.js';

const CREDENTIALS = { accessKeyId: 'kopsless-local', secretAccessKey: 'kopsless-local' };
const events: any[] = [];
let api: LocalApi;

beforeAll(async () => {
  api = await startLocalApi({
    port: 0,
    routes: routesFromTemplate(join(ROOT, 'template.yaml')),
    handler: async (event) => {
      events.push(event);
      return {
        statusCode: 200,
        headers: { 'Content-Type': 'application/json' },
        body: '{"ok":true}',
      };
    },
    credentials: CREDENTIALS,
    region: 'us-east-1',
    accountId: '123456789012',
  });
});
afterAll(() => api.close());

interface Call {
  method?: string;
  path: string;
  body?: string;
  credentials?: typeof CREDENTIALS;
  region?: string;
  signingDate?: Date;
  /** Changes the request after it was signed. */
  tamper?: (request: { body?: string; headers: Record<string, string> }) => void;
}

/** Signs as the AWS SDK signs an execute-api request, then sends it. */
async function signedFetch(
  call: Call,
): Promise<{ status: number; body: any; errorType: string | null }> {
  const url = new URL(api.url + call.path);
  const request = {
    method: call.method ?? 'GET',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { host: url.host, 'content-type': 'application/yaml' } as Record<string, string>,
    ...(call.body !== undefined ? { body: call.body } : {}),
  };
  const signer = new SignatureV4({
    credentials: call.credentials ?? CREDENTIALS,
    region: call.region ?? 'us-east-1',
    service: 'execute-api',
    sha256: Hash.bind(null, 'sha256'),
  });
  const signed = (await signer.sign(
    request,
    call.signingDate ? { signingDate: call.signingDate } : {},
  )) as typeof request;
  const sent = { body: call.body, headers: { ...signed.headers } };
  call.tamper?.(sent);
  delete sent.headers.host;
  const response = await fetch(url, {
    method: request.method,
    headers: sent.headers,
    ...(sent.body !== undefined ? { body: sent.body } : {}),
  });
  return {
    status: response.status,
    body: await response.json(),
    errorType: response.headers.get('x-amzn-errortype'),
  };
}

describe('the local API endpoint', () => {
  it('reads the routes API Gateway is given from the API function in template.yaml', () => {
    expect(routesFromTemplate(join(ROOT, 'template.yaml'))).toContainEqual({
      method: 'GET',
      resource: '/clusters/{name}/executions/{id}',
    });
  });

  it('answers an unsigned request 403 Missing Authentication Token, as API Gateway does', async () => {
    const before = events.length;
    const response = await fetch(`${api.url}/clusters`);
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
    expect(events.length).toBe(before);
  });

  it('answers a path it has no resource for 403 Missing Authentication Token, signed or not', async () => {
    const answer = await signedFetch({ path: '/nodes' });
    expect(answer).toMatchObject({
      status: 403,
      body: { message: 'Missing Authentication Token' },
    });
  });

  it('refuses a signature made with another secret key in API Gateway words', async () => {
    const answer = await signedFetch({
      path: '/clusters',
      credentials: { ...CREDENTIALS, secretAccessKey: 'not-the-secret' },
    });
    expect(answer.status).toBe(403);
    expect(answer.body.message).toMatch(
      /^The request signature we calculated does not match the signature you provided\./,
    );
    expect(answer.errorType).toBe('InvalidSignatureException');
  });

  it('refuses a body changed after signing', async () => {
    const answer = await signedFetch({
      method: 'POST',
      path: '/clusters',
      body: 'kind: Cluster',
      tamper: (request) => {
        request.body = 'kind: Other';
      },
    });
    expect(answer.status).toBe(403);
    expect(answer.errorType).toBe('InvalidSignatureException');
  });

  it('refuses an access key it does not know', async () => {
    const answer = await signedFetch({
      path: '/clusters',
      credentials: { accessKeyId: 'AKIAOTHER', secretAccessKey: 'x' },
    });
    expect(answer).toMatchObject({
      status: 403,
      body: { message: 'The security token included in the request is invalid.' },
      errorType: 'UnrecognizedClientException',
    });
  });

  it('refuses a signature older than five minutes', async () => {
    const answer = await signedFetch({
      path: '/clusters',
      signingDate: new Date(Date.now() - 6 * 60 * 1000),
    });
    expect(answer.status).toBe(403);
    expect(answer.body.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than/);
  });

  it('refuses a signature scoped to another region', async () => {
    const answer = await signedFetch({ path: '/clusters', region: 'eu-west-1' });
    expect(answer.status).toBe(403);
    expect(answer.body.message).toMatch(/valid region, not 'eu-west-1'/);
  });

  it('hands a signed request to the handler as a REST proxy event with path parameters and the caller', async () => {
    const answer = await signedFetch({
      method: 'POST',
      path: '/clusters/a.example.com/rolling-update?dry=1',
      body: '{}',
    });
    expect(answer).toMatchObject({ status: 200, body: { ok: true } });
    const event = events.at(-1);
    expect(event).toMatchObject({
      resource: '/clusters/{name}/rolling-update',
      path: '/clusters/a.example.com/rolling-update',
      httpMethod: 'POST',
      pathParameters: { name: 'a.example.com' },
      queryStringParameters: { dry: '1' },
      body: '{}',
      isBase64Encoded: false,
      requestContext: {
        stage: 'v1',
        resourcePath: '/clusters/{name}/rolling-update',
        identity: { accessKey: 'kopsless-local', sourceIp: '127.0.0.1' },
      },
    });
  });
});
