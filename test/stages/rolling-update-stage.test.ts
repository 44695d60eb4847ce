import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Filter, Instance } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import type { AutoScalingApi, GroupState } from '../../src/aws/autoscaling.js';
import { readConfig } from '../../src/config.js';
import { InvalidInputError } from '../../src/errors.js';
import type { KubePort } from '../../src/kube/port.js';
import { checkManifest } from '../../src/manifest/check.js';
import { groupName, PLACEHOLDER_IP } from '../../src/planning/names.js';
import {
  BATCH_LIMIT,
  CHILD_POLL_SECONDS,
  childBatchLimit,
  type RollOptions,
  type RollStep,
} from '../../src/planning/rolling-update.js';
import { DRAIN_POLL_SECONDS } from '../../src/stages/roll-drain.js';
import {
  RollCache,
  type RollingUpdateDeps,
  rollingUpdate,
} from '../../src/stages/rolling-update.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import type { ObjectStore } from '../../src/state/object-store.js';
import { ROOT, readFixture } from '../helpers.js';
import { clockAt } from '../support/clock.js';
import { memoryObjects } from '../support/memory-objects.js';

// The seed cluster: control-plane-us-east-1a, nodes-us-east-1a and nodes-us-east-1b, one
// instance each, every one out of date (the groups' spec hash is "new", theirs "old").
const CLUSTER = 'seed.example.com';
const check = checkManifest(readFixture('seed.yaml'));
const IG_NAMES = check.completed!.instanceGroups.map((ig) => ig.metadata.name);

interface World {
  deps: RollingUpdateDeps;
  /** The names each DescribeAutoScalingGroups asked for. */
  describedGroups: string[][];
  /** The filters of each DescribeInstances. */
  instanceFilters: Filter[][];
  /** Every state store read (get and list), by key. */
  reads: string[];
}

async function world(): Promise<World> {
  const objects = memoryObjects();
  const reads: string[] = [];
  const counted: ObjectStore = {
    ...objects,
    get: async (key) => (reads.push(key), objects.get(key)),
    list: async (prefix) => (reads.push(`list ${prefix}`), objects.list(prefix)),
  };
  const store = new ClusterStore(counted);
  await store.registerCluster(check.manifest!, check.completed!);
  // The roll's steps run at a fixed time; the registration above at the system's.
  clockAt('2026-01-01T00:00:00Z');
  const groups: GroupState[] = IG_NAMES.map((ig) => ({
    name: groupName(ig, CLUSTER),
    minSize: 1,
    maxSize: 1,
    desiredCapacity: 1,
    subnetIds: [],
    tags: { KubernetesCluster: CLUSTER, 'kopsless.io/spec-hash': 'new' },
    instances: [
      {
        instanceId: `i-${ig}`,
        lifecycleState: 'InService',
        healthStatus: 'Healthy',
        zone: 'us-east-1a',
      },
    ],
  }));
  const instances: Instance[] = IG_NAMES.map((ig) => ({
    InstanceId: `i-${ig}`,
    Tags: [
      { Key: 'kops.k8s.io/instancegroup', Value: ig },
      { Key: 'kopsless.io/spec-hash', Value: 'old' },
    ],
  }));
  const describedGroups: string[][] = [];
  const instanceFilters: Filter[][] = [];
  const deps = {
    store,
    autoscaling: {
      describeGroups: async (names: string[]) => (
        describedGroups.push(names), groups.filter((g) => names.includes(g.name))
      ),
      setDesiredCapacity: async () => undefined,
    } as unknown as AutoScalingApi,
    ec2: {
      describeInstances: async (filters: Filter[]) => {
        instanceFilters.push(filters);
        const only = filters.find((f) => f.Name === 'tag:kops.k8s.io/instancegroup')?.Values;
        return instances.filter((i) => !only || only.includes(i.Tags![0]!.Value!));
      },
      terminateInstances: async () => undefined,
    },
    stacks: { describe: async () => undefined },
    dns: { listRecords: async () => [] },
    kube: async () => undefined,
    drainTimeoutSeconds: 60,
    validationTimeoutSeconds: 60,
    replacementTimeoutSeconds: 60,
  } as RollingUpdateDeps;
  reads.length = 0;
  return { deps, describedGroups, instanceFilters, reads };
}

