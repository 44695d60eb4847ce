import type { InstanceTypeInfo as SdkInstanceTypeInfo } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { countingObjectStore } from '../../scripts/bench/counting-object-store.js';
import {
  type SyntheticCluster,
  syntheticInstanceId,
  syntheticKubePort,
} from '../../scripts/bench/synthetic-cluster.js';
import {
  runWatcherOnce,
  simulateWatcherBurst,
  WATCHER_QUEUE,
} from '../../scripts/bench/watcher-bench.js';
import { readConfig } from '../../src/config.js';
import { ClusterNotFoundError, InvalidInputError } from '../../src/errors.js';
import { manifestFromFlags } from '../../src/manifest/create-cluster.js';
import { completeManifest } from '../../src/manifest/defaults.js';
import { DEFAULT_WATCHER_SETTINGS } from '../../src/planning/eni-decision.js';
import { subnetOutputKey } from '../../src/planning/stack-template.js';
import {
  observe,
  STATE_WRITE_ATTEMPTS,
  type WatcherDeps,
  watchCluster,
  watcherExecutionName,
} from '../../src/stages/eni-watcher.js';
import { handleWatcherEvent } from '../../src/stages/eni-watcher-events.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import type { ObjectStore, WriteCondition } from '../../src/state/object-store.js';
import { clockAt } from '../support/clock.js';
import { readTemplate } from '../support/template.js';

// The watcher's stage and event handling on fakes: a generated cluster behind the Kubernetes
// port (pages made as they are asked for), an in-memory bucket with S3's conditional writes.
const CLUSTER = 'watch.example.com';
const T0 = new Date('2026-11-25T12:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const T3_MEDIUM: SdkInstanceTypeInfo = {
  InstanceType: 't3.medium',
  VCpuInfo: { DefaultVCpus: 2 },
  Hypervisor: 'nitro',
  NetworkInfo: {
    MaximumNetworkInterfaces: 3,
    Ipv4AddressesPerInterface: 6,
    DefaultNetworkCardIndex: 0,
    NetworkCards: [{ NetworkCardIndex: 0, MaximumNetworkInterfaces: 3 }],
  },
};
const manifest = manifestFromFlags({
  name: CLUSTER,
  zones: ['us-east-1a'],
  nodeCount: 2,
  nodeSize: 't3.medium',
  controlPlaneSize: 't3.medium',
});
const NODE_GROUP = manifest.instanceGroups.find((ig) => ig.spec.role === 'Node')!.metadata.name;
const FULL: SyntheticCluster = {
  groups: [{ instanceGroup: NODE_GROUP, nodes: 2, maxPods: 17, podsPerNode: 17 }],
  pendingTooManyPods: 3,
};
/** No subnet is asked for: the cluster has no stack unless a test gives it one. */
const noSubnets = async (ids: string[]) => {
  if (ids.length > 0) throw new Error(`no subnet expected, asked for ${ids.join(', ')}`);
  return new Map();
};

async function setup(
  options: { objects?: ObjectStore; cluster?: SyntheticCluster; pageSize?: number } = {},
) {
  const objects = options.objects ?? countingObjectStore();
  // The store's writes happen at T0 unless a test's deps move the clock.
  clockAt(T0);
  const store = new ClusterStore(objects);
  await store.registerCluster(
    structuredClone(manifest),
    completeManifest(structuredClone(manifest)),
  );
  const kube = syntheticKubePort(options.cluster ?? FULL, { pageSize: options.pageSize ?? 500 });
  const kubeAsked: string[] = [];
  const deps = (now: Date): WatcherDeps => {
    clockAt(now);
    return {
      store,
      objects,
      stacks: { describe: async () => undefined },
      ec2: { describeInstanceTypes: async () => [T3_MEDIUM], subnetUsage: noSubnets },
      kube: async (cluster) => {
        kubeAsked.push(cluster);
        return kube.port;
      },
      settings: DEFAULT_WATCHER_SETTINGS,
    };
  };
  return { objects, store, kube, kubeAsked, deps };
}

