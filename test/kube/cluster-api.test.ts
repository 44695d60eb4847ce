import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesApiError, StoredKubeconfigError } from '../../src/errors.js';
import {
  type ClusterApiInvoker,
  ClusterApiRequestSchema,
  MAX_REMOTE_PAGE,
} from '../../src/kube/cluster-api-protocol.js';
import { serveClusterApi } from '../../src/kube/cluster-api-server.js';
import { countPodSlots, kubePort } from '../../src/kube/port.js';
import { clusterKube, remoteKubePort } from '../../src/kube/remote-port.js';
import { SimCluster } from '../../src/local/kube-sim/cluster.js';
import { listen, type RunningSim } from '../../src/local/kube-sim/server.js';
import { registeredKubeConfig } from '../support/kubeconfig.js';

// The shared functions' Kubernetes port through a cluster's API function: every request crosses
// as JSON, as a Lambda invocation does, to the function's core serving the simulated API.
const name = 'remote.example.com';
const cluster = new SimCluster(name, 'v1.33.0');
let sim: RunningSim;
const requests: Array<{ action: string; limit?: number }> = [];

/** The function's core behind a JSON boundary, each request parsed by the schema the function uses. */
const invoke: ClusterApiInvoker = async (request) => {
  const parsed = ClusterApiRequestSchema.parse(JSON.parse(JSON.stringify(request)));
  requests.push({ action: parsed.action, ...('limit' in parsed ? { limit: parsed.limit } : {}) });
  const answer = await serveClusterApi(
    parsed,
    registeredKubeConfig(name, sim.urlFor(name)),
    async () => undefined,
  );
  return JSON.parse(JSON.stringify(answer));
};

beforeAll(async () => {
  cluster.syncInstances(
    [1, 2, 3].map((i) => ({
      instanceId: `i-${i}`,
      zone: 'us-east-1a',
      privateIp: `10.0.0.${i}`,
      privateDnsName: `ip-10-0-0-${i}.ec2.internal`,
      instanceType: 't3.medium',
      instanceGroup: 'nodes',
      controlPlane: false,
      maxPods: 17,
    })),
  );
  cluster.reconcile();
  sim = await listen({ cluster: async (n) => (n === name ? cluster : undefined) }, 0, {
    maxPageItems: 2,
  });
});
afterAll(async () => sim?.close());

describe('Kubernetes through the cluster API function', () => {
  it('answers the watcher with per-node counts in one request, equal to the in-process count', async () => {
    const direct = await countPodSlots(
      kubePort(registeredKubeConfig(name, sim.urlFor(name)), { pageSize: 2 }),
    );
    requests.length = 0;

    const remote = await countPodSlots(remoteKubePort(name, invoke, { pageSize: 2 }));

    expect(remote).toEqual(direct);
    expect([...remote.byNode.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(requests).toEqual([{ action: 'podSlotCounts' }]);
  });

  it('never asks for more than the largest page an answer may carry', async () => {
    requests.length = 0;

    const nodes = await remoteKubePort(name, invoke, { pageSize: 10_000 }).listNodes();

    expect(nodes).toHaveLength(3);
    expect(requests.every((r) => r.limit === MAX_REMOTE_PAGE)).toBe(true);
  });

  it('cordons and uncordons a node the API server then reports', async () => {
    const kube = remoteKubePort(name, invoke);

    await kube.cordon('ip-10-0-0-1.ec2.internal');
    const cordoned = (await kube.listNodes()).find((n) => n.name === 'ip-10-0-0-1.ec2.internal');
    await kube.uncordon('ip-10-0-0-1.ec2.internal');
    const uncordoned = (await kube.listNodes()).find((n) => n.name === 'ip-10-0-0-1.ec2.internal');

    expect(cordoned?.unschedulable).toBe(true);
    expect(uncordoned?.unschedulable).toBe(false);
  });

  it('answers an eviction of a pod that is gone with gone', async () => {
    expect(await remoteKubePort(name, invoke).evict('default', 'no-such-pod')).toBe('gone');
  });

  it('rebuilds a refusal of the API server as KubernetesApiError with its status', async () => {
    const failure = remoteKubePort(name, invoke).setDaemonSetEnv(
      'kube-system',
      'no-such-daemonset',
      'aws-node',
      { ENABLE_PREFIX_DELEGATION: 'true' },
    );

    await expect(failure).rejects.toBeInstanceOf(KubernetesApiError);
    await expect(failure).rejects.toMatchObject({ statusCode: 404 });
  });

  it('gives no port while the function reports no stored kubeconfig', async () => {
    const unpublished: ClusterApiInvoker = async () => ({ ok: true, result: { published: false } });

    expect(await clusterKube(name, unpublished)).toBeUndefined();
  });

  it('passes on a refused stored kubeconfig under its own name', async () => {
    const refusing: ClusterApiInvoker = async () => ({
      ok: false,
      error: { name: 'StoredKubeconfigError', message: 'users[0].user.exec: refused' },
    });

    await expect(clusterKube(name, refusing)).rejects.toBeInstanceOf(StoredKubeconfigError);
  });

  it('refuses a request that names a path, a verb or a field outside its operation', () => {
    const asked = [
      { cluster: name, action: 'get', path: '/api/v1/secrets' },
      { cluster: name, action: 'listNodes', limit: 10, verb: 'DELETE' },
      { cluster: name, action: 'listPods', limit: MAX_REMOTE_PAGE + 1 },
    ];

    for (const request of asked)
      expect(ClusterApiRequestSchema.safeParse(request).success, JSON.stringify(request)).toBe(
        false,
      );
  });
});
