import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countPodSlots, kubePort } from '../../src/kube/port.js';
import { SimCluster } from '../../src/local/kube-sim/cluster.js';
import { qosClass } from '../../src/local/kube-sim/pod-store.js';
import { listen, type RunningSim } from '../../src/local/kube-sim/server.js';
import { NON_TERMINATED_PODS } from '../../src/stages/eni-watcher.js';
import { registeredKubeConfig } from '../support/kubeconfig.js';

// Kubernetes lists in pages (`limit` + `continue`): the simulated API server serves them honestly
// and the Kubernetes port follows them. No AWS here: the cluster's nodes are given directly.
const name = 'pages.example.com';
const cluster = new SimCluster(name, 'v1.32.0');
let sim: RunningSim;

const nodeNames = [
  'ip-10-0-0-1.ec2.internal',
  'ip-10-0-0-2.ec2.internal',
  'ip-10-0-0-3.ec2.internal',
  'ip-10-0-0-4.ec2.internal',
];

beforeAll(async () => {
  cluster.syncInstances(
    nodeNames.map((privateDnsName, i) => ({
      instanceId: `i-${i}`,
      zone: 'us-east-1a',
      privateIp: `10.0.0.${i + 1}`,
      privateDnsName,
      instanceType: 't3.medium',
      instanceGroup: 'nodes',
      controlPlane: false,
      maxPods: 17,
    })),
  );
  for (let i = 0; i < 5; i++)
    cluster.createPod({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `web-${i}`, namespace: 'default', labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    });
  cluster.reconcile();
  sim = await listen({ cluster: async (n) => (n === name ? cluster : undefined) }, 0, {
    maxPageItems: 2,
  });
});
afterAll(async () => sim?.close());