const ec2Event = (instanceId: string) => ({
  version: '0',
  source: 'aws.ec2',
  'detail-type': 'EC2 Instance State-change Notification',
  detail: { 'instance-id': instanceId, state: 'running' },
});
const sqsBatch = (bodies: unknown[]) => ({
  Records: bodies.map((b, i) => ({
    messageId: `m-${i}`,
    receiptHandle: `r-${i}`,
    body: typeof b === 'string' ? b : JSON.stringify(b),
    attributes: {},
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q',
    awsRegion: 'us-east-1',
  })),
});
const stateOf = async (objects: ObjectStore) =>
  JSON.parse((await objects.get(`${CLUSTER}/eni-watcher/state.json`))!.body) as {
    consecutive: Record<string, number>;
    lastCountedAt?: string;
  };

describe('ENI watcher: memory holds counts per node, never the pods', () => {
  it('folds pods page by page and never asks for a whole list', async () => {
    const big: SyntheticCluster = {
      groups: [{ instanceGroup: NODE_GROUP, nodes: 50, maxPods: 110, podsPerNode: 110 }],
      succeededPods: 400,
    };
    const { kube, deps, store } = await setup({ cluster: big, pageSize: 100 });

    const observed = await observe(
      CLUSTER,
      await store.readCompletedManifest(CLUSTER),
      kube.port,
      deps(T0),
    );

    expect(kube.stats.wholeLists).toBe(0);
    // Row pages of the bound pods, and one page of unscheduled pods (none here).
    expect(kube.stats.podPages).toBe(Math.ceil((50 * 110) / 100) + 1);
    expect(kube.stats.largestPage).toBeLessThanOrEqual(100);
    expect(observed.groups[0]!.nodes).toHaveLength(50);
    expect(observed.groups[0]!.nodes.every((n) => n.usedPods === 110 && n.maxPods === 110)).toBe(
      true,
    );
  });

  it('keeps only per-node figures in what it returns (name, type, used and max pods)', async () => {
    const { kube, deps, store } = await setup();

    const observed = await observe(
      CLUSTER,
      await store.readCompletedManifest(CLUSTER),
      kube.port,
      deps(T0),
    );

    expect(observed.groups[0]!.nodes.map((n) => Object.keys(n).sort())).toEqual([
      ['instanceType', 'maxPods', 'name', 'usedPods'],
      ['instanceType', 'maxPods', 'name', 'usedPods'],
    ]);
    expect(observed.pendingTooMany).toBe(3);
  });
});

describe('ENI watcher: skips before observing', () => {
  it('makes no Kubernetes request when the cluster is locked', async () => {
    const { store, kube, kubeAsked, deps } = await setup();
    await store.acquireLock(CLUSTER, 'rolling-update-1', 'rolling-update');

    const result = await watchCluster(CLUSTER, deps(T0));

    expect(result.observed).toBe(false);
    expect(result.decision.reason).toContain('locked by rolling-update-1');
    expect(kubeAsked).toEqual([]);
    expect(kube.stats.requests).toBe(0);
  });

  it('observes again once the lock has expired', async () => {
    const { store, deps } = await setup();
    await store.acquireLock(CLUSTER, 'rolling-update-1', 'rolling-update', 60);

    const result = await watchCluster(CLUSTER, deps(at(61)));

    expect(result.observed).toBe(true);
  });

  it('skips an instance of no cluster without looking at any cluster', async () => {
    const watched: string[] = [];

    const outcome = await handleWatcherEvent(ec2Event('i-0123456789abcdef0'), {
      listClusters: async () => [CLUSTER],
      clustersOfInstances: async () => new Map(),
      watch: async (c) => watched.push(c),
    });

    expect(watched).toEqual([]);
    expect(outcome.skipped).toEqual([
      { instanceId: 'i-0123456789abcdef0', reason: expect.stringContaining('no cluster') },
    ]);
  });

  it('skips an instance tagged for a cluster this state store does not hold', async () => {
    const outcome = await handleWatcherEvent(ec2Event('i-0123456789abcdef0'), {
      listClusters: async () => [],
      clustersOfInstances: async (ids) => new Map(ids.map((id) => [id, 'kops-only.example.com'])),
      watch: async (c) => {
        throw new ClusterNotFoundError(c);
      },
    });

    expect(outcome.failures).toEqual([]);
    expect(outcome.skipped).toEqual([
      { cluster: 'kops-only.example.com', reason: 'not a cluster of this state store' },
    ]);
  });

  it('skips an EC2-event run within the debounce of the last observation, but not a scheduled one', async () => {
    const { deps } = await setup();
    await watchCluster(CLUSTER, deps(T0));

    const fromEvents = await watchCluster(CLUSTER, deps(at(30)), { fromEvents: true });
    const scheduled = await watchCluster(CLUSTER, deps(at(31)));

    expect(fromEvents.observed).toBe(false);
    expect(fromEvents.decision.reason).toContain('observed 30 s ago');
    expect(scheduled.observed).toBe(true);
  });
});

