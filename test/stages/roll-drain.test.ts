import { describe, expect, it } from 'vitest';
import { boundError, CAUSE_LIMIT_CHARS } from '../../src/causes.js';
import { DrainTimeoutError } from '../../src/errors.js';
import type { KubeNode, KubePod, KubePort } from '../../src/kube/port.js';
import { PAYLOAD_LIMIT_BYTES } from '../../src/local/sfn/history.js';
import { SimClock } from '../../src/local/sfn/sim-clock.js';
import { DRAIN_CONCURRENCY, type DrainPass, drainPass } from '../../src/stages/roll-drain.js';

/** Simulated milliseconds each call takes: an eviction and its Event cost a round trip each. */
const COST_MS = { list: 120, evict: 150, event: 60, patch: 80 };

/**
 * A Kubernetes API in memory whose every call takes simulated time on `clock`, so that calls in
 * flight together overlap as they do against a real API server. Pods in `blockedBy` are held by
 * a PodDisruptionBudget (eviction answers 429).
 */
function slowCluster(clock: SimClock, nodeCount: number, podsPerNode: number, blocked = false) {
  const nodes: KubeNode[] = Array.from({ length: nodeCount }, (_, i) => ({
    name: `node-${i}`,
    providerId: `aws:///us-east-1a/i-${i}`,
    instanceId: `i-${i}`,
    role: 'node',
    ready: true,
    unschedulable: false,
    allocatablePods: 110,
  }));
  const pods = new Map<string, KubePod>();
  for (const node of nodes)
    for (let p = 0; p < podsPerNode; p++) {
      const name = `web-${node.name}-${p}-${'x'.repeat(30)}`;
      pods.set(`default/${name}`, {
        namespace: 'default',
        name,
        nodeName: node.name,
        phase: 'Running',
        ready: true,
        labels: {},
        drainSkips: false,
        notReadyContainers: [],
      });
    }
  let evicting = 0;
  const seen = { maxEvicting: 0, evictions: 0 };
  const call = async <T>(ms: number, work: () => T): Promise<T> => {
    await clock.sleep(ms / 1000);
    return work();
  };
  const onNode = (selector?: string) =>
    [...pods.values()].filter((p) => `spec.nodeName=${p.nodeName}` === selector);
  const port = {
    listNodes: () => call(COST_MS.list, () => nodes.map((n) => ({ ...n }))),
    listPods: (s = {}) => call(COST_MS.list, () => onNode(s.fieldSelector)),
    foldPods: (s, initial, step) =>
      call(COST_MS.list, () => step(initial(), onNode(s.fieldSelector))),
    // As the port does: cordon marks the node as the roll's, uncordon clears both.
    cordon: (name) =>
      call(COST_MS.patch, () => {
        Object.assign(nodes.find((n) => n.name === name)!, {
          unschedulable: true,
          cordonedByRoll: true,
        });
      }),
    uncordon: (name) =>
      call(COST_MS.patch, () => {
        Object.assign(nodes.find((n) => n.name === name)!, {
          unschedulable: false,
          cordonedByRoll: false,
        });
      }),
    evict: async (namespace, name) => {
      evicting += 1;
      seen.maxEvicting = Math.max(seen.maxEvicting, evicting);
      try {
        return await call(COST_MS.evict, () => {
          seen.evictions += 1;
          if (blocked) return 'blocked' as const;
          return pods.delete(`${namespace}/${name}`) ? ('evicted' as const) : ('gone' as const);
        });
      } finally {
        evicting -= 1;
      }
    },
    recordEvent: () => call(COST_MS.event, () => undefined),
  } as Pick<
    KubePort,
    'listNodes' | 'listPods' | 'foldPods' | 'cordon' | 'uncordon' | 'evict' | 'recordEvent'
  > as KubePort;
  return { port, nodes, pods, seen };
}