type Plan = { options: RollOptions; waves: string[][]; batchLimit: number };

const PARENT = 'arn:aws:states:us-east-1:123456789012:execution:kopsless-rolling-update:roll-1';
const CHILD =
  'arn:aws:states:us-east-1:123456789012:execution:kopsless-rolling-update-group:child-1';

/** PARENT holds the lock for a roll, its wave is `instanceGroup` alone, and `execution` claims it. */
async function claimed(
  store: ClusterStore,
  instanceGroup: string,
  execution: string,
): Promise<void> {
  await store.acquireLock(CLUSTER, PARENT, 'rolling-update');
  await store.beginWave(CLUSTER, PARENT, [instanceGroup], 'plan-digest');
  await store.reserveChild(CLUSTER, PARENT, instanceGroup, execution.split(':').pop()!);
  await store.claimGroup(
    CLUSTER,
    PARENT,
    { instanceGroup, claimant: execution, planDigest: 'plan-digest' },
    async () => true,
  );
}

type Next = { step: { kind: string; instanceGroup?: string; instanceIds?: string[] } };

describe('rolling-update plan', () => {
  it('puts node groups of different zones in one wave with parallelGroups 2, after the control plane alone', async () => {
    const { deps } = await world();

    const plan = (await rollingUpdate(
      { action: 'plan', cluster: CLUSTER, parallelGroups: 2 },
      deps,
    )) as Plan;

    expect(plan.waves).toEqual([
      ['control-plane-us-east-1a'],
      ['nodes-us-east-1a', 'nodes-us-east-1b'],
    ]);
  });

  it("rolls one group per wave in kOps's order by default, and says how many batches a child execution runs", async () => {
    const { deps } = await world();

    const plan = (await rollingUpdate({ action: 'plan', cluster: CLUSTER }, deps)) as Plan;

    expect(plan.waves).toEqual([
      ['control-plane-us-east-1a'],
      ['nodes-us-east-1a'],
      ['nodes-us-east-1b'],
    ]);
    // 60 s timeouts and VerifyDns's default 10 minutes: fewer than BATCH_LIMIT batches fit.
    expect(plan.batchLimit).toBe(
      childBatchLimit({
        replacementTimeoutSeconds: 60,
        drainTimeoutSeconds: 60,
        validationTimeoutSeconds: 60,
        dnsTimeoutSeconds: 600,
      }),
    );
    expect(plan.batchLimit).toBeLessThan(BATCH_LIMIT);
  });

  it('refuses, before anything is replaced, a roll whose parent execution could pass the history quota', async () => {
    const { deps } = await world();
    // A validation deadline of two days: each wave's validation alone could take 2,881 polls.
    const slow = { ...deps, validationTimeoutSeconds: 2 * 24 * 3600 };

    await expect(rollingUpdate({ action: 'plan', cluster: CLUSTER }, slow)).rejects.toMatchObject({
      name: 'RollTooLargeError',
      message: expect.stringContaining('--parallel-groups'),
    });
  });

  it('takes fewer batches per child execution when the timeouts are long, so a child whose every poll runs to its deadline still fits the history quota', async () => {
    const { deps } = await world();

    const plan = (await rollingUpdate(
      { action: 'plan', cluster: CLUSTER },
      {
        ...deps,
        replacementTimeoutSeconds: 900,
        drainTimeoutSeconds: 900,
        validationTimeoutSeconds: 900,
      },
    )) as Plan;

    expect(plan.batchLimit).toBe(5);
  });

  it('leaves groups that need no update out of the waves', async () => {
    const { deps } = await world();

    const plan = (await rollingUpdate(
      { action: 'plan', cluster: CLUSTER, instanceGroups: ['nodes-us-east-1b'] },
      deps,
    )) as Plan;

    expect(plan.waves).toEqual([['nodes-us-east-1b']]);
  });
});

