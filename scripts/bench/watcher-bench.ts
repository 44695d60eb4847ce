import type { InstanceTypeInfo as SdkInstanceTypeInfo } from '@aws-sdk/client-ec2';
import { fixedClock, withClock } from '../../src/clock.js';
import { manifestFromFlags } from '../../src/manifest/create-cluster.js';
import { completeManifest } from '../../src/manifest/defaults.js';
import { DEFAULT_WATCHER_SETTINGS, type WatcherSettings } from '../../src/planning/eni-decision.js';
import { type WatcherDeps, watchCluster } from '../../src/stages/eni-watcher.js';
import { handleWatcherEvent } from '../../src/stages/eni-watcher-events.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { countingObjectStore } from './counting-object-store.js';
import { syntheticInstanceId, syntheticKubePort } from './synthetic-cluster.js';

/**
 * What a bench needs to measure the ENI watcher without AWS or an API server: a Kubernetes port
 * that generates a cluster of any size page by page (never holding its pods), and a model of
 * the path EC2 events take in template.yaml (EventBridge -> SQS -> the watcher's event source
 * mapping) that feeds a burst of events through the watcher's real event handling.
 */

/**
 * The watcher's SQS event source mapping as template.yaml declares it (a test keeps the two the
 * same), and Lambda's 6 MB limit on a batch's payload.
 */
export const WATCHER_QUEUE = {
  batchSize: 1000,
  batchingWindowSeconds: 60,
  maximumConcurrency: 2,
  maxPayloadBytes: 6 * 1024 * 1024,
} as const;

export interface WatcherBurstOptions {
  /** EC2 state-change events in the burst (default 2,000: a 1,000-node roll). */
  events?: number;
  /** Seconds over which they arrive, evenly (default 60). */
  spreadSeconds?: number;
  clusters?: number;
  nodesPerCluster?: number;
  podsPerNode?: number;
  /** Share of the events about instances of no cluster (default 0.1). */
  strangerShare?: number;
  /** The clusters are locked (a roll runs): every run must skip before observing. */
  locked?: boolean;
  /** Simulated seconds one invocation takes (default 10). */
  invocationSeconds?: number;
  /** Batches gathered at once (default: the mapping's maximum concurrency). */
  pollers?: number;
  queue?: Partial<Omit<typeof WATCHER_QUEUE, 'maxPayloadBytes'>>;
  settings?: Partial<WatcherSettings>;
  pageSize?: number;
}

export interface WatcherBurstResult {
  events: number;
  invocations: number;
  /** Runs that looked at a cluster (listed its nodes and pods). */
  observations: number;
  /** Of those, the ones that counted towards the two-in-a-row. */
  countedObservations: number;
  kubeRequests: number;
  observationsPerCluster: Record<string, number>;
  ec2DescribeInstancesCalls: number;
  s3Requests: number;
  batches: Array<{ openedAt: number; closedAt: number; startedAt: number; records: number }>;
}

interface Message {
  at: number;
  record: {
    messageId: string;
    receiptHandle: string;
    body: string;
    attributes: Record<string, string>;
    messageAttributes: Record<string, never>;
    md5OfBody: string;
    eventSource: 'aws:sqs';
    eventSourceARN: string;
    awsRegion: string;
  };
  bytes: number;
}

type Poller =
  | { state: 'idle' }
  | { state: 'gathering'; openedAt: number; messages: Message[]; bytes: number }
  | { state: 'ready'; openedAt: number; closedAt: number; messages: Message[] }
  | { state: 'invoking'; endsAt: number; run: Promise<void> };

const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:kopsless-WatchEniQueue';
const INSTANCE_TYPE: SdkInstanceTypeInfo = {
  InstanceType: 't3.medium',
  VCpuInfo: { DefaultVCpus: 2 },
  Hypervisor: 'nitro',
  BareMetal: false,
  NetworkInfo: {
    MaximumNetworkInterfaces: 3,
    Ipv4AddressesPerInterface: 6,
    DefaultNetworkCardIndex: 0,
    NetworkCards: [{ NetworkCardIndex: 0, MaximumNetworkInterfaces: 3 }],
  },
};

