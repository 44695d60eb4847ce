import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { readFixture } from '../helpers.js';
import type { fakeStepFunctions } from '../support/fake-sfn.js';
import { type ApiHandler, bodyOf, call, loadApi, resetMocks } from './api-harness.js';
import { serveSeedState } from './state-fixture.js';
import { body } from './support.js';

// The routes the CLI of a deployed stack uses instead of the state store: registering a cluster,
// and its kubeconfig. Bad input is a 4xx naming what is wrong, and nothing is written.
let api: Awaited<ReturnType<typeof loadApi>>;
let handler: ApiHandler;
let sfn: ReturnType<typeof fakeStepFunctions>;
const CLUSTER = 'seed.example.com';
const seed = readFixture('seed.yaml');

const kubeconfig = (user: Record<string, unknown>) =>
  stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'k', cluster: { server: `https://api.internal.${CLUSTER}:443` } }],
    users: [{ name: 'admin', user }],
    contexts: [{ name: 'admin@k', context: { cluster: 'k', user: 'admin' } }],
    'current-context': 'admin@k',
  });

function storeKubeconfig(text: string): void {
  api.s3
    .on(GetObjectCommand, { Key: `${CLUSTER}/secrets/kubeconfig` })
    .callsFake(async () => ({ Body: body(text), ETag: '"k"' }));
}

const puts = () => api.s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key);

beforeAll(async () => {
  api = await loadApi();
  handler = api.handler;
});
beforeEach(() => {
  sfn = resetMocks(api.s3, api.sfn);
  api.s3.on(PutObjectCommand).resolves({ ETag: '"new"' });
});

describe('POST /clusters/{name}/register', () => {
  it('writes the spec, status and lock of a new cluster, no secret, and starts nothing', async () => {
    const response = await call(handler, 'POST', `/clusters/${CLUSTER}/register`, { body: seed });

    expect([response.statusCode, bodyOf(response)]).toEqual([
      200,
      { cluster: CLUSTER, phase: 'Registered' },
    ]);
    expect(puts()).toEqual(
      expect.arrayContaining([`${CLUSTER}/lock`, `${CLUSTER}/config`, `${CLUSTER}/status.json`]),
    );
    expect(puts().filter((key) => key?.includes('/secrets/'))).toEqual([]);
    expect(sfn.started()).toEqual([]);
  });

  it('answers 400 for a path that is not a cluster name, naming it, and writes nothing', async () => {
    const response = await call(handler, 'POST', '/clusters/Bad_Name/register', { body: seed });

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).message).toMatch(/^"Bad_Name" is not a cluster name: /);
    expect(puts()).toEqual([]);
  });

  it('answers 400 when the manifest names another cluster than the path', async () => {
    const response = await call(handler, 'POST', '/clusters/other.example.com/register', {
      body: seed,
    });

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).message).toBe(
      `metadata.name: the manifest's cluster is "${CLUSTER}", the path names "other.example.com"`,
    );
    expect(puts()).toEqual([]);
  });

  it('answers 400 with the field errors for an invalid manifest', async () => {
    const response = await call(handler, 'POST', `/clusters/${CLUSTER}/register`, {
      body: seed.replace('networkCIDR: 172.30.0.0/16', 'networkCIDR: not-a-cidr'),
    });

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response)).toMatchObject({
      message: 'the manifest is invalid',
      errors: [expect.objectContaining({ path: 'spec.networkCIDR' })],
    });
    expect(puts()).toEqual([]);
  });
});

describe('a name registered and never built', () => {
  const changed = seed.replace('machineType: t3.medium', 'machineType: m5.large');

  /** The seed cluster as a registration left it: its spec, phase Registered, no lock. */
  function registeredSeed(): void {
    serveSeedState(api.s3);
    api.s3.on(GetObjectCommand, { Key: `${CLUSTER}/status.json` }).callsFake(async () => ({
      Body: body(
        JSON.stringify({
          phase: 'Registered',
          lastExecution: 'api-register-first',
          lastOperation: 'register',
          updatedAt: '2026-01-01T00:00:00Z',
        }),
      ),
      ETag: '"s"',
    }));
  }

  it('answers 409 naming the cluster to a registration of another spec, and keeps the stored one', async () => {
    registeredSeed();

    const response = await call(handler, 'POST', `/clusters/${CLUSTER}/register`, {
      body: changed,
    });

    expect(response.statusCode).toBe(409);
    expect(bodyOf(response).message).toBe(
      `cluster "${CLUSTER}" is already registered with a different spec: change it with edit or replace, or delete it first`,
    );
    expect(puts().filter((key) => key !== `${CLUSTER}/lock`)).toEqual([]);
  });

  it('registers the same spec again (a retry)', async () => {
    registeredSeed();

    const response = await call(handler, 'POST', `/clusters/${CLUSTER}/register`, { body: seed });

    expect(response.statusCode).toBe(200);
  });

  it('answers 409 to a create of another spec under its name, starting nothing', async () => {
    registeredSeed();

    const response = await call(handler, 'POST', '/clusters', { body: changed });

    expect(response.statusCode).toBe(409);
    expect(bodyOf(response).message).toContain(
      `cluster "${CLUSTER}" is already registered with a different spec`,
    );
    expect(sfn.started()).toEqual([]);
  });

  it('starts the create that builds the registered spec', async () => {
    registeredSeed();

    const response = await call(handler, 'POST', '/clusters', { body: seed });

    expect(response.statusCode).toBe(202);
    expect(sfn.started()).toHaveLength(1);
  });
});