describe('rolling-update next', () => {
  it('observes only the named group and the control plane (for the version guard) when given an instance group', async () => {
    const w = await world();
    const plan = (await rollingUpdate({ action: 'plan', cluster: CLUSTER }, w.deps)) as Plan;
    w.describedGroups.length = 0;
    w.instanceFilters.length = 0;

    const next = (await rollingUpdate(
      {
        action: 'next',
        cluster: CLUSTER,
        instanceGroup: 'nodes-us-east-1b',
        options: plan.options,
      },
      w.deps,
    )) as Next;

    expect(next.step).toMatchObject({
      kind: 'surge',
      instanceGroup: 'nodes-us-east-1b',
      instanceIds: ['i-nodes-us-east-1b'],
    });
    expect(w.describedGroups).toEqual([
      [groupName('control-plane-us-east-1a', CLUSTER), groupName('nodes-us-east-1b', CLUSTER)],
    ]);
    expect(w.instanceFilters).toHaveLength(1);
    expect(w.instanceFilters[0]).toContainEqual({
      Name: 'tag:kops.k8s.io/instancegroup',
      Values: ['control-plane-us-east-1a', 'nodes-us-east-1b'],
    });
  });

  it("reads nothing from the state store when given the plan's roster", async () => {
    const w = await world();
    const plan = (await rollingUpdate({ action: 'plan', cluster: CLUSTER }, w.deps)) as Plan;
    w.reads.length = 0;

    await rollingUpdate(
      {
        action: 'next',
        cluster: CLUSTER,
        instanceGroup: 'nodes-us-east-1a',
        options: plan.options,
      },
      w.deps,
    );
    await rollingUpdate({ action: 'next', cluster: CLUSTER, options: plan.options }, w.deps);

    expect(w.reads).toEqual([]);
  });

  it('is done for a group the roll was not asked to roll', async () => {
    const { deps } = await world();

    const next = (await rollingUpdate(
      {
        action: 'next',
        cluster: CLUSTER,
        instanceGroup: 'nodes-us-east-1a',
        options: { instanceGroups: ['nodes-us-east-1b'] },
      },
      deps,
    )) as Next;

    expect(next.step).toEqual({ kind: 'done' });
  });

  it('refuses an instance group the cluster does not have, naming it', async () => {
    const { deps } = await world();

    const attempt = rollingUpdate(
      { action: 'next', cluster: CLUSTER, instanceGroup: 'nodes-nowhere', options: {} },
      deps,
    );

    await expect(attempt).rejects.toThrow(InvalidInputError);
    await expect(attempt).rejects.toThrow(
      'instanceGroup: Not found: instance group "nodes-nowhere" is not in cluster "seed.example.com"',
    );
  });

  it("with a child's claim, reads nothing from the state store (the step that acts on it checks the claim) and returns the group's step", async () => {
    const w = await world();
    const plan = (await rollingUpdate({ action: 'plan', cluster: CLUSTER }, w.deps)) as Plan;
    await claimed(w.deps.store, 'nodes-us-east-1a', CHILD);
    w.reads.length = 0;

    const next = (await rollingUpdate(
      {
        action: 'next',
        cluster: CLUSTER,
        instanceGroup: 'nodes-us-east-1a',
        options: plan.options,
        claim: { owner: PARENT, execution: CHILD },
      },
      w.deps,
    )) as Next;

    expect(next.step).toMatchObject({ kind: 'surge', instanceGroup: 'nodes-us-east-1a' });
    expect(w.reads).toEqual([]);
  });

  it("answers continueAsNew past the child's batchLimit, observing nothing, once its history might not hold another step", async () => {
    const w = await world();
    const plan = (await rollingUpdate({ action: 'plan', cluster: CLUSTER }, w.deps)) as Plan;
    w.describedGroups.length = 0;
    const ask = (startedAt: string) =>
      rollingUpdate(
        {
          action: 'next',
          cluster: CLUSTER,
          instanceGroup: 'nodes-us-east-1a',
          options: plan.options,
          history: { steps: plan.batchLimit, batchLimit: plan.batchLimit, startedAt },
        },
        w.deps,
      );

    // Started a year ago: poll turns alone may have filled its history.
    const old = await ask(new Date(Date.now() - 365 * 24 * 3600_000).toISOString());
    expect(old).toEqual({ continueAsNew: true });
    expect(w.describedGroups).toEqual([]);

    const fresh = (await ask(new Date().toISOString())) as Next;
    expect(fresh.step).toMatchObject({ kind: 'surge', instanceGroup: 'nodes-us-east-1a' });
  });

  it('a surge fails with LockLostError naming the new claimant, observing nothing, once another execution claims the group', async () => {
    const w = await world();
    await claimed(w.deps.store, 'nodes-us-east-1a', CHILD);
    await w.deps.store.reserveChild(CLUSTER, PARENT, 'nodes-us-east-1a', 'child-1-later');
    await w.deps.store.claimGroup(
      CLUSTER,
      PARENT,
      { instanceGroup: 'nodes-us-east-1a', claimant: `${CHILD}-later`, planDigest: 'plan-digest' },
      async () => true,
    );
    w.describedGroups.length = 0;
    w.instanceFilters.length = 0;

    const attempt = rollingUpdate(
      {
        action: 'surge',
        cluster: CLUSTER,
        step: {
          kind: 'surge',
          instanceGroup: 'nodes-us-east-1a',
          asgName: groupName('nodes-us-east-1a', CLUSTER),
          instanceIds: ['i-1'],
        },
        claim: { owner: PARENT, execution: CHILD },
      },
      w.deps,
    );

    await expect(attempt).rejects.toMatchObject({
      name: 'LockLostError',
      message: expect.stringContaining(
        `${CHILD}-later, which now claims instance group "nodes-us-east-1a"`,
      ),
    });
    expect(w.describedGroups).toEqual([]);
    expect(w.instanceFilters).toEqual([]);
  });

  it.each(['surge', 'terminate'] as const)(
    '%s of a child whose parent released the lock fails with LockLostError before it touches anything',
    async (action) => {
      const w = await world();
      await claimed(w.deps.store, 'nodes-us-east-1a', CHILD);
      await w.deps.store.releaseLock(CLUSTER, PARENT);
      w.describedGroups.length = 0;
      w.instanceFilters.length = 0;
      const step = {
        kind: 'replace' as const,
        instanceGroup: 'nodes-us-east-1a',
        asgName: groupName('nodes-us-east-1a', CLUSTER),
        instanceIds: ['i-1'],
        detachedIds: [],
        controlPlane: false,
      };
      const kube = w.deps.kube;
      let kubeAsked = false;
      w.deps.kube = async (c) => ((kubeAsked = true), kube(c));

      const attempt = rollingUpdate(
        {
          action,
          cluster: CLUSTER,
          step,
          deadline: '2030-01-01T00:00:00Z',
          claim: { owner: PARENT, execution: CHILD },
        } as Parameters<typeof rollingUpdate>[0],
        w.deps,
      );

      await expect(attempt).rejects.toMatchObject({ name: 'LockLostError' });
      expect(w.describedGroups).toEqual([]);
      expect(w.instanceFilters).toEqual([]);
      expect(kubeAsked).toBe(false);
    },
  );

  it('a drain pass of a child whose parent released the lock fails with LockLostError before it cordons or evicts', async () => {
    const w = await world();
    await claimed(w.deps.store, 'nodes-us-east-1a', CHILD);
    await w.deps.store.releaseLock(CLUSTER, PARENT);
    const changes: string[] = [];
    const node = {
      name: 'node-1',
      providerId: 'aws:///us-east-1a/i-1',
      instanceId: 'i-1',
      role: 'node' as const,
      ready: true,
      unschedulable: false,
      allocatablePods: 110,
    };
    const pod = {
      namespace: 'default',
      name: 'web-1',
      nodeName: 'node-1',
      phase: 'Running',
      ready: true,
      labels: {},
      drainSkips: false,
      notReadyContainers: [],
    };
    const kube = {
      listNodes: async () => [node],
      listPods: async () => [pod],
      cordon: async (name: string) => void changes.push(`cordon ${name}`),
      evict: async (_ns: string, name: string) => (changes.push(`evict ${name}`), 'evicted'),
      recordEvent: async () => undefined,
    } as unknown as KubePort;

    const attempt = rollingUpdate(
      {
        action: 'drain',
        cluster: CLUSTER,
        step: {
          kind: 'replace',
          instanceGroup: 'nodes-us-east-1a',
          asgName: groupName('nodes-us-east-1a', CLUSTER),
          instanceIds: ['i-1'],
          detachedIds: [],
          controlPlane: false,
        },
        deadline: '2030-01-01T00:00:00Z',
        claim: { owner: PARENT, execution: CHILD },
      },
      { ...w.deps, kube: async () => kube },
    );

    await expect(attempt).rejects.toMatchObject({ name: 'LockLostError' });
    expect(changes).toEqual([]);
  });

  it('a surge fails with LockLostError, observing nothing, once the parent no longer holds the lock (a failed roll released it)', async () => {
    const w = await world();
    await claimed(w.deps.store, 'nodes-us-east-1a', CHILD);
    await w.deps.store.releaseLock(CLUSTER, PARENT);
    w.describedGroups.length = 0;

    const attempt = rollingUpdate(
      {
        action: 'surge',
        cluster: CLUSTER,
        step: {
          kind: 'surge',
          instanceGroup: 'nodes-us-east-1a',
          asgName: groupName('nodes-us-east-1a', CLUSTER),
          instanceIds: ['i-1'],
        },
        claim: { owner: PARENT, execution: CHILD },
      },
      w.deps,
    );

    await expect(attempt).rejects.toMatchObject({
      name: 'LockLostError',
      message: expect.stringContaining(
        `execution ${PARENT} no longer holds the lock of cluster "${CLUSTER}" (released)`,
      ),
    });
    expect(w.describedGroups).toEqual([]);
  });

  it('without an instance group, observes every group and steps through them in kOps order (control plane first)', async () => {
    const w = await world();

    const next = (await rollingUpdate(
      { action: 'next', cluster: CLUSTER, options: {} },
      w.deps,
    )) as Next;

    expect(next.step).toMatchObject({ kind: 'replace', instanceGroup: 'control-plane-us-east-1a' });
    expect(w.describedGroups).toEqual([IG_NAMES.map((ig) => groupName(ig, CLUSTER))]);
  });
});