/** The EC2 the benches' watcher sees: one fixed instance type; generated clusters have no stack, so no subnet is ever asked for. */
const noSubnets: WatcherDeps['ec2'] = {
  describeInstanceTypes: async () => [INSTANCE_TYPE],
  subnetUsage: async (ids) => {
    if (ids.length > 0)
      throw new Error(
        `no subnet expected: the generated clusters have no stack (asked for ${ids.join(', ')})`,
      );
    return new Map();
  },
};

/**
 * Feeds a burst of EC2 state-change events through a model of the watcher's queue and event
 * source mapping, each batch handled by the watcher's real event handling (handleWatcherEvent,
 * watchCluster, the decision, conditional state writes) over generated clusters, and counts what
 * the burst cost.
 *
 * The model, in simulated seconds: events arrive evenly over `spreadSeconds`. `pollers` gather
 * batches side by side, each message going to the next poller free to take it (round robin). A
 * poller's batch opens with its first message and closes when the batching window has passed
 * since, or at `batchSize` records, or at 6 MB of payload. Closed batches are invoked in the
 * order they closed, at most `maximumConcurrency` at once; one that finds no free slot waits (its
 * messages stay in flight). An invocation lasts `invocationSeconds`; invocations that overlap in
 * simulated time also run concurrently here (both read the state before either writes it), and
 * each sees the simulated time of its start as "now". A poller takes new messages once its
 * invocation ended; messages that arrive while no poller is free wait in the queue.
 */
