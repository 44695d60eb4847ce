import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Obj, SimCluster } from '../../src/local/kube-sim/cluster.js';
import { listen, type RunningSim } from '../../src/local/kube-sim/server.js';
import { kubectlIn } from '../support/cluster.js';
import { simInstance } from '../support/sim-instances.js';

// The optional timing of the simulated cluster (for the bench): nodes boot for bootSeconds,
// evicted pods drain for drainSeconds, both by an injected clock. Off, both are immediate.
const instance = simInstance;
const CONTROL_PLANE = instance(1, 'control-plane-us-east-1a');
const WORKER = instance(2, 'nodes-us-east-1a');

/** A clock the test moves by hand. */
function fakeClock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let t = start;
  return { now: () => t, advance: (seconds: number) => (t += seconds * 1000) };
}

const ready = (node: Obj | undefined) =>
  node?.status.conditions.find((c: Obj) => c.type === 'Ready')?.status;
const webPods = (c: SimCluster) =>
  [...c.pods.values()].filter((p) => p.metadata.labels?.app === 'web');

function addWeb(c: SimCluster, replicas: number): void {
  c.addDeployment({
    metadata: { name: 'web' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'nginx' }] },
      },
    },
  });
  c.reconcile();
}

describe('bootSeconds', () => {
  it('keeps a newly seen node NotReady, tainted not-ready, until bootSeconds after it was first seen', () => {
    const clock = fakeClock();
    const c = new SimCluster('c', 'v1.32.0', { now: clock.now, bootSeconds: 60 });

    c.syncInstances([CONTROL_PLANE, WORKER]);
    const atFirstSight = ready(c.nodes.get(WORKER.privateDnsName));
    clock.advance(59);
    c.tick();
    const justBefore = ready(c.nodes.get(WORKER.privateDnsName));
    clock.advance(1);
    c.tick();

    expect([atFirstSight, justBefore, ready(c.nodes.get(WORKER.privateDnsName))]).toEqual([
      'False',
      'False',
      'True',
    ]);
    expect(c.nodes.get(WORKER.privateDnsName)!.spec.taints).toBeUndefined();
  });

  it('schedules workload pods onto a booting node only once it is Ready', () => {
    const clock = fakeClock();
    const c = new SimCluster('c', 'v1.32.0', { now: clock.now, bootSeconds: 30 });
    c.syncInstances([CONTROL_PLANE, WORKER]);
    addWeb(c, 2);
    const whileBooting = webPods(c).map((p) => p.status.phase);

    clock.advance(30);
    c.tick();

    expect(whileBooting).toEqual(['Pending', 'Pending']);
    expect(webPods(c).map((p) => [p.status.phase, p.spec.nodeName])).toEqual([
      ['Running', WORKER.privateDnsName],
      ['Running', WORKER.privateDnsName],
    ]);
  });

  it('counts boot time from the first sight, not from each sync', () => {
    const clock = fakeClock();
    const c = new SimCluster('c', 'v1.32.0', { now: clock.now, bootSeconds: 60 });
    c.syncInstances([CONTROL_PLANE, WORKER]);

    clock.advance(40);
    c.syncInstances([CONTROL_PLANE, WORKER]);
    clock.advance(20);
    c.syncInstances([CONTROL_PLANE, WORKER]);

    expect(ready(c.nodes.get(WORKER.privateDnsName))).toBe('True');
  });

  it('is off by default: a new node is Ready at once', () => {
    const c = new SimCluster('c', 'v1.32.0');

    c.syncInstances([CONTROL_PLANE, WORKER]);

    expect(ready(c.nodes.get(WORKER.privateDnsName))).toBe('True');
  });
});

describe('drainSeconds', () => {
  it('keeps an evicted pod Terminating, with no replacement, until drainSeconds after the eviction', () => {
    const clock = fakeClock();
    const c = new SimCluster('c', 'v1.32.0', { now: clock.now, drainSeconds: 30 });
    c.syncInstances([CONTROL_PLANE, WORKER]);
    addWeb(c, 2);
    const [victim] = webPods(c);

    c.evict('default', victim!.metadata.name);
    clock.advance(29);
    c.tick();

    expect(webPods(c)).toHaveLength(2);
    expect(webPods(c).filter((p) => p.status.phase === 'Running')).toHaveLength(2);
    expect(c.pods.get(`default/${victim!.metadata.name}`)?.metadata.deletionTimestamp).toBe(
      '2026-01-01T00:00:30Z',
    );
  });

  it('removes the pod once drainSeconds have passed and its ReplicaSet schedules a replacement', () => {
    const clock = fakeClock();
    const c = new SimCluster('c', 'v1.32.0', { now: clock.now, drainSeconds: 30 });
    c.syncInstances([CONTROL_PLANE, WORKER]);
    addWeb(c, 2);
    const [victim] = webPods(c);
    c.evict('default', victim!.metadata.name);

    clock.advance(30);
    c.tick();

    expect(c.pods.has(`default/${victim!.metadata.name}`)).toBe(false);
    expect(webPods(c).map((p) => [p.status.phase, !!p.metadata.deletionTimestamp])).toEqual([
      ['Running', false],
      ['Running', false],
    ]);
  });

  it('is off by default: an evicted pod is gone and replaced at once', () => {
    const c = new SimCluster('c', 'v1.32.0');
    c.syncInstances([CONTROL_PLANE, WORKER]);
    addWeb(c, 2);
    const [victim] = webPods(c);

    c.evict('default', victim!.metadata.name);

    expect([c.pods.has(`default/${victim!.metadata.name}`), webPods(c).length]).toEqual([false, 2]);
  });
});

describe('timing through the server', () => {
  let sim: RunningSim | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('kubectl sees an evicted pod Terminating, then gone after drainSeconds, with no write in between', async () => {
    const clock = fakeClock();
    const c = new SimCluster('c', 'v1.32.0', { now: clock.now, drainSeconds: 30 });
    c.syncInstances([CONTROL_PLANE, WORKER]);
    addWeb(c, 1);
    sim = await listen({ cluster: async () => c });
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'kopsless-kube-sim-timing-')), 'config');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${sim.urlFor('c')}"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`,
    );
    const [victim] = webPods(c);
    const evicted = await fetch(
      `${sim.urlFor('c')}/api/v1/namespaces/default/pods/${victim!.metadata.name}/eviction`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: victim!.metadata.name, namespace: 'default' },
        }),
      },
    );

    const during = await kubectlIn(kubeconfig, ['get', 'pods', '--no-headers']);
    clock.advance(30);
    const after = await kubectlIn(kubeconfig, ['get', 'pods', '--no-headers']);

    expect(evicted.ok).toBe(true);
    expect(during).toMatch(new RegExp(`^${victim!.metadata.name}\\s+1/1\\s+Terminating`, 'm'));
    expect(after).not.toContain(victim!.metadata.name);
    expect(after).toMatch(/^web-\S+\s+1\/1\s+Running/m);
  });
});
