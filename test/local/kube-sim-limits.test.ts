import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_REPLICAS_PER_DEPLOYMENT, SimCluster } from '../../src/local/kube-sim/cluster.js';
import { listen, type RunningSim } from '../../src/local/kube-sim/server.js';
import { kubectlIn } from '../support/cluster.js';
import { simInstance } from '../support/sim-instances.js';

// What the simulated API refuses, with the real API server's status and wording, through the real
// kubectl and through plain HTTP (the Status object kubectl reads its message from).
const name = 'limits.example.com';
const dir = mkdtempSync(join(tmpdir(), 'kopsless-kube-sim-limits-'));
const kubeconfig = join(dir, 'config');
let cluster: SimCluster;
let sim: RunningSim | undefined;

const instance = simInstance;

const kubectl = (...args: string[]) => kubectlIn(kubeconfig, args);
const kubectlFails = (...args: string[]) =>
  kubectlIn(kubeconfig, args).then(
    () => 'kubectl succeeded',
    (error: Error) => error.message,
  );

function manifest(spec: Record<string, unknown>, metadataName = 'web'): string {
  const body = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: metadataName },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web', tier: 'a' } },
        spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
      },
      ...spec,
    },
  };
  const path = join(dir, `web-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(body));
  return path;
}

async function http(
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${sim!.urlFor(name)}${path}`, {
    method,
    headers: { 'content-type': contentType },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

beforeEach(async () => {
  await sim?.close();
  cluster = new SimCluster(name, 'v1.32.0');
  cluster.syncInstances([instance(1, 'control-plane-us-east-1a'), instance(2, 'nodes-us-east-1a')]);
  sim = await listen({ cluster: async () => cluster });
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${sim.urlFor(name)}"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`,
  );
});
afterAll(async () => sim?.close());

describe('422 Invalid, as the API server words it', () => {
  it('kubectl apply of replicas -1 is refused naming spec.replicas, and creates nothing', async () => {
    const message = await kubectlFails('apply', '-f', manifest({ replicas: -1 }));

    expect(message).toContain(
      'The Deployment "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    );
    expect(cluster.deployments.has('default/web')).toBe(false);
  });

  it('a patch to replicas -1 is refused and leaves the Deployment as it was', async () => {
    await kubectl('apply', '-f', manifest({ replicas: 2 }));

    const message = await kubectlFails(
      'patch',
      'deployment',
      'web',
      '-p',
      '{"spec":{"replicas":-1}}',
    );

    expect(message).toContain(
      'spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    );
    expect(cluster.deployments.get('default/web')!.spec.replicas).toBe(2);
  });

  it('answers with a Status whose details.causes name the field', async () => {
    const res = await http('POST', '/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: -1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'nginx' }] },
        },
      },
    });

    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Invalid',
      code: 422,
      message:
        'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
      details: {
        name: 'web',
        group: 'apps',
        kind: 'Deployment',
        causes: [
          {
            reason: 'FieldValueInvalid',
            field: 'spec.replicas',
            message: 'Invalid value: -1: must be greater than or equal to 0',
          },
        ],
      },
    });
  });

  it('kubectl create deployment with a name that is not a DNS-1123 subdomain is refused naming metadata.name', async () => {
    const message = await kubectlFails('create', 'deployment', 'BAD', '--image=nginx');

    expect(message).toContain(
      'metadata.name: Invalid value: "BAD": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters',
    );
    expect(cluster.deployments.size).toBe(1); // coredns only
  });

  it('refuses a pod name that is not a DNS-1123 subdomain', async () => {
    const res = await http('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'Web_1' },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    });

    expect([res.status, res.body.details?.causes?.[0]?.field]).toEqual([422, 'metadata.name']);
  });

  it("refuses a change of a Deployment's selector: it is immutable in apps/v1", async () => {
    await kubectl('apply', '-f', manifest({}));

    const message = await kubectlFails(
      'apply',
      '-f',
      manifest({ selector: { matchLabels: { app: 'web', tier: 'a' } } }),
    );

    expect(message).toContain(
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"a"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    );
    expect(cluster.deployments.get('default/web')!.spec.selector).toEqual({
      matchLabels: { app: 'web' },
    });
  });
});