export async function simulateWatcherBurst(
  options: WatcherBurstOptions = {},
): Promise<WatcherBurstResult> {
  const events = options.events ?? 2000;
  const spread = options.spreadSeconds ?? 60;
  const queue = { ...WATCHER_QUEUE, ...options.queue };
  const concurrency = queue.maximumConcurrency;
  const pollerCount = options.pollers ?? concurrency;
  const invocationSeconds = options.invocationSeconds ?? 10;
  const epoch = Date.parse('2026-11-25T12:00:00Z');
  const objects = countingObjectStore();
  const store = new ClusterStore(objects);
  const clusterCount = options.clusters ?? 1;
  const nodesPerCluster = options.nodesPerCluster ?? 1000;
  const clusters: string[] = [];
  const ports = new Map<string, ReturnType<typeof syntheticKubePort>>();
  const owners = new Map<string, string>();
  for (let c = 0; c < clusterCount; c++) {
    const name = `burst-${c}.example.com`;
    const manifest = manifestFromFlags({
      name,
      zones: ['us-east-1a'],
      nodeCount: 1,
      nodeSize: 't3.medium',
      controlPlaneSize: 't3.medium',
    });
    await withClock(fixedClock(new Date(epoch)), async () => {
      await store.registerCluster(manifest, completeManifest(structuredClone(manifest)));
      if (options.locked) await store.acquireLock(name, 'rolling-update-1', 'rolling-update');
    });
    const group = manifest.instanceGroups.find((ig) => ig.spec.role === 'Node')!.metadata.name;
    // Full: every slot taken and pods waiting, so the decision has something to count.
    ports.set(
      name,
      syntheticKubePort(
        {
          groups: [
            {
              instanceGroup: group,
              nodes: nodesPerCluster,
              maxPods: 17,
              podsPerNode: options.podsPerNode ?? 17,
            },
          ],
          pendingTooManyPods: 5,
        },
        { pageSize: options.pageSize ?? 500 },
      ),
    );
    for (let n = 0; n < nodesPerCluster; n++) owners.set(syntheticInstanceId(c, n), name);
    clusters.push(name);
  }
  const settings: WatcherSettings = { ...DEFAULT_WATCHER_SETTINGS, ...options.settings };
  let describeCalls = 0;
  const deps: WatcherDeps = {
    store,
    objects,
    stacks: { describe: async () => undefined },
    ec2: noSubnets,
    kube: async (cluster) => ports.get(cluster)?.port,
    settings,
  };

  const strangers = Math.round(events * (options.strangerShare ?? 0.1));
  const messages: Message[] = [];
  for (let i = 0; i < events; i++) {
    const stranger =
      i % Math.max(1, Math.round(events / Math.max(1, strangers))) === 0 && strangers > 0;
    const c = i % clusterCount;
    const instanceId = stranger
      ? `i-${(0xfffff000 + i).toString(16).padStart(17, '0')}`
      : syntheticInstanceId(c, Math.floor(i / clusterCount) % nodesPerCluster);
    const at = (i * spread) / events;
    const time = new Date(epoch + at * 1000).toISOString();
    const body = JSON.stringify({
      version: '0',
      id: `evt-${i}`,
      'detail-type': 'EC2 Instance State-change Notification',
      source: 'aws.ec2',
      account: '123456789012',
      time,
      region: 'us-east-1',
      resources: [`arn:aws:ec2:us-east-1:123456789012:instance/${instanceId}`],
      detail: { 'instance-id': instanceId, state: i % 2 === 0 ? 'running' : 'terminated' },
    });
    const record = {
      messageId: `msg-${i}`,
      receiptHandle: `rh-${i}`,
      body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(epoch + at * 1000) },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs' as const,
      eventSourceARN: QUEUE_ARN,
      awsRegion: 'us-east-1',
    };
    messages.push({ at, record, bytes: JSON.stringify(record).length });
  }

  const result: WatcherBurstResult = {
    events,
    invocations: 0,
    observations: 0,
    countedObservations: 0,
    kubeRequests: 0,
    observationsPerCluster: Object.fromEntries(clusters.map((c) => [c, 0])),
    ec2DescribeInstancesCalls: 0,
    s3Requests: 0,
    batches: [],
  };
  const invoke = async (batch: Message[], now: number): Promise<void> => {
    const outcome = await handleWatcherEvent(
      { Records: batch.map((m) => m.record) },
      {
        listClusters: () => store.listClusters(),
        async clustersOfInstances(ids) {
          // As clustersOfInstances on AWS: one DescribeInstances per 200 IDs.
          describeCalls += Math.ceil(ids.length / 200);
          return new Map(
            ids.flatMap((id) => (owners.has(id) ? [[id, owners.get(id)!] as const] : [])),
          );
        },
        watch: (cluster, watchOptions) =>
          withClock(fixedClock(new Date(epoch + now * 1000)), () =>
            watchCluster(cluster, deps, watchOptions),
          ),
      },
    );
    for (const { cluster, result: r } of outcome.results) {
      if (!r.observed) continue;
      result.observations++;
      result.observationsPerCluster[cluster] = (result.observationsPerCluster[cluster] ?? 0) + 1;
      if (r.decision.counted) result.countedObservations++;
    }
    if (outcome.batchItemFailures.length > 0)
      throw new Error(
        `the bench's batch failed: ${outcome.failures.map((f) => f.error.message).join('; ')}`,
      );
  };

  const pollers: Poller[] = Array.from(
    { length: pollerCount },
    () => ({ state: 'idle' }) as Poller,
  );
  const backlog: Message[] = [];
  let next = 0;
  let turn = 0;
  const take = (p: number, message: Message, t: number) => {
    const poller = pollers[p]!;
    const gathering =
      poller.state === 'gathering'
        ? poller
        : { state: 'gathering' as const, openedAt: t, messages: [] as Message[], bytes: 0 };
    if (gathering.bytes + message.bytes > queue.maxPayloadBytes) {
      pollers[p] = {
        state: 'ready',
        openedAt: gathering.openedAt,
        closedAt: t,
        messages: gathering.messages,
      };
      backlog.unshift(message);
      return;
    }
    gathering.messages.push(message);
    gathering.bytes += message.bytes;
    pollers[p] =
      gathering.messages.length >= queue.batchSize
        ? {
            state: 'ready',
            openedAt: gathering.openedAt,
            closedAt: t,
            messages: gathering.messages,
          }
        : gathering;
  };
  const free = (p: number) => pollers[p]!.state === 'idle' || pollers[p]!.state === 'gathering';
  const nextFree = () => {
    for (let k = 0; k < pollerCount; k++) {
      const p = (turn + k) % pollerCount;
      if (free(p)) {
        turn = p + 1;
        return p;
      }
    }
    return undefined;
  };
  for (;;) {
    const closes = pollers.flatMap((p) =>
      p.state === 'gathering' ? [p.openedAt + queue.batchingWindowSeconds] : [],
    );
    const ends = pollers.flatMap((p) => (p.state === 'invoking' ? [p.endsAt] : []));
    const t = Math.min(messages[next]?.at ?? Infinity, ...closes, ...ends);
    if (t === Infinity) break;
    // Order at one instant: invocations end (pollers free up), windows close, then messages arrive.
    for (let p = 0; p < pollerCount; p++) {
      const poller = pollers[p]!;
      if (poller.state === 'invoking' && poller.endsAt <= t) {
        await poller.run;
        pollers[p] = { state: 'idle' };
      }
    }
    for (let p = 0; p < pollerCount; p++) {
      const poller = pollers[p]!;
      if (poller.state === 'gathering' && poller.openedAt + queue.batchingWindowSeconds <= t)
        pollers[p] = {
          state: 'ready',
          openedAt: poller.openedAt,
          closedAt: t,
          messages: poller.messages,
        };
    }
    while (backlog.length > 0) {
      const p = nextFree();
      if (p === undefined) break;
      take(p, backlog.shift()!, t);
    }
    while (messages[next] && messages[next]!.at <= t) {
      const message = messages[next++]!;
      const p = nextFree();
      if (p === undefined) backlog.push(message);
      else take(p, message, t);
    }
    let running = pollers.filter((p) => p.state === 'invoking').length;
    const ready = pollers
      .map((p, i) => ({ p, i }))
      .filter((x) => x.p.state === 'ready')
      .sort(
        (a, b) => (a.p as { closedAt: number }).closedAt - (b.p as { closedAt: number }).closedAt,
      );
    for (const { p, i } of ready) {
      if (running >= concurrency || p.state !== 'ready') break;
      result.invocations++;
      result.batches.push({
        openedAt: p.openedAt,
        closedAt: p.closedAt,
        startedAt: t,
        records: p.messages.length,
      });
      const run = invoke(p.messages, t);
      // Awaited when its simulated end comes; until then a failure must not go unhandled.
      run.catch(() => undefined);
      pollers[i] = { state: 'invoking', endsAt: t + invocationSeconds, run };
      running++;
    }
  }
  result.kubeRequests = [...ports.values()].reduce((n, p) => n + p.stats.requests, 0);
  result.ec2DescribeInstancesCalls = describeCalls;
  result.s3Requests = objects.requests.get + objects.requests.put;
  return result;
}