/** One Lambda invocation of `budgetMs` on the simulated clock: the pass and how long it took. */
async function invocation(
  clock: SimClock,
  port: KubePort,
  budgetMs: number,
  deadline: string,
): Promise<{ pass: DrainPass; tookMs: number }> {
  const began = clock.now().getTime();
  const end = began + budgetMs;
  // As the Drain state does: the nodes are listed afresh each invocation.
  const nodes = await port.listNodes();
  const pass = await drainPass(port, nodes, {
    deadline,
    now: clock.now(),
    remainingTimeMs: () => end - clock.now().getTime(),
  });
  return { pass, tookMs: clock.now().getTime() - began };
}

describe('drain under a Lambda time budget', () => {
  it('drains 1,100 pods across several 10 s invocations, none past half its budget, evicting at most DRAIN_CONCURRENCY at once', async () => {
    const clock = new SimClock();
    const { port, pods, nodes, seen } = slowCluster(clock, 10, 110);
    const deadline = new Date(clock.now().getTime() + 900_000).toISOString();

    const passes: Array<{ pass: DrainPass; tookMs: number }> = [];
    for (let i = 0; i < 20; i++) {
      const run = await invocation(clock, port, 10_000, deadline);
      passes.push(run);
      if (run.pass.drained) break;
      await clock.sleep(10); // WaitForDrain
    }

    expect(passes.at(-1)!.pass).toMatchObject({ drained: true, remaining: 0 });
    expect(pods.size).toBe(0);
    expect(passes.length).toBeGreaterThan(1);
    // Each pass stops starting evictions at DRAIN_SHARE_OF_BUDGET: under half its invocation.
    for (const { tookMs } of passes) expect(tookMs).toBeLessThan(10_000 / 2);
    // Every pass but the last stopped for time and said how many pods were left.
    for (const { pass } of passes.slice(0, -1))
      expect(pass).toMatchObject({ drained: false, outOfTime: true });
    expect(passes.reduce((n, { pass }) => n + pass.evicted, 0)).toBe(1_100);
    expect(seen.evictions).toBe(1_100);
    expect(seen.maxEvicting).toBeGreaterThan(1);
    expect(seen.maxEvicting).toBeLessThanOrEqual(DRAIN_CONCURRENCY);
    expect(nodes.every((n) => n.unschedulable)).toBe(true);
  });

  it('answers counts only: with 5,000 pods a budget blocks, the answer stays tiny, and past the deadline the error is under 32,768 characters with the nodes uncordoned', async () => {
    const clock = new SimClock();
    const { port, nodes } = slowCluster(clock, 10, 500, true);
    const deadline = new Date(clock.now().getTime() + 60_000).toISOString();

    // Budgets long enough for each pass to try every pod once.
    const first = await invocation(clock, port, 200_000, deadline);
    await clock.sleep(120);
    const late = invocation(clock, port, 200_000, deadline);

    expect(first.pass).toMatchObject({ drained: false, remaining: 5_000, blocked: 5_000 });
    expect(Buffer.byteLength(JSON.stringify(first.pass))).toBeLessThan(200);
    const error = (await late.catch((e: unknown) => e)) as DrainTimeoutError;
    expect(error).toBeInstanceOf(DrainTimeoutError);
    expect(error.message).toMatch(
      /disruption budget: default\/web-node-0-0-x+, .* and 4,9\d\d more$/,
    );
    const bounded = boundError(error);
    const cause = JSON.stringify({
      errorType: bounded.name,
      errorMessage: bounded.message,
      trace: bounded.stack?.split('\n'),
    });
    expect(cause.length).toBeLessThan(CAUSE_LIMIT_CHARS);
    expect(Buffer.byteLength(cause)).toBeLessThan(PAYLOAD_LIMIT_BYTES);
    expect(nodes.every((n) => !n.unschedulable)).toBe(true);
  });

  it('past the deadline uncordons only the nodes the roll cordoned, never one an admin had cordoned before', async () => {
    const clock = new SimClock();
    const { port, nodes } = slowCluster(clock, 3, 20, true);
    // node-1 was cordoned by an admin before the roll: unschedulable, without the roll's mark.
    nodes[1]!.unschedulable = true;
    const deadline = new Date(clock.now().getTime() + 60_000).toISOString();
    await invocation(clock, port, 120_000, deadline);
    await clock.sleep(120);

    const late = await invocation(clock, port, 120_000, deadline).catch((e: unknown) => e);

    expect(late).toBeInstanceOf(DrainTimeoutError);
    expect(nodes.map((n) => [n.name, n.unschedulable])).toEqual([
      ['node-0', false],
      ['node-1', true],
      ['node-2', false],
    ]);
  });
});