describe("rolling-update awaitReplacements, a child's look that ends a step", () => {
  const GROUP = 'nodes-us-east-1a';
  async function look(step: RollStep) {
    const w = await world();
    const plan = (await rollingUpdate(
      { action: 'plan', cluster: CLUSTER, cloudOnly: true },
      w.deps,
    )) as Plan;
    w.describedGroups.length = 0;
    w.instanceFilters.length = 0;
    w.reads.length = 0;
    const answer = (await rollingUpdate(
      {
        action: 'awaitReplacements',
        cluster: CLUSTER,
        step,
        deadline: '2030-01-01T00:00:00Z',
        cloudOnly: true,
        claim: { owner: PARENT, execution: CHILD },
        following: {
          instanceGroup: GROUP,
          options: plan.options,
          history: {
            steps: 1,
            batchLimit: plan.batchLimit,
            startedAt: '2026-01-01T00:00:00Z',
          },
        },
      },
      w.deps,
    )) as Record<string, unknown>;
    return { w, answer };
  }

  it('once the replacements are ready, validates and answers the following step from one description of the groups', async () => {
    const { w, answer } = await look({
      kind: 'surge',
      instanceGroup: GROUP,
      asgName: groupName(GROUP, CLUSTER),
      instanceIds: [],
    });

    expect(answer).toMatchObject({
      ready: true,
      valid: true,
      step: { kind: 'replace', instanceGroup: GROUP, instanceIds: [`i-${GROUP}`] },
      drainDeadline: expect.any(String),
    });
    expect(w.describedGroups).toEqual([IG_NAMES.map((ig) => groupName(ig, CLUSTER))]);
    expect(w.instanceFilters).toHaveLength(1);
    expect(w.reads).toEqual([]);
  });

  it('while the replacements are not ready, answers the same step and neither validates nor plans', async () => {
    const step = {
      kind: 'replace' as const,
      instanceGroup: GROUP,
      asgName: groupName(GROUP, CLUSTER),
      instanceIds: [`i-${GROUP}`],
      detachedIds: [],
      controlPlane: false,
    };

    const { w, answer } = await look(step);

    expect(answer).toMatchObject({ ready: false, step });
    expect(answer.valid).toBeUndefined();
    expect(w.describedGroups).toHaveLength(1);
    expect(w.instanceFilters).toEqual([]);
  });
});