describe("the simulated server's caps", () => {
  it('refuses kubectl scale beyond the per-Deployment cap at once, naming spec.replicas, and keeps the count', async () => {
    await kubectl('apply', '-f', manifest({ replicas: 3 }));

    const message = await kubectlFails('scale', 'deployment', 'web', '--replicas=100000');

    expect(message).toContain(
      `spec.replicas: Invalid value: 100000: must be less than or equal to ${MAX_REPLICAS_PER_DEPLOYMENT}`,
    );
    expect([
      cluster.deployments.get('default/web')!.spec.replicas,
      [...cluster.pods.values()].filter((p) => p.metadata.labels?.app === 'web').length,
    ]).toEqual([3, 3]);
  });

  it('refuses a new Deployment that would take the cluster past its pod cap', async () => {
    for (const n of [1, 2]) await kubectl('apply', '-f', manifest({ replicas: 4900 }, `web-${n}`));

    const message = await kubectlFails('apply', '-f', manifest({ replicas: 500 }, 'web-3'));

    expect(message).toMatch(
      /spec\.replicas: Invalid value: 500: the cluster would hold \d+ pods, more than the 10000/,
    );
    expect(cluster.deployments.has('default/web-3')).toBe(false);
  });

  it('refuses a request body over 3 MiB with 413, as the API server does', async () => {
    const res = await http('POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'big', annotations: { a: 'x'.repeat(3 * 1024 * 1024) } },
    });

    expect([res.status, res.body.message]).toEqual([
      413,
      'Request entity too large: limit is 3145728',
    ]);
    expect(cluster.pods.has('default/big')).toBe(false);
  });
});

describe('lists stay linear', () => {
  it('serves a long list in at most about eight pages whatever the small page cap, every pod once', async () => {
    await kubectl('apply', '-f', manifest({ replicas: 400 }));
    const names: string[] = [];
    let token: string | undefined;
    let requests = 0;

    do {
      const page = await http(
        'GET',
        `/api/v1/namespaces/default/pods?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
      );
      requests++;
      names.push(...page.body.items.map((p: any) => p.metadata.name));
      token = page.body.metadata.continue;
    } while (token);

    expect(requests).toBeLessThanOrEqual(9);
    expect([names.length, new Set(names).size]).toEqual([400, 400]);
  });
});

describe('selectors the API server refuses: 400 BadRequest', () => {
  it('a label selector with a ( where a value belongs', async () => {
    const message = await kubectlFails('get', 'pods', '-l', 'app=(');

    expect(message).toContain('(BadRequest)');
    expect(message).toContain("unable to parse requirement: found '(', expected: identifier");
  });

  it('a set without its closing parenthesis', async () => {
    const res = await http('GET', `/api/v1/pods?labelSelector=${encodeURIComponent('app in (a')}`);

    expect([res.status, res.body.reason, res.body.message]).toEqual([
      400,
      'BadRequest',
      "unable to parse requirement: found '', expected: ',' or ')'",
    ]);
  });

  it('a field the kind does not index', async () => {
    const message = await kubectlFails('get', 'pods', '--field-selector', 'spec.foo=bar');

    expect(message).toContain('field label not supported: spec.foo');
  });

  it('a pod field on nodes', async () => {
    const res = await http('GET', '/api/v1/nodes?fieldSelector=status.phase%3DRunning');

    expect([res.status, res.body.message]).toEqual([
      400,
      'field label not supported: status.phase',
    ]);
  });

  it('accepts notin () as apimachinery does: the set holding the empty value', async () => {
    const out = await kubectl('get', 'pods', '-A', '-l', 'k8s-app notin ()', '-o', 'name');

    expect(out.split('\n').filter(Boolean).length).toBe(
      [...cluster.pods.values()].filter((p) => p.metadata.labels?.['k8s-app'] !== '').length,
    );
  });
});
