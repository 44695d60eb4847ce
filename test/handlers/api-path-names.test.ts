import { join } from 'node:path';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { routesFromTemplate } from '../../src/local/api/gateway-event.js';
import { type LocalApi, startLocalApi } from '../../src/local/api/server.js';
import { ROOT } from '../helpers.js';
import { type ApiHandler, apiEvent, bodyOf, loadApi, resetMocks } from './api-harness.js';
import { serveSeedState } from './state-fixture.js';
import { lambdaContext } from './support.js';

// A cluster name reaches a state store prefix, a session tag and IAM resource ARNs: the API
// refuses one that is not a DNS-1123 name, or that still holds a "%" after API Gateway decoded
// it, before it makes any AWS call.
const CREDENTIALS = { accessKeyId: 'kopsless-local', secretAccessKey: 'kopsless-local' };
let api: Awaited<ReturnType<typeof loadApi>>;
let handler: ApiHandler;
let endpoint: LocalApi;

beforeAll(async () => {
  api = await loadApi();
  handler = api.handler;
  endpoint = await startLocalApi({
    port: 0,
    routes: routesFromTemplate(join(ROOT, 'template.yaml')),
    handler: (event) => handler(event, lambdaContext),
    credentials: CREDENTIALS,
    region: 'us-east-1',
    accountId: '123456789012',
  });
});
afterAll(() => endpoint.close());
beforeEach(() => {
  resetMocks(api.s3, api.sfn);
  serveSeedState(api.s3);
});

/** A request signed as the AWS SDK signs an execute-api call, sent to the local endpoint. */
async function signed(method: string, path: string): Promise<{ status: number; body: any }> {
  const url = new URL(endpoint.url + path);
  const request = {
    method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    headers: { host: url.host } as Record<string, string>,
  };
  const signer = new SignatureV4({
    credentials: CREDENTIALS,
    region: 'us-east-1',
    service: 'execute-api',
    sha256: Hash.bind(null, 'sha256'),
  });
  const { headers } = await signer.sign(request);
  const { host: _, ...sent } = headers as Record<string, string>;
  const response = await fetch(url, { method, headers: sent });
  return { status: response.status, body: await response.json() };
}

const awsCalls = () => api.s3.calls().length + api.sfn.calls().length;

describe('cluster names in the path, through the local API endpoint', () => {
  it('finds the seed cluster by its plain name', async () => {
    const answer = await signed('GET', '/clusters/seed.example.com');

    expect(answer.status).toBe(200);
  });

  it('refuses a name that decodes to a cluster name only when decoded twice, before any AWS call', async () => {
    // API Gateway decodes %252E once, to %2E: the name is "seed%2Eexample.com", not the seed's.
    const answer = await signed('GET', '/clusters/seed%252Eexample.com');

    expect(answer.status).toBe(400);
    expect(answer.body.message).toBe(
      '{name} "seed%2Eexample.com" holds a "%": a cluster name or execution ID never does',
    );
    expect(awsCalls()).toBe(0);
  });

  it.each([
    ['a wildcard', 'POST', '/admin/kubeconfig/%2A'],
    ['a wildcard inside a name', 'POST', '/clusters/seed*.example.com/register'],
    ['upper case', 'DELETE', '/clusters/Seed.example.com'],
  ])('refuses %s in {name} before any AWS call', async (_, method, path) => {
    const answer = await signed(method, path);

    expect(answer.status).toBe(400);
    expect(answer.body.message).toMatch(/is not a cluster name/);
    expect(awsCalls()).toBe(0);
  });
});

describe('path parameters as API Gateway passes them to the handler', () => {
  const withParameters = (method: string, resource: string, params: Record<string, string>) => ({
    ...apiEvent(
      method,
      resource.replace(/\{(\w+)\}/g, (_, p: string) => params[p]!),
    ),
    resource,
    pathParameters: params,
  });

  it.each([
    ['GET', '/clusters/{name}', { name: 'seed%2Eexample.com' }, '{name}'],
    ['POST', '/admin/kubeconfig/{name}', { name: '*' }, 'is not a cluster name'],
    ['GET', '/clusters/{name}/kubeconfig', { name: 'a..b' }, 'is not a cluster name'],
    [
      'GET',
      '/clusters/{name}/executions/{id}',
      { name: 'seed.example.com', id: 'create-*' },
      '{id} "create-*" is neither an execution name',
    ],
  ])('%s %s with %j: 400 before any AWS call', async (method, resource, params, message) => {
    const response = await handler(withParameters(method, resource, params), lambdaContext);

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).message).toContain(message);
    expect(awsCalls()).toBe(0);
  });
});