describe('ENI watcher: hysteresis counts observations at least the schedule apart', () => {
  it('does not count a second observation seconds after the first', async () => {
    const { objects, deps } = await setup();
    await watchCluster(CLUSTER, deps(T0));

    const second = await watchCluster(CLUSTER, deps(at(10)));

    expect(second.decision.counted).toBe(false);
    expect(second.decision.groups[0]).toMatchObject({ full: true, consecutive: 1 });
    expect(second.decision.action).toBe('none');
    expect((await stateOf(objects)).lastCountedAt).toBe(T0.toISOString());
  });

  it('counts the next observation once the interval has passed', async () => {
    const { deps } = await setup();
    await watchCluster(CLUSTER, deps(T0));
    await watchCluster(CLUSTER, deps(at(10)));

    const later = await watchCluster(
      CLUSTER,
      deps(at(DEFAULT_WATCHER_SETTINGS.minObservationIntervalSeconds)),
    );

    expect(later.decision.counted).toBe(true);
    expect(later.decision.groups[0]!.consecutive).toBe(2);
  });
});

/** A bucket whose state.json is rewritten by a concurrent run just before each of our writes of it. */
function racedObjects(races: number) {
  const inner = countingObjectStore();
  const conditions: WriteCondition[] = [];
  let raced = 0;
  const store: ObjectStore = {
    ...inner,
    get: (key) => inner.get(key),
    async put(key, body, condition) {
      if (key.endsWith('eni-watcher/state.json')) {
        conditions.push(condition ?? {});
        if (raced < races) {
          raced++;
          const current = await inner.get(key);
          const theirs = current ? JSON.parse(current.body) : { consecutive: {} };
          // The other run counted an observation of its own at the same moment.
          await inner.put(
            key,
            JSON.stringify({
              ...theirs,
              consecutive: { [NODE_GROUP]: 1 },
              lastCountedAt: JSON.parse(body).lastCountedAt,
            }),
          );
        }
      }
      return inner.put(key, body, condition);
    },
  };
  return { store, conditions };
}

describe('ENI watcher: conditional writes of its state', () => {
  it('writes the first state create-only and later ones on the ETag it read', async () => {
    const { store, conditions } = racedObjects(0);
    const { deps } = await setup({ objects: store });

    await watchCluster(CLUSTER, deps(T0));
    await watchCluster(CLUSTER, deps(at(300)));

    expect(conditions[0]).toEqual({ ifNoneMatch: '*' });
    expect(conditions[1]).toEqual({ ifMatch: expect.stringMatching(/^".+"$/) });
  });

  it("re-reads and re-decides on a conflict (412), so a concurrent run's observation is not counted twice", async () => {
    const { store, conditions } = racedObjects(1);
    const { deps } = await setup({ objects: store });

    const result = await watchCluster(CLUSTER, deps(T0));

    expect(conditions).toHaveLength(2);
    expect(result.decision.counted).toBe(false);
    expect(result.decision.groups[0]!.consecutive).toBe(1);
    expect((await stateOf(store)).consecutive).toEqual({ [NODE_GROUP]: 1 });
  });

  it(`gives up after ${STATE_WRITE_ATTEMPTS} conflicts: nothing counted, nothing done`, async () => {
    const { store, conditions } = racedObjects(Infinity);
    const { deps, kube } = await setup({ objects: store });

    const result = await watchCluster(CLUSTER, deps(T0));

    expect(conditions).toHaveLength(STATE_WRITE_ATTEMPTS);
    expect(result.decision).toMatchObject({ action: 'none', counted: false, raise: [] });
    expect(result.decision.reason).toContain('changed under this run');
    expect(result.start).toBeUndefined();
    expect(kube.stats.requests).toBeGreaterThan(0);
  });
});