export interface WatcherObservationResult {
  nodes: number;
  pods: number;
  seconds: number;
  kubeRequests: number;
  /** The most items one page of the generated API carried. */
  largestPage: number;
}

/**
 * One scheduled run of the watcher (watchCluster, decision and state write included) over a
 * generated cluster of `nodes` nodes with `podsPerNode` pods each, served in pages of
 * `pageSize`. Peak memory is the caller's to sample (e.g. `process.memoryUsage().rss` on an
 * interval, in a fresh process): nothing here holds the pods, so it grows with the nodes.
 */
export async function runWatcherOnce(options: {
  nodes: number;
  podsPerNode: number;
  pageSize?: number;
}): Promise<WatcherObservationResult> {
  const objects = countingObjectStore();
  const store = new ClusterStore(objects);
  const name = 'observe.example.com';
  const manifest = manifestFromFlags({
    name,
    zones: ['us-east-1a'],
    nodeCount: 1,
    nodeSize: 't3.medium',
    controlPlaneSize: 't3.medium',
  });
  await store.registerCluster(manifest, completeManifest(structuredClone(manifest)));
  const group = manifest.instanceGroups.find((ig) => ig.spec.role === 'Node')!.metadata.name;
  const kube = syntheticKubePort(
    {
      groups: [
        {
          instanceGroup: group,
          nodes: options.nodes,
          maxPods: options.podsPerNode,
          podsPerNode: options.podsPerNode,
        },
      ],
    },
    { pageSize: options.pageSize ?? 500 },
  );
  const started = performance.now();
  const result = await watchCluster(name, {
    store,
    objects,
    stacks: { describe: async () => undefined },
    ec2: noSubnets,
    kube: async () => kube.port,
    settings: DEFAULT_WATCHER_SETTINGS,
  });
  if (!result.observed)
    throw new Error(`the watcher did not observe the generated cluster: ${result.decision.reason}`);
  return {
    nodes: options.nodes,
    pods: options.nodes * options.podsPerNode,
    seconds: (performance.now() - started) / 1000,
    kubeRequests: kube.stats.requests,
    largestPage: kube.stats.largestPage,
  };
}