describe('the warm container cache (RollCache)', () => {
  const manifestReads = (reads: string[]) => reads.filter((k) => k === `${CLUSTER}/config`).length;

  it('reads the spec once for all steps under one lock', async () => {
    const w = await world();
    await w.deps.store.acquireLock(CLUSTER, 'roll-1', 'rolling-update');
    const deps = { ...w.deps, cache: new RollCache() };

    await rollingUpdate({ action: 'next', cluster: CLUSTER, options: {} }, deps);
    await rollingUpdate({ action: 'next', cluster: CLUSTER, options: {} }, deps);
    await rollingUpdate({ action: 'next', cluster: CLUSTER, options: {} }, deps);

    expect(manifestReads(w.reads)).toBe(1);
  });

  it('reads the spec again under another lock (another roll may follow a spec change)', async () => {
    const w = await world();
    const deps = { ...w.deps, cache: new RollCache() };
    await w.deps.store.acquireLock(CLUSTER, 'roll-1', 'rolling-update');
    await rollingUpdate({ action: 'next', cluster: CLUSTER, options: {} }, deps);
    await w.deps.store.releaseLock(CLUSTER, 'roll-1');
    await w.deps.store.acquireLock(CLUSTER, 'roll-2', 'rolling-update');

    await rollingUpdate({ action: 'next', cluster: CLUSTER, options: {} }, deps);

    expect(manifestReads(w.reads)).toBe(2);
  });

  it('keeps nothing when the cluster is not locked', async () => {
    const w = await world();
    const deps = { ...w.deps, cache: new RollCache() };

    await rollingUpdate({ action: 'next', cluster: CLUSTER, options: {} }, deps);
    await rollingUpdate({ action: 'next', cluster: CLUSTER, options: {} }, deps);

    expect(manifestReads(w.reads)).toBe(2);
  });

  it('reads the kubeconfig once, and again only when a call through it fails, retrying that call once', async () => {
    const w = await world();
    let kubeconfigReads = 0;
    let failNext = false;
    const port = {
      listNodes: async () => {
        if (failNext) {
          failNext = false;
          throw new Error('x509: certificate signed by unknown authority');
        }
        return [];
      },
    } as unknown as KubePort;
    const cache = new RollCache();
    const deps = { ...w.deps, kube: async (_cluster: string) => (kubeconfigReads++, port) };

    const first = await cache.bind(deps, CLUSTER).kube(CLUSTER);
    await first!.listNodes();
    const second = await cache.bind(deps, CLUSTER).kube(CLUSTER);
    failNext = true;
    const nodes = await second!.listNodes();

    expect(nodes).toEqual([]);
    expect(kubeconfigReads).toBe(2);
  });
});