describe('ENI watcher: when acting fails', () => {
  it('puts its state back, so the next run acts instead of cooling down', async () => {
    const { deps, kube, objects } = await setup();
    // A /19 with nothing in use: room for every prefix the nodes need.
    const ec2 = {
      describeInstanceTypes: async () => [T3_MEDIUM],
      subnetUsage: async () =>
        new Map([['subnet-a', { subnetId: 'subnet-a', cidr: '172.20.32.0/19', usedIps: [] }]]),
    };
    const subnets =
      manifest.instanceGroups.find((ig) => ig.spec.role === 'Node')!.spec.subnets ?? [];
    const stack = {
      stackId: 'arn:stack',
      status: 'CREATE_COMPLETE',
      outputs: Object.fromEntries(subnets.map((s) => [subnetOutputKey(s), 'subnet-a'])),
      tags: { KubernetesCluster: CLUSTER },
    };
    const acting = (now: Date): WatcherDeps => ({
      ...deps(now),
      ec2,
      stacks: { describe: async () => stack },
    });
    const setEnv = kube.port.setDaemonSetEnv;
    let refusals = 1;
    kube.port.setDaemonSetEnv = async (...args) => {
      if (refusals-- > 0) throw new Error('API server unavailable');
      return setEnv(...args);
    };
    await watchCluster(CLUSTER, acting(T0));

    await expect(watchCluster(CLUSTER, acting(at(300)))).rejects.toThrow('API server unavailable');
    const retried = await watchCluster(CLUSTER, acting(at(310)));

    expect((await stateOf(objects)).consecutive).toEqual({ [NODE_GROUP]: 0 });
    expect(retried.decision.action).toBe('enable-prefix-delegation');
    expect(retried.start?.input.instanceGroups).toEqual([NODE_GROUP]);
  });
});

describe('ENI watcher: the name of the roll it starts', () => {
  it("keeps the decision time for a cluster name of 253 characters, within StartExecution's 80 characters", () => {
    const cluster =
      `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.example.com`.slice(
        0,
        253,
      );

    const first = watcherExecutionName(cluster, '2026-11-25T12:00:00.000Z');
    const later = watcherExecutionName(cluster, '2026-11-26T08:30:05.000Z');

    expect(first).toMatch(/^[A-Za-z0-9-]{1,80}$/);
    expect(first.endsWith('-20261125120000')).toBe(true);
    expect(later).not.toBe(first);
  });
});