describe('GET /clusters/{name}/kubeconfig', () => {
  it('hands out the server and CA without credentials', async () => {
    serveSeedState(api.s3);
    storeKubeconfig(kubeconfig({ token: 'admin-token' }));

    const response = await call(handler, 'GET', `/clusters/${CLUSTER}/kubeconfig`);

    expect(response.statusCode).toBe(200);
    expect(parse(bodyOf(response).kubeconfig)).toMatchObject({
      clusters: [{ name: CLUSTER, cluster: { server: `https://api.internal.${CLUSTER}:443` } }],
      users: [{ name: CLUSTER, user: {} }],
    });
  });

  it("hands out the admin's credentials on the admin route", async () => {
    serveSeedState(api.s3);
    storeKubeconfig(kubeconfig({ token: 'admin-token' }));

    const response = await call(handler, 'POST', `/admin/kubeconfig/${CLUSTER}`);

    expect(parse(bodyOf(response).kubeconfig).users).toEqual([
      { name: CLUSTER, user: { token: 'admin-token' } },
    ]);
  });

  it('answers 422 for a stored user that would run a command, naming the field', async () => {
    serveSeedState(api.s3);
    storeKubeconfig(kubeconfig({ exec: { command: '/bin/sh' } }));

    const response = await call(handler, 'POST', `/admin/kubeconfig/${CLUSTER}`);

    expect(response.statusCode).toBe(422);
    expect(bodyOf(response).message).toBe(
      `the kubeconfig stored for "${CLUSTER}" has users[].user.exec: not handed out`,
    );
  });

  it('answers 422 for a stored cluster entry with a proxy, naming the field', async () => {
    serveSeedState(api.s3);
    storeKubeconfig(
      stringify({
        apiVersion: 'v1',
        clusters: [
          {
            name: 'k',
            cluster: { server: `https://api.internal.${CLUSTER}`, 'proxy-url': 'http://evil' },
          },
        ],
        users: [{ name: 'admin', user: { token: 't' } }],
        contexts: [{ name: 'c', context: { cluster: 'k', user: 'admin' } }],
      }),
    );

    const response = await call(handler, 'POST', `/admin/kubeconfig/${CLUSTER}`);

    expect([response.statusCode, bodyOf(response).message]).toEqual([
      422,
      `the kubeconfig stored for "${CLUSTER}" has clusters[].cluster.proxy-url: not handed out`,
    ]);
  });

  it('answers 422 for a stored kubeconfig that is not YAML, quoting none of it', async () => {
    serveSeedState(api.s3);
    storeKubeconfig('users:\n  - token: supersecret: oops\n');

    const response = await call(handler, 'POST', `/admin/kubeconfig/${CLUSTER}`);

    expect(response.statusCode).toBe(422);
    expect(JSON.stringify(bodyOf(response))).not.toContain('supersecret');
  });

  it('hands out only inline credentials and the server and CA of the cluster entry', async () => {
    serveSeedState(api.s3);
    storeKubeconfig(kubeconfig({ token: 'admin-token', username: 'left-out' }));

    const response = await call(handler, 'POST', `/admin/kubeconfig/${CLUSTER}`);

    const handed = parse(bodyOf(response).kubeconfig);
    expect(handed.users[0].user).toEqual({ token: 'admin-token' });
    expect(handed.clusters[0].cluster).toEqual({ server: `https://api.internal.${CLUSTER}:443` });
  });

  it('answers 404 with its reason while the control plane has published none', async () => {
    serveSeedState(api.s3);

    const response = await call(handler, 'POST', `/admin/kubeconfig/${CLUSTER}`);

    expect([response.statusCode, bodyOf(response).reason]).toEqual([404, 'NoKubeconfig']);
  });

  it('answers 404 for a cluster the state store does not hold, reading no secret', async () => {
    const response = await call(handler, 'POST', '/admin/kubeconfig/unknown.example.com');

    expect([response.statusCode, bodyOf(response).message]).toEqual([
      404,
      'cluster "unknown.example.com" not found',
    ]);
    expect(
      api.s3
        .commandCalls(GetObjectCommand)
        .filter((c) => c.args[0].input.Key?.includes('/secrets/')),
    ).toEqual([]);
  });

  it('answers 400 for a path that is not a cluster name', async () => {
    const response = await call(handler, 'POST', '/admin/kubeconfig/..etc');

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).message).toMatch(/^"\.\.etc" is not a cluster name/);
  });

  it('answers 400 for a path parameter that still holds a percent-encoding', async () => {
    const response = await call(handler, 'POST', '/admin/kubeconfig/..%2Fetc');

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).message).toMatch(/^\{name\} "\.\.%2Fetc" holds a "%"/);
  });
});