describe('the check before a drain pass changes anything', () => {
  it('runs once, before the first cordon, and a refusal leaves every node and pod as it was', async () => {
    const clock = new SimClock();
    const { port, nodes, pods, seen } = slowCluster(clock, 3, 5);
    let checks = 0;
    const lost = Object.assign(new Error('the lock is lost'), { name: 'LockLostError' });

    const attempt = drainPass(port, await port.listNodes(), {
      deadline: new Date(clock.now().getTime() + 900_000).toISOString(),
      now: clock.now(),
      beforeChange: async () => {
        checks += 1;
        throw lost;
      },
    });

    await expect(attempt).rejects.toBe(lost);
    expect(checks).toBe(1);
    expect(nodes.some((n) => n.unschedulable)).toBe(false);
    expect(seen.evictions).toBe(0);
    expect(pods.size).toBe(15);
  });

  it('is asked once for a whole pass that cordons and evicts on every node', async () => {
    const clock = new SimClock();
    const { port, pods } = slowCluster(clock, 3, 5);
    let checks = 0;

    const pass = await drainPass(port, await port.listNodes(), {
      deadline: new Date(clock.now().getTime() + 900_000).toISOString(),
      now: clock.now(),
      beforeChange: async () => {
        checks += 1;
      },
    });

    expect(checks).toBe(1);
    expect(pass.evicted).toBe(15);
    expect(pods.size).toBe(0);
  });

  it('is not asked by a pass that only counts: nodes cordoned already, every pod left terminating', async () => {
    const clock = new SimClock();
    const { port, nodes, pods, seen } = slowCluster(clock, 2, 3);
    const goneBy = new Date(clock.now().getTime() + 30_000).toISOString();
    for (const node of nodes) Object.assign(node, { unschedulable: true, cordonedByRoll: true });
    for (const pod of pods.values()) pod.deletionTimestamp = goneBy;
    let checks = 0;

    const pass = await drainPass(port, await port.listNodes(), {
      deadline: new Date(clock.now().getTime() + 900_000).toISOString(),
      now: clock.now(),
      beforeChange: async () => {
        checks += 1;
      },
    });

    expect(checks).toBe(0);
    expect(seen.evictions).toBe(0);
    expect(pass).toMatchObject({ drained: false, remaining: 6, evicted: 0, waitSeconds: 30 });
  });

  it('is asked before a pass past its deadline uncordons, and a refusal leaves the nodes cordoned', async () => {
    const clock = new SimClock();
    const { port, nodes, pods } = slowCluster(clock, 2, 3);
    for (const node of nodes) Object.assign(node, { unschedulable: true, cordonedByRoll: true });
    for (const pod of pods.values())
      pod.deletionTimestamp = new Date(clock.now().getTime() + 30_000).toISOString();
    const lost = Object.assign(new Error('the lock is lost'), { name: 'LockLostError' });

    const attempt = drainPass(port, await port.listNodes(), {
      deadline: new Date(clock.now().getTime() - 1_000).toISOString(),
      now: clock.now(),
      beforeChange: async () => {
        throw lost;
      },
    });

    await expect(attempt).rejects.toBe(lost);
    expect(nodes.every((n) => n.unschedulable)).toBe(true);
  });
});