describe('ENI watcher: events and SQS batches', () => {
  it('observes a cluster once for a batch of 2,000 events about its instances', async () => {
    const watched: string[] = [];
    const ids = Array.from({ length: 2000 }, (_, i) => syntheticInstanceId(0, i % 1000));
    const lookups: number[] = [];

    const outcome = await handleWatcherEvent(sqsBatch(ids.map(ec2Event)), {
      listClusters: async () => [CLUSTER],
      clustersOfInstances: async (asked) => {
        lookups.push(asked.length);
        return new Map(asked.map((id) => [id, CLUSTER]));
      },
      watch: async (c) => watched.push(c),
    });

    expect(watched).toEqual([CLUSTER]);
    expect(lookups).toEqual([1000]);
    expect(outcome.batchItemFailures).toEqual([]);
  });

  it('reports as failed only the messages of the cluster that failed', async () => {
    const owners = new Map([
      ['i-0000000000000000a', 'a.example.com'],
      ['i-0000000000000000b', 'b.example.com'],
    ]);

    const outcome = await handleWatcherEvent(
      sqsBatch([
        ec2Event('i-0000000000000000a'),
        ec2Event('i-0000000000000000b'),
        ec2Event('i-0000000000000000a'),
      ]),
      {
        listClusters: async () => [],
        clustersOfInstances: async () => owners,
        watch: async (c) => {
          if (c === 'b.example.com') throw new Error('API server down');
          return c;
        },
      },
    );

    expect(outcome.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    expect(outcome.results.map((r) => r.cluster)).toEqual(['a.example.com']);
  });

  it('reports a message whose body is not an event as failed, naming the field', async () => {
    const outcome = await handleWatcherEvent(
      sqsBatch(['not json', { source: 'aws.ec2', detail: { 'instance-id': 'nope' } }]),
      {
        listClusters: async () => [],
        clustersOfInstances: async () => new Map(),
        watch: async () => 0,
      },
    );

    expect(outcome.batchItemFailures).toEqual([
      { itemIdentifier: 'm-0' },
      { itemIdentifier: 'm-1' },
    ]);
    expect(outcome.failures.map((f) => f.error.message)).toEqual([
      'Records[0].body: is not JSON',
      expect.stringContaining('Records[1].body.detail.instance-id: must be an EC2 instance ID'),
    ]);
  });

  it('fails every EC2 message of the batch when the instance lookup fails', async () => {
    const outcome = await handleWatcherEvent(
      sqsBatch([ec2Event('i-0000000000000000a'), { cluster: CLUSTER }]),
      {
        listClusters: async () => [],
        clustersOfInstances: async () => {
          throw new Error('throttled');
        },
        watch: async (c) => c,
      },
    );

    expect(outcome.batchItemFailures).toEqual([{ itemIdentifier: 'm-0' }]);
    expect(outcome.results.map((r) => r.cluster)).toEqual([CLUSTER]);
  });

  it('takes the scheduled event (every cluster) and a direct EventBridge EC2 event (its cluster)', async () => {
    const watched: Array<[string, boolean]> = [];
    const deps = {
      listClusters: async () => ['a.example.com', 'b.example.com'],
      clustersOfInstances: async (ids: string[]) => new Map(ids.map((id) => [id, 'b.example.com'])),
      watch: async (c: string, o: { fromEvents: boolean }) => watched.push([c, o.fromEvents]),
    };

    await handleWatcherEvent(
      { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} },
      deps,
    );
    await handleWatcherEvent(ec2Event('i-0000000000000000b'), deps);

    expect(watched).toEqual([
      ['a.example.com', false],
      ['b.example.com', false],
      ['b.example.com', true],
    ]);
  });

  it('refuses an event from another source with an error naming the field', async () => {
    const run = handleWatcherEvent(
      { source: 'aws.s3', detail: {} },
      {
        listClusters: async () => [],
        clustersOfInstances: async () => new Map(),
        watch: async () => 0,
      },
    );

    await expect(run).rejects.toThrow(InvalidInputError);
    await expect(run).rejects.toThrow(/^source: "aws.s3" is not an event the watcher takes/);
  });
});

describe('ENI watcher: a burst of 2,000 EC2 events in a minute (queue model)', () => {
  it('costs at most 5 observations of the cluster, in batches the mapping allows', async () => {
    const burst = await simulateWatcherBurst({
      events: 2000,
      spreadSeconds: 60,
      nodesPerCluster: 200,
    });

    expect(burst.observationsPerCluster['burst-0.example.com']).toBeGreaterThan(0);
    expect(burst.observationsPerCluster['burst-0.example.com']).toBeLessThanOrEqual(5);
    expect(burst.countedObservations).toBe(1);
    expect(
      burst.batches.every(
        (b) =>
          b.records <= WATCHER_QUEUE.batchSize &&
          b.closedAt - b.openedAt <= WATCHER_QUEUE.batchingWindowSeconds,
      ),
    ).toBe(true);
    expect(burst.batches.reduce((n, b) => n + b.records, 0)).toBe(2000);
  });

  it('costs no Kubernetes request at all while the cluster is locked', async () => {
    const burst = await simulateWatcherBurst({ events: 2000, nodesPerCluster: 200, locked: true });

    expect(burst.invocations).toBeGreaterThan(0);
    expect(burst.observations).toBe(0);
    expect(burst.kubeRequests).toBe(0);
  });

  it("never runs more invocations at once than the mapping's maximum concurrency, even with 5 pollers", async () => {
    const burst = await simulateWatcherBurst({
      events: 2000,
      nodesPerCluster: 200,
      pollers: 5,
      invocationSeconds: 30,
    });
    const overlapping = burst.batches.map(
      (b) =>
        burst.batches.filter((o) => o.startedAt <= b.startedAt && b.startedAt < o.startedAt + 30)
          .length,
    );

    expect(Math.max(...overlapping)).toBeLessThanOrEqual(WATCHER_QUEUE.maximumConcurrency);
    expect(burst.observationsPerCluster['burst-0.example.com']).toBeLessThanOrEqual(5);
  });
});