describe('batchLimit: a child execution fits in 25,000 history events', () => {
  type AslState = {
    Type: string;
    Next?: string;
    Seconds?: number;
    SecondsPath?: string;
    Default?: string;
  };
  const child = JSON.parse(
    readFileSync(join(ROOT, 'statemachines/rolling-update-group.asl.json'), 'utf8'),
  ) as { States: Record<string, AslState> };

  /**
   * History events of one replaced batch in surge mode, walked through the child machine: every
   * poll fails until its deadline is almost up (`failures` per loop), then passes. A Task is 5
   * events, any other state 2.
   */
  function worstBatchEvents(failures: {
    replacements: number;
    validation: number;
    drain: number;
  }): number {
    const seen = new Map<string, number>();
    // Where each poll loop began: its check's visit count when the loop was entered.
    const began = { replacements: 0, validation: 0, drain: 0 };
    let events = 0;
    let name = 'NextStep';
    let batchEnds = 0;
    for (;;) {
      const state = child.States[name]!;
      const visit = (seen.get(name) ?? 0) + 1;
      seen.set(name, visit);
      events += state.Type === 'Task' ? 5 : 2;
      if (name === 'Surge' || name === 'Terminate')
        began.replacements = seen.get('ReplacementsReady') ?? 0;
      if (name === 'ValidateAfterStep') began.validation = seen.get('ClusterValid') ?? 0;
      const passes = (loop: keyof typeof began) => visit - began[loop] > failures[loop];
      if (name === 'StepKind') name = visit === 1 ? 'Surge' : 'Drain';
      else if (name === 'ReplacementsReady')
        name = passes('replacements') ? 'ValidateAfterStep' : 'WaitForReplacements';
      else if (name === 'ClusterValid') {
        if (!passes('validation')) name = 'WaitForValidation';
        else if (++batchEnds === 2) return events;
        else name = 'NextStep';
      } else if (name === 'Drained') name = passes('drain') ? 'Terminate' : 'WaitForDrain';
      else name = state.Next ?? state.Default!;
    }
  }

  it('polls at the intervals childBatchLimit counts with', () => {
    expect(child.States.WaitForReplacements!.Seconds).toBe(CHILD_POLL_SECONDS.replacements);
    expect(child.States.WaitForValidation!.Seconds).toBe(CHILD_POLL_SECONDS.validation);
    // The drain waits at least its poll interval (longer only for pods already terminating).
    expect(child.States.WaitForDrain!.SecondsPath).toBe('$.drain.waitSeconds');
    expect(DRAIN_POLL_SECONDS).toBe(CHILD_POLL_SECONDS.drain);
    expect(child.States.WaitForDns!.Seconds).toBe(CHILD_POLL_SECONDS.dns);
  });

  it("stays under 25,000 events with kOps's 15-minute deadlines when every drain, boot and validation takes almost all of its deadline", () => {
    const config = readConfig({ STATE_BUCKET: 'b', AWS_REGION: 'us-east-1' });
    const batch = worstBatchEvents({
      replacements: Math.floor(config.replacementTimeoutSeconds / CHILD_POLL_SECONDS.replacements),
      validation: Math.floor(config.validationTimeoutSeconds / CHILD_POLL_SECONDS.validation),
      drain: Math.floor(config.drainTimeoutSeconds / CHILD_POLL_SECONDS.drain),
    });
    const startAndEnd = 1 + 5 + 2 + 2 + 1;

    const limit = childBatchLimit(config);

    expect(limit).toBeGreaterThanOrEqual(1);
    expect(startAndEnd + limit * batch).toBeLessThan(25_000);
  });

  it('rolls fewer batches per child when the deadlines are raised, and at least one', () => {
    const base = {
      drainTimeoutSeconds: 900,
      validationTimeoutSeconds: 900,
      replacementTimeoutSeconds: 900,
      dnsTimeoutSeconds: 600,
    };

    expect(childBatchLimit({ ...base, drainTimeoutSeconds: 3600 })).toBeLessThan(
      childBatchLimit(base),
    );
    expect(childBatchLimit({ ...base, drainTimeoutSeconds: 10 * 3600 })).toBe(1);
    expect(
      childBatchLimit({
        drainTimeoutSeconds: 10,
        validationTimeoutSeconds: 10,
        replacementTimeoutSeconds: 10,
        dnsTimeoutSeconds: 10,
      }),
    ).toBe(BATCH_LIMIT);
  });
});

