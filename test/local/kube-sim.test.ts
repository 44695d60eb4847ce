import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeForCluster } from '../../src/kube/from-store.js';
import { type KubePort, ROLL_CORDON_ANNOTATION } from '../../src/kube/port.js';
import { readFixture } from '../helpers.js';
import {
  createCluster,
  kubeconfigFile,
  kubectlIn,
  startTestEnvironment,
  type TestEnvironment,
} from '../support/cluster.js';

// The simulated API server as the stages (client-node) and as a user (the real kubectl) see it.
const cluster = 'sim.example.com';
let env: TestEnvironment;
let kube: KubePort;
let kubeconfig: string;

const kubectl = (...args: string[]) => kubectlIn(kubeconfig, args);

beforeAll(async () => {
  env = await startTestEnvironment();
  await createCluster(
    env,
    readFixture('seed.yaml').replaceAll('seed.example.com', cluster),
    cluster,
  );
  kube = (await kubeForCluster(env.objects, cluster, env.kubeServers))!;
  kubeconfig = kubeconfigFile(env, cluster);
}, 120_000);
afterAll(async () => env?.stop());

describe('simulated Kubernetes API through the Kubernetes port', () => {
  it('publishes the cluster kubeconfig in the state store once the control plane runs', () => {
    expect(kube).toBeDefined();
  });

  it('registers a Ready node per running instance, with providerID, group label and maxPods from user-data', async () => {
    const nodes = await kube.listNodes();

    expect(nodes).toHaveLength(3);
    expect(
      nodes.every((n) => n.ready && /^aws:\/\/\/us-east-1[ab]\/i-[0-9a-f]+$/.test(n.providerId)),
    ).toBe(true);
    expect(nodes.map((n) => [n.instanceGroup, n.role, n.allocatablePods]).sort()).toEqual([
      ['control-plane-us-east-1a', 'control-plane', 17],
      ['nodes-us-east-1a', 'node', 17],
      ['nodes-us-east-1b', 'node', 17],
    ]);
  });

  it('runs the system pods validation looks for in kube-system', async () => {
    const pods = await kube.listPods({ fieldSelector: 'metadata.namespace=kube-system' });
    const names = pods.map((p) => p.name);

    expect(pods.every((p) => p.phase === 'Running')).toBe(true);
    for (const prefix of [
      'etcd-',
      'kube-apiserver-',
      'kube-controller-manager-',
      'kube-scheduler-',
      'kube-proxy-',
      'aws-node-',
      'coredns-',
    ]) {
      expect(
        names.some((n) => n.startsWith(prefix)),
        prefix,
      ).toBe(true);
    }
  });

  it('reads and strategic-merges the aws-node env, keeping the other variables', async () => {
    await kube.setDaemonSetEnv('kube-system', 'aws-node', 'aws-node', { WARM_PREFIX_TARGET: '1' });

    const env = await kube.getDaemonSetEnv('kube-system', 'aws-node', 'aws-node');

    expect(env).toMatchObject({ WARM_PREFIX_TARGET: '1', WARM_ENI_TARGET: '1' });
  });
});

describe('simulated Kubernetes API through kubectl', () => {
  it('gets nodes', async () => {
    const out = await kubectl('get', 'nodes');

    expect(out.split('\n')[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
    expect(out.match(/ Ready /g)).toHaveLength(3);
  });

  it('runs a pod and lists pods with field selectors', async () => {
    expect(await kubectl('run', 'hello', '--image=nginx')).toContain('pod/hello created');

    expect(
      await kubectl('get', 'pods', '--field-selector', 'status.phase=Running', '-o', 'name'),
    ).toContain('pod/hello');
    expect(
      await kubectl('get', 'pods', '--field-selector', 'status.phase=Pending', '-o', 'name'),
    ).toBe('');
  });

  it('gets the aws-node DaemonSet as JSON', async () => {
    const ds = JSON.parse(
      await kubectl('get', 'ds', 'aws-node', '-n', 'kube-system', '-o', 'json'),
    );

    expect(ds.kind).toBe('DaemonSet');
    expect(ds.spec.template.spec.containers[0].env).toEqual(
      expect.arrayContaining([{ name: 'ENABLE_PREFIX_DELEGATION', value: 'false' }]),
    );
  });

  it('leaves pods Pending with "Too many pods" once every slot is taken', async () => {
    // 3 nodes of 17 slots; the control plane is tainted, so 34 slots, some taken by system pods.
    for (let i = 0; i < 30; i++) await kubectl('run', `filler-${i}`, '--image=nginx');

    const pending = JSON.parse(
      await kubectl('get', 'pods', '--field-selector', 'status.phase=Pending', '-o', 'json'),
    ).items;

    expect(pending.length).toBeGreaterThan(0);
    expect(pending[0].status.conditions[0]).toMatchObject({
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
    });
    expect(pending[0].status.conditions[0].message).toMatch(
      /^0\/3 nodes are available: .*2 Too many pods/,
    );
  });

  it('cordons a node', async () => {
    const node = (await kube.listNodes()).find((n) => n.role === 'node')!;

    await kube.cordon(node.name);

    expect(await kubectl('get', 'node', node.name)).toContain('Ready,SchedulingDisabled');
  });

  it('marks a node the roll cordoned, tells it from one kubectl cordoned, and clears the mark on uncordon', async () => {
    const [ours, admins] = (await kube.listNodes()).filter((n) => !n.unschedulable);
    await kube.cordon(ours!.name);
    await kubectl('cordon', admins!.name);

    const cordoned = await kube.listNodes();
    await kube.uncordon(ours!.name);
    const after = (await kube.listNodes()).find((n) => n.name === ours!.name);

    expect(cordoned.find((n) => n.name === ours!.name)).toMatchObject({
      unschedulable: true,
      cordonedByRoll: true,
    });
    const admin = cordoned.find((n) => n.name === admins!.name);
    expect(admin?.unschedulable).toBe(true);
    expect(admin?.cordonedByRoll).toBeUndefined();
    expect(after?.unschedulable).toBe(false);
    expect(after?.cordonedByRoll).toBeUndefined();
    expect(
      await kubectl('get', 'node', ours!.name, '-o', 'jsonpath={.metadata.annotations}'),
    ).not.toContain(ROLL_CORDON_ANNOTATION);
  });
});

describe('eviction', () => {
  it('honours a PodDisruptionBudget and evicts once the budget allows', async () => {
    const manifest = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'guarded', namespace: 'default' },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: 'guarded' } },
            template: {
              metadata: { labels: { app: 'guarded' } },
              spec: { containers: [{ name: 'c', image: 'nginx' }] },
            },
          },
        },
        {
          apiVersion: 'policy/v1',
          kind: 'PodDisruptionBudget',
          metadata: { name: 'guarded', namespace: 'default' },
          spec: { minAvailable: 1, selector: { matchLabels: { app: 'guarded' } } },
        },
      ],
    });
    await kubectl('delete', 'pods', '--all', '--wait=false');
    await kubectlIn(kubeconfig, ['create', '--validate=false', '-f', '-'], manifest);
    const pod = (await kube.listPods({ labelSelector: 'app=guarded' }))[0]!;

    expect(await kube.evict(pod.namespace, pod.name)).toBe('blocked');

    await kubectl('delete', 'pdb', 'guarded');
    expect(await kube.evict(pod.namespace, pod.name)).toBe('evicted');
    const replacement = await kube.listPods({ labelSelector: 'app=guarded' });
    expect(replacement.map((p) => p.name)).not.toContain(pod.name);
    expect(replacement).toHaveLength(1);
  });
});