describe("ENI watcher: one run over a generated cluster (the bench's watcher row)", () => {
  it('lists 30 nodes of 110 pods in pages of 100: one node page, 33 row pages, one unscheduled page, one DaemonSet read', async () => {
    const run = await runWatcherOnce({ nodes: 30, podsPerNode: 110, pageSize: 100 });

    expect(run).toMatchObject({
      nodes: 30,
      pods: 3300,
      kubeRequests: 1 + 33 + 1 + 1,
      largestPage: 100,
    });
  });
});

describe("template.yaml: the watcher's queue", () => {
  const template = readTemplate();

  it('maps the queue as the burst model assumes (batch size, window, concurrency, partial failures)', () => {
    const events = template.Resources.WatchEniFunction!.Properties!.Events as Record<
      string,
      { Type: string; Properties: Record<string, any> }
    >;
    const sqs = Object.values(events).find((e) => e.Type === 'SQS')!.Properties;

    expect(sqs).toMatchObject({
      Queue: { 'Fn::GetAtt': 'WatchEniQueue.Arn' },
      BatchSize: WATCHER_QUEUE.batchSize,
      MaximumBatchingWindowInSeconds: WATCHER_QUEUE.batchingWindowSeconds,
      ScalingConfig: { MaximumConcurrency: WATCHER_QUEUE.maximumConcurrency },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it("lets only the watcher's EventBridge rule send to the queue, which has a dead-letter queue", () => {
    const policy = template.Resources.WatchEniQueuePolicy!.Properties!.PolicyDocument
      .Statement as Array<Record<string, any>>;
    const allow = policy.filter((s) => s.Effect === 'Allow');
    const queue = template.Resources.WatchEniQueue!.Properties!;

    expect(allow).toEqual([
      expect.objectContaining({
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: {
          ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': 'WatchEniInstanceStateChangeRule.Arn' } },
        },
      }),
    ]);
    expect(queue.RedrivePolicy.deadLetterTargetArn).toEqual({
      'Fn::GetAtt': 'WatchEniDeadLetterQueue.Arn',
    });
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(
      6 * (template.Resources.WatchEniFunction!.Properties!.Timeout as number),
    );
  });
});

describe('ENI watcher configuration', () => {
  const env = { STATE_BUCKET: 'b', AWS_REGION: 'us-east-1' };

  it('counts observations 240 s apart and debounces EC2-event runs for 60 s unless told otherwise', () => {
    expect(readConfig(env).watcher).toMatchObject({
      minObservationIntervalSeconds: 240,
      eventDebounceSeconds: 60,
    });
  });

  it('takes 0 to turn the interval and the debounce off', () => {
    const config = readConfig({
      ...env,
      WATCHER_MIN_OBSERVATION_INTERVAL_SECONDS: '0',
      WATCHER_EVENT_DEBOUNCE_SECONDS: '0',
    });

    expect(config.watcher).toMatchObject({
      minObservationIntervalSeconds: 0,
      eventDebounceSeconds: 0,
    });
  });

  it('refuses a negative interval, naming the variable', () => {
    expect(() => readConfig({ ...env, WATCHER_MIN_OBSERVATION_INTERVAL_SECONDS: '-5' })).toThrow(
      /^WATCHER_MIN_OBSERVATION_INTERVAL_SECONDS must be a whole number of seconds \(0 or more\), got "-5"/,
    );
  });
});