describe('the warm container cache of the API records', () => {
  const names = [`api.${CLUSTER}.`, `api.internal.${CLUSTER}.`];
  const records = (value: string) => names.map((name) => ({ name, type: 'A', values: [value] }));

  async function cached(answers: string[]) {
    const store = new ClusterStore(memoryObjects());
    await store.acquireLock(CLUSTER, 'roll-1', 'rolling-update');
    let reads = 0;
    const deps = {
      store,
      stacks: { describe: async () => undefined },
      kube: async () => undefined,
      dns: {
        listRecords: async () => records(answers[Math.min(reads++, answers.length - 1)]!),
      },
    } as unknown as RollingUpdateDeps;
    const cache = new RollCache();
    // Each poll is a step of its own: the cache is bound again, as a warm container does.
    const poll = () => cache.bind(deps, CLUSTER).dns.listRecords('ZUSER', names);
    return { poll, reads: () => reads };
  }

  it('reads the records once they are pointed at the control plane, then answers from the cache', async () => {
    const { poll, reads } = await cached(['10.0.0.1']);

    await poll();
    await poll();
    const third = await poll();

    expect(reads()).toBe(1);
    expect(third.map((r) => r.values)).toEqual([['10.0.0.1'], ['10.0.0.1']]);
  });

  it("reads again at every poll while a record is still kOps's placeholder", async () => {
    const { poll, reads } = await cached([PLACEHOLDER_IP, PLACEHOLDER_IP, '10.0.0.1']);

    await poll();
    await poll();
    await poll();
    await poll();

    expect(reads()).toBe(3);
  });
});