async function get(path: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${sim.urlFor(name)}${path}`);
  return { status: response.status, body: await response.json() };
}

describe('simulated API server lists in pages', () => {
  it('returns every node through continue at limit 1, each once, in name order', async () => {
    const seen: string[] = [];
    let token = '';
    let requests = 0;
    do {
      const page = await get(
        `/api/v1/nodes?limit=1${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
      );
      expect(page.body.items).toHaveLength(1);
      seen.push(...page.body.items.map((n: any) => n.metadata.name));
      token = page.body.metadata.continue ?? '';
      requests++;
    } while (token);

    expect(seen).toEqual(nodeNames);
    expect(requests).toBe(4);
  });

  it('says how many items remain after a page', async () => {
    const page = await get('/api/v1/nodes?limit=1');

    expect(page.body.metadata.remainingItemCount).toBe(3);
  });

  it('sends no more than its page cap when the limit is larger, with a continue to the rest', async () => {
    const page = await get('/api/v1/nodes?limit=500');

    expect(page.body.items).toHaveLength(2);
    expect(page.body.metadata.continue).toBeTruthy();
  });

  it('returns everything in one answer when no limit is asked', async () => {
    const all = await get('/api/v1/nodes');

    expect(all.body.items).toHaveLength(4);
    expect(all.body.metadata.continue).toBeUndefined();
  });

  it('applies field selectors before paging, so pages hold only matching pods', async () => {
    const seen: string[] = [];
    let token = '';
    do {
      const page = await get(
        `/api/v1/pods?limit=1&labelSelector=app%3Dweb${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
      );
      seen.push(...page.body.items.map((p: any) => p.metadata.name));
      token = page.body.metadata.continue ?? '';
    } while (token);

    expect(seen).toEqual(['web-0', 'web-1', 'web-2', 'web-3', 'web-4']);
  });

  it('refuses a continue token it did not issue with 400 BadRequest', async () => {
    const page = await get('/api/v1/nodes?limit=1&continue=not-a-token');

    expect(page.status).toBe(400);
    expect(page.body).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    expect(page.body.message).toContain('continue');
  });
});

describe('Kubernetes port follows continue', () => {
  it('lists every node at page size 1', async () => {
    const kube = kubePort(registeredKubeConfig(name, sim.urlFor(name)), { pageSize: 1 });

    const nodes = await kube.listNodes();

    expect(nodes.map((n) => n.name)).toEqual(nodeNames);
  });

  it('lists every pod at page size 1, system pods on every node included', async () => {
    const kube = kubePort(registeredKubeConfig(name, sim.urlFor(name)), { pageSize: 1 });

    const pods = await kube.listPods();

    expect(pods.length).toBe(cluster.pods.size);
    expect(pods.filter((p) => p.labels.app === 'web')).toHaveLength(5);
  });

  it('counts only pods that hold a slot with the non-terminated field selector', async () => {
    const finished = cluster.createPod({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'job-done', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    cluster.reconcile();
    finished.status.phase = 'Succeeded';
    const kube = kubePort(registeredKubeConfig(name, sim.urlFor(name)), { pageSize: 1 });

    const pods = await kube.listPods({ fieldSelector: NON_TERMINATED_PODS });

    expect(pods.map((p) => p.name)).not.toContain('job-done');
    expect(pods.length).toBe(cluster.pods.size - 1);
  });
});

describe('simulated API server serves pods as the kubelet reports them', () => {
  it('gives a running pod five conditions, both IP lists, container IDs and a QoS class', async () => {
    const { body } = await get('/api/v1/namespaces/default/pods/web-0');

    expect(body.status.conditions.map((c: { type: string }) => c.type).sort()).toEqual([
      'ContainersReady',
      'Initialized',
      'PodReadyToStartContainers',
      'PodScheduled',
      'Ready',
    ]);
    expect(body.status.podIPs).toEqual([{ ip: body.status.podIP }]);
    expect(body.status.hostIPs).toEqual([{ ip: body.status.hostIP }]);
    expect(body.status.containerStatuses[0].containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
    expect(body.status.containerStatuses[0].imageID).toMatch(/^nginx@sha256:[0-9a-f]{64}$/);
    expect(body.status.qosClass).toBe('BestEffort');
  });

  it('classes pods as the kubelet does: requests equal to limits are Guaranteed, fewer Burstable', () => {
    const limits = { cpu: '1', memory: '1Gi' };

    expect(qosClass([{ resources: { limits } }])).toBe('Guaranteed');
    expect(qosClass([{ resources: { requests: { cpu: '100m' }, limits } }])).toBe('Burstable');
    expect(qosClass([{ resources: { requests: { cpu: '100m' } } }])).toBe('Burstable');
  });
});

describe('simulated API server prints pods as Table rows', () => {
  it('leaves the object out of each row with includeObject=None, as the API server does', async () => {
    const response = await fetch(`${sim.urlFor(name)}/api/v1/pods?includeObject=None`, {
      headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
    });
    const table = (await response.json()) as {
      kind: string;
      columnDefinitions: Array<{ name: string }>;
      rows: Array<{ cells: unknown[]; object: unknown }>;
    };

    expect(table.kind).toBe('Table');
    expect(table.rows).toHaveLength(cluster.pods.size);
    expect(table.rows.every((r) => r.object === null)).toBe(true);
    expect(table.columnDefinitions.map((c) => c.name)).toContain('Node');
  });

  it('refuses an includeObject it does not know with a 400 naming the parameter', async () => {
    const response = await fetch(`${sim.urlFor(name)}/api/v1/pods?includeObject=All`, {
      headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
    });

    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/includeObject/);
  });

  it('gives the watcher per-node slot counts from rows equal to the pods bound to each node', async () => {
    const kube = kubePort(registeredKubeConfig(name, sim.urlFor(name)), { pageSize: 1 });

    const counts = await countPodSlots(kube);

    const expected = new Map<string, number>();
    for (const pod of cluster.pods.values())
      if (pod.spec.nodeName && !['Succeeded', 'Failed'].includes(pod.status.phase))
        expected.set(pod.spec.nodeName, (expected.get(pod.spec.nodeName) ?? 0) + 1);
    expect(expected.size).toBeGreaterThan(0);
    expect(counts.byNode).toEqual(expected);
    expect(counts.pendingTooManyPods).toBe(0);
  });
});

describe('Kubernetes port when a continue token has expired', () => {
  it('starts the list over whole (410 Gone), as client-go does, and misses nothing', async () => {
    const node = (n: string) => ({ metadata: { name: n }, spec: {}, status: {} });
    const requests: string[] = [];
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      requests.push(url.search);
      res.setHeader('Content-Type', 'application/json');
      if (url.searchParams.get('continue')) {
        res.writeHead(410);
        res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            reason: 'Expired',
            code: 410,
            message: 'The provided continue parameter is too old',
          }),
        );
      } else if (url.searchParams.get('limit')) {
        res.end(
          JSON.stringify({
            kind: 'NodeList',
            apiVersion: 'v1',
            metadata: { continue: 'old' },
            items: [node('a')],
          }),
        );
      } else {
        res.end(
          JSON.stringify({
            kind: 'NodeList',
            apiVersion: 'v1',
            metadata: {},
            items: [node('a'), node('b')],
          }),
        );
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const kube = kubePort(
        registeredKubeConfig(
          'expired',
          `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        ),
        { pageSize: 1 },
      );

      const nodes = await kube.listNodes();

      expect(nodes.map((n) => n.name)).toEqual(['a', 'b']);
      expect(requests).toHaveLength(3);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('simulated API server lists the pods of one node from its index', () => {
  const namesOf = (body: any) =>
    body.items.map((p: any) => `${p.metadata.namespace}/${p.metadata.name}`).sort();

  it('answers spec.nodeName=<node> with the pods a filter over every pod finds, in both routes', async () => {
    const all = (await get('/api/v1/pods')).body.items as any[];
    const node = all.find((p) => p.spec.nodeName)!.spec.nodeName as string;
    const expected = all
      .filter((p) => p.spec.nodeName === node)
      .map((p) => `${p.metadata.namespace}/${p.metadata.name}`)
      .sort();

    const everywhere = await get(
      `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`,
    );
    const inDefault = await get(
      `/api/v1/namespaces/default/pods?fieldSelector=${encodeURIComponent(`spec.nodeName==${node}`)}`,
    );

    expect(expected.length).toBeGreaterThan(0);
    expect(namesOf(everywhere.body)).toEqual(expected);
    expect(namesOf(inDefault.body)).toEqual(expected.filter((n) => n.startsWith('default/')));
  });

  it("still applies the rest of the selector to that node's pods", async () => {
    const node = (await get('/api/v1/pods')).body.items.find((p: any) => p.spec.nodeName).spec
      .nodeName as string;

    const systemOnly = await get(
      `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node},metadata.namespace=kube-system`)}`,
    );
    const notThisNode = await get(
      `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName!=${node}`)}`,
    );

    expect(systemOnly.body.items.length).toBeGreaterThan(0);
    expect(
      systemOnly.body.items.every(
        (p: any) => p.metadata.namespace === 'kube-system' && p.spec.nodeName === node,
      ),
    ).toBe(true);
    expect(notThisNode.body.items.every((p: any) => p.spec.nodeName !== node)).toBe(true);
    expect(notThisNode.body.items.length).toBeGreaterThan(0);
  });
});
