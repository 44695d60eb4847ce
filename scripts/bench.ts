#!/usr/bin/env node
/**
 * `npm run bench`: measures kopsless on the local backend and writes bench/results.json,
 * bench/roll-time.svg and a table on stdout. `--quick` is the 30-node
 * version the test suite runs (written to a temporary folder unless `--out` says where);
 * `--only roll,watcher,...` runs some sections and `--sizes 300` some roll sizes (watcher sizes
 * with `--only watcher`), keeping the rest
 * of an existing results.json; `--out DIR` writes elsewhere (default bench/).
 *
 * Sections:
 * - roll/create/delete: the real create-cluster, rolling-update (forced, every node group) and
 *   delete-cluster state machines and handlers against moto and the simulated Kubernetes API,
 *   one run per size (a simulated run is deterministic, so one is enough); the kOps column is
 *   scripts/bench/kops-model.ts.
 * - watcher: one observation by the watcher's code, in a child process (its peak RSS is the
 *   figure), against scripts/bench/kube-generator.ts (a paged API on 127.0.0.1, a child process).
 * - watcherBurst: 2,000 EC2 events in a minute against the watcher.
 * - coldStart: scripts/bench-bundles.mjs's rows (median of fresh processes: real timing).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  costUsd,
  lambdaMemoryMb,
  lambdaTimeoutSeconds,
  maxShareOfTimeout,
  minimalCreateAwsCalls,
  minimalDeleteAwsCalls,
  minimalRollAwsCalls,
} from './bench/cost.js';
import { kopsCreateSchedule } from './bench/kops-create-model.js';
import { kopsModelSeconds, kopsSettings, nodeGroups } from './bench/kops-model.js';
import type {
  LifecycleStages,
  RollRequest,
  RunMeasurement,
  ValidationWait,
} from './bench/local-runs.js';
import {
  type BenchResults,
  type ColdStartRow,
  type CreateRow,
  checkTargets,
  type Diagnostics,
  type LifecycleRow,
  mergeResults,
  type RollRow,
  renderTables,
  rollTimeSvg,
  type WatcherBurstRow,
  type WatcherRow,
} from './bench/report.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Simulated timings of the bench's cluster: 2-3 minutes for a node to boot and join, a minute's drain. */
export const BOOT_SECONDS = 150;
export const DRAIN_SECONDS = 60;
export const PODS_PER_NODE = 110;
/** Fresh processes per cold-start row (the median is reported). */
export const COLD_START_RUNS = 5;

export type Section = 'roll' | 'create' | 'delete' | 'watcher' | 'watcherBurst' | 'coldStart';
export const SECTIONS: Section[] = [
  'roll',
  'create',
  'delete',
  'watcher',
  'watcherBurst',
  'coldStart',
];

/** The sizes each mode runs. A roll at 1,000 nodes is 10 groups of 100; smaller ones keep 100 per group, at least 3 groups. */
export const PLAN = {
  quick: { roll: [30], lifecycle: [30], watcher: [50] },
  full: { roll: [30, 300, 1000], lifecycle: [30, 300], watcher: [500, 5000] },
} as const;

/**
 * Node groups rolled at once: kOps's order (1) at 30 nodes; at 300 every group (3, in three
 * zones); at 1,000 five of the ten groups (the bench cluster has five zones, group i in zone
 * i mod 5, so a wave of five never has two groups in one zone: two waves).
 */
export function parallelGroupsFor(nodes: number, groups: number): number {
  if (nodes < 300) return 1;
  return Math.min(groups, 5);
}

/**
 * Workload pods per node of a roll: kubelet's default maxPods (110), what a node full of pods
 * drains, on every size up to 300 nodes (33,000 pods); 1,000 nodes keep a lighter load of 10
 * a node, so that the whole bench stays within its wall-time budget on this machine.
 */
export function podsPerNodeFor(nodes: number): number {
  return nodes <= 300 ? PODS_PER_NODE : 10;
}

export function rollRequest(nodes: number): RollRequest {
  const groups = Math.max(3, Math.round(nodes / 100));
  return {
    nodes,
    groups,
    maxSurge: '10%',
    parallelGroups: parallelGroupsFor(nodes, groups),
    bootSeconds: BOOT_SECONDS,
    drainSeconds: DRAIN_SECONDS,
    podsPerNode: podsPerNodeFor(nodes),
  };
}

/** What one size's create, roll and delete measured (the roll and delete are missing when create failed). */
export interface LifecycleMeasurement {
  create: RunMeasurement;
  /** After a create that succeeded: waiting for `validate cluster --wait` to pass. */
  validation?: ValidationWait;
  /** The cluster stack's creation time under the simulated AWS durations. */
  stackSeconds?: number;
  roll?: RunMeasurement;
  delete?: RunMeasurement;
}

/**
 * The seam for the roll/create/delete section: runs the lifecycle of a cluster of that shape and
 * measures each run: scripts/bench/local-runs.ts's `localLifecycle` (a SimClock, bootSeconds and
 * drainSeconds) unless a test passes another.
 */
export type LifecycleRunner = (
  request: RollRequest,
  stages?: LifecycleStages,
) => Promise<LifecycleMeasurement>;

function memorySizes(): Record<string, number> {
  return lambdaMemoryMb(readFileSync(join(ROOT, 'template.yaml'), 'utf8'));
}

function timeouts(): Record<string, number> {
  return lambdaTimeoutSeconds(readFileSync(join(ROOT, 'template.yaml'), 'utf8'));
}

function describeRun(m: RunMeasurement): string {
  return `${m.status}${m.error ? ` (${m.error.name}: ${m.error.cause.slice(0, 300)})` : ''} in ${m.wallSeconds.toFixed(0)} s of wall time, ${m.modelSeconds ?? '-'} simulated s; ${m.executions} executions, ${m.transitions} transitions, ${m.maxHistoryEvents} history events at most, ${m.lambdaInvocations} Lambda invocations, ${m.awsCalls} AWS calls`;
}

/** The operations that took most of a run's AWS calls, by function: where to look when the calls are many. */
function describeCalls(m: RunMeasurement, top = 15): string {
  return describeCounts(m.awsCallsBy, top);
}

/** The `top` largest of a count by name, most first. */
function describeCounts(counts: Record<string, number>, top: number): string {
  return Object.entries(counts)
    .slice(0, top)
    .map(([what, n]) => `${what} ${n}`)
    .join(', ');
}

/** Roll rows for each size, and create/delete rows for those in `lifecycleSizes`. */
export async function lifecycleSection(
  sizes: readonly number[],
  lifecycleSizes: readonly number[],
  run: LifecycleRunner,
  diagnostics: Diagnostics,
  onSize?: (rows: { roll: RollRow[]; create: CreateRow[]; delete: LifecycleRow[] }) => void,
  stages?: LifecycleStages,
): Promise<{ roll: RollRow[]; create: CreateRow[]; delete: LifecycleRow[] }> {
  const memory = memorySizes();
  const timeout = timeouts();
  const out = { roll: [] as RollRow[], create: [] as CreateRow[], delete: [] as LifecycleRow[] };
  for (const nodes of sizes) {
    const request = rollRequest(nodes);
    const groups = nodeGroups(request);
    const base = {
      nodes,
      groups: request.groups,
      maxSurge: request.maxSurge,
      parallelGroups: request.parallelGroups,
    };
    const row = (m: RunMeasurement, minimalAwsCalls: number): LifecycleRow => ({
      ...base,
      modelSeconds: m.modelSeconds,
      transitions: m.transitions,
      maxHistoryEvents: m.maxHistoryEvents,
      lambdaInvocations: m.lambdaInvocations,
      awsCalls: m.awsCalls,
      minimalAwsCalls,
      costUsd: costUsd(m.transitions, m.invocations, memory),
    });
    let measured: LifecycleMeasurement;
    try {
      measured = await run(request, stages);
    } catch (error) {
      diagnostics[`lifecycle.${nodes}`] = `the run threw: ${(error as Error).message}`;
      continue;
    }
    const withLifecycle = lifecycleSizes.includes(nodes);
    // The control-plane group is created and deleted too; the roll forces the node groups only.
    // A failed run is no row (its counts stop where it failed); diagnostics say what happened.
    if (measured.validation && !measured.validation.valid)
      diagnostics[`create.${nodes}.validation`] =
        `not valid ${measured.validation.seconds} simulated s after create (${measured.validation.checks} validations): ${measured.validation.failures?.join('; ')}`;
    if (
      withLifecycle &&
      measured.create.status === 'SUCCEEDED' &&
      measured.validation?.valid === true
    ) {
      // Comparable with kOps: from the start of create until the cluster validates.
      const simulatedSeconds = (measured.create.modelSeconds ?? 0) + measured.validation.seconds;
      const kops = kopsCreateSchedule();
      out.create.push({
        ...row(measured.create, minimalCreateAwsCalls(request.groups + 1)),
        stackSeconds: measured.stackSeconds ?? 0,
        simulatedSeconds,
        kopsModelSeconds: kops.seconds,
        ratioToKops: Number((simulatedSeconds / kops.seconds).toFixed(3)),
      });
      diagnostics[`create.${nodes}.kopsModel`] =
        `kOps: ASGs made at ${kops.groupsCreated} s, create returns at ${kops.cloudupDone} s, API serving at ${kops.apiServing} s, records in sync at ${kops.recordsInSync} s, nodes Ready at ${kops.nodesReady} s, validate passes at ${kops.seconds} s; kopsless: create execution ${measured.create.modelSeconds} s, then validated after ${measured.validation.seconds} s (${measured.validation.checks} validations)`;
    }
    diagnostics[`create.${nodes}`] = describeRun(measured.create);
    // Progress on stderr: a full run takes a while, and the figures of a size are worth having at once.
    process.stderr.write(
      `bench: ${nodes} nodes: create ${describeRun(measured.create)}; roll ${measured.roll ? describeRun(measured.roll) : '-'}; delete ${measured.delete ? describeRun(measured.delete) : '-'}\n`,
    );
    if (measured.roll?.status === 'SUCCEEDED') {
      const minimal = minimalRollAwsCalls(
        groups.map((g) => ({ instances: g.instances, ...kopsSettings(g) })),
      );
      const nearest = maxShareOfTimeout(measured.roll.invocations, timeout);
      out.roll.push({
        ...row(measured.roll, minimal),
        kopsModelSeconds: kopsModelSeconds(request),
        podsPerNode: request.podsPerNode,
        maxInvocationShareOfTimeout: Number(nearest.share.toFixed(4)),
        maxStateBytes: measured.roll.maxStateBytes,
      } as RollRow);
      diagnostics[`roll.${nodes}.nearestTimeout`] =
        `${nearest.functionId ?? '-'}${nearest.state ? ` in ${nearest.state}` : ''}: ${((nearest.ms ?? 0) / 1000).toFixed(2)} s of ${nearest.functionId ? timeout[nearest.functionId] : '-'} s`;
    }
    if (measured.roll) {
      diagnostics[`roll.${nodes}`] = describeRun(measured.roll);
      diagnostics[`roll.${nodes}.awsCalls`] = describeCalls(measured.roll);
      diagnostics[`roll.${nodes}.statesEntered`] = describeCounts(
        measured.roll.statesEnteredBy,
        20,
      );
    }
    if (measured.delete) {
      if (withLifecycle && measured.delete.status === 'SUCCEEDED')
        out.delete.push(row(measured.delete, minimalDeleteAwsCalls(request.groups + 1, nodes + 1)));
      diagnostics[`delete.${nodes}`] = describeRun(measured.delete);
    }
    onSize?.(out);
  }
  return out;
}

/** Starts a node child (under tsx unless `plain`) and resolves with its first stdout line (parsed) and the child. */
function startChild(
  args: string[],
  plain = false,
): Promise<{ child: ReturnType<typeof spawn>; first: unknown }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--no-warnings', ...(plain ? [] : ['--import', 'tsx']), ...args],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      try {
        resolve({ child, first: JSON.parse(line) });
      } catch {
        reject(new Error(`${args[0]}: unexpected output ${line.slice(0, 200)}`));
      }
    });
    child.once('exit', (code) =>
      reject(
        new Error(
          `${args[0]} exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
        ),
      ),
    );
    child.once('error', reject);
  });
}

/** Stops a child the bench started, by its PID. */
function stopChild(child: ReturnType<typeof spawn>): void {
  if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
}

/**
 * The observation child as one esbuild bundle run by plain node, as Lambda runs the watcher (the
 * same options as scripts/build.mjs): under tsx the compiler and the unbundled modules alone
 * take some 280 MiB, which is not the watcher's.
 */
async function bundleObserver(): Promise<string> {
  const { build } = await import('esbuild');
  const outfile = join(ROOT, 'dist', 'bench', 'watcher-observe.mjs');
  await build({
    entryPoints: [join(ROOT, 'scripts', 'bench', 'watcher-observe.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    legalComments: 'none',
    banner: {
      js: "import { createRequire as __kopslessRequire } from 'node:module'; const require = __kopslessRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return outfile;
}

/** Pods per representation measured: three workloads' worth, so pods with and without a sidecar are both in it. */
export const VIEW_SAMPLE_PODS = 3000;

/** The Accept header and query of each representation of a pod list the API server offers. */
const VIEWS = {
  object: { accept: 'application/json', query: '' },
  metadata: {
    accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
    query: '',
  },
  table: { accept: 'application/json;as=Table;g=meta.k8s.io;v=v1', query: '' },
  tableWithoutObject: {
    accept: 'application/json;as=Table;g=meta.k8s.io;v=v1',
    query: '&includeObject=None',
  },
} as const;

/**
 * Mean bytes per pod of each representation, on the same first pods of the list: what each
 * option the API offers would cost the watcher per pod (`object` is the pod's own size).
 */
export async function measureViews(
  server: string,
  pods: number,
): Promise<WatcherRow['viewBytesPerPod']> {
  const limit = Math.min(pods, VIEW_SAMPLE_PODS);
  const out = {} as WatcherRow['viewBytesPerPod'];
  for (const [view, { accept, query }] of Object.entries(VIEWS)) {
    const response = await fetch(`${server}/api/v1/pods?limit=${limit}${query}`, {
      headers: { accept },
    });
    const body = Buffer.from(await response.arrayBuffer());
    if (!response.ok) throw new Error(`${view}: HTTP ${response.status} ${body.toString()}`);
    out[view as keyof typeof VIEWS] = Math.round(body.length / limit);
  }
  return out;
}

async function generatorCounts(server: string): Promise<{ requests: number; bytes: number }> {
  return (await (await fetch(`${server}/_bench/requests`)).json()) as {
    requests: number;
    bytes: number;
  };
}

/**
 * One watcher observation per size, against the generator: its wall seconds, its process's peak
 * RSS, the API requests and response bytes the generator counted for it, the mean size of a pod
 * as served, and what each representation of a pod list costs per pod.
 */
export async function watcherSection(
  sizes: readonly number[],
  diagnostics: Diagnostics,
  podsPerNode = PODS_PER_NODE,
): Promise<WatcherRow[]> {
  const { seedNodeGroups } = await import('./bench/watcher-observe.js');
  const observer = await bundleObserver();
  const rows: WatcherRow[] = [];
  for (const nodes of sizes) {
    const generator = await startChild([
      'scripts/bench/kube-generator.ts',
      '--nodes',
      String(nodes),
      '--pods-per-node',
      String(podsPerNode),
      '--groups',
      seedNodeGroups().join(','),
    ]);
    try {
      const { port } = generator.first as { port: number };
      const server = `http://127.0.0.1:${port}`;
      const viewBytesPerPod = await measureViews(server, nodes * podsPerNode);
      const before = await generatorCounts(server);
      const observed = await startChild([observer, '--server', server], true);
      const seen = observed.first as {
        seconds: number;
        peakMiB: number;
        nodes: number;
        pods: number;
      };
      stopChild(observed.child);
      const after = await generatorCounts(server);
      if (seen.nodes !== nodes || seen.pods !== nodes * podsPerNode)
        diagnostics[`watcher.${nodes}`] =
          `observed ${seen.nodes} nodes and ${seen.pods} pods, expected ${nodes} and ${nodes * podsPerNode}`;
      rows.push({
        nodes,
        pods: nodes * podsPerNode,
        seconds: seen.seconds,
        peakMiB: seen.peakMiB,
        kubeRequests: after.requests - before.requests,
        podBytes: viewBytesPerPod.object,
        bytesRead: after.bytes - before.bytes,
        viewBytesPerPod,
      });
    } catch (error) {
      diagnostics[`watcher.${nodes}`] = `the observation failed: ${(error as Error).message}`;
    } finally {
      stopChild(generator.child);
    }
  }
  return rows;
}

/** EC2 state-change events of the burst: a 1,000-node roll launches and terminates 1,000 instances each. */
export const BURST_EVENTS = 2000;

/**
 * 2,000 EC2 state-change events within one simulated minute against the watcher's real event
 * handling behind a model of its SQS queue and event source mapping (scripts/bench/watcher-bench.ts),
 * on a cluster of 1,000 nodes that is not locked (the worst case: a locked one skips every run).
 */
export async function watcherBurstSection(diagnostics: Diagnostics): Promise<WatcherBurstRow[]> {
  const { simulateWatcherBurst } = await import('./bench/watcher-bench.js');
  try {
    const burst = await simulateWatcherBurst({
      events: BURST_EVENTS,
      spreadSeconds: 60,
      clusters: 1,
      nodesPerCluster: 1000,
    });
    diagnostics.watcherBurst = `one cluster of 1,000 nodes, not locked; observations per cluster ${JSON.stringify(burst.observationsPerCluster)}, ${burst.countedObservations} counted; ${burst.ec2DescribeInstancesCalls} DescribeInstances, ${burst.s3Requests} S3 requests; batches ${burst.batches.map((b) => b.records).join('+')} records`;
    return [
      {
        events: burst.events,
        invocations: burst.invocations,
        observations: burst.observations,
        kubeRequests: burst.kubeRequests,
      },
    ];
  } catch (error) {
    diagnostics.watcherBurst = `the burst failed: ${(error as Error).message}`;
    return [];
  }
}

/** scripts/bench-bundles.mjs in a child process, its rows as JSON. */
export async function coldStartSection(
  runs: number,
  diagnostics: Diagnostics,
): Promise<ColdStartRow[]> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--no-warnings', join(ROOT, 'scripts', 'bench-bundles.mjs')],
      {
        cwd: ROOT,
        env: { ...process.env, BENCH_RUNS: String(runs), BENCH_JSON: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      try {
        if (code !== 0) throw new Error(`exited ${code}: ${stderr.slice(-300)}`);
        resolve(JSON.parse(last) as ColdStartRow[]);
      } catch (error) {
        diagnostics.coldStart = `scripts/bench-bundles.mjs failed: ${(error as Error).message}`;
        resolve([]);
      }
    });
  });
}

export interface BenchOptions {
  mode: 'quick' | 'full';
  sections: Section[];
  lifecycle?: LifecycleRunner;
  /** Roll sizes instead of the mode's (`--sizes 30,300`): to measure one size alone. */
  sizes?: number[];
  /** Called after each section with the results so far (the entry point writes them, so a long run leaves its figures). */
  onSection?: (results: BenchResults) => void;
}

export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const plan = PLAN[options.mode];
  const diagnostics: Diagnostics = {};
  const want = (s: Section) => options.sections.includes(s);
  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    measuredAt: Object.fromEntries(
      options.sections.map((section) => [section, new Date().toISOString()]),
    ),
    mode: options.mode,
    machine: {
      node: process.version,
      cpus: cpus().length,
      loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
    },
    settings: {
      bootSeconds: BOOT_SECONDS,
      drainSeconds: DRAIN_SECONDS,
      podsPerNode: PODS_PER_NODE,
      coldStartRuns: COLD_START_RUNS,
    },
    roll: [],
    create: [],
    delete: [],
    watcher: [],
    watcherBurst: [],
    coldStart: [],
    diagnostics,
  };
  // The quick sections first: a long lifecycle run stopped by hand still leaves their figures.
  if (want('watcher')) {
    // `--only watcher --sizes 5000` measures one watcher size; with a roll section sizes are the roll's.
    const rollSections = want('roll') || want('create') || want('delete');
    results.watcher = await watcherSection(
      options.sizes && !rollSections ? options.sizes : plan.watcher,
      diagnostics,
    );
    options.onSection?.(results);
  }
  if (want('watcherBurst')) results.watcherBurst = await watcherBurstSection(diagnostics);
  if (want('coldStart')) {
    results.coldStart = await coldStartSection(
      options.mode === 'quick' ? 1 : COLD_START_RUNS,
      diagnostics,
    );
    options.onSection?.(results);
  }
  if (want('roll') || want('create') || want('delete')) {
    const runner: { run: LifecycleRunner; stop?: () => Promise<void> } = options.lifecycle
      ? { run: options.lifecycle }
      : await defaultLifecycleRunner(diagnostics);
    const sizes = options.sizes ?? (want('roll') ? plan.roll : plan.lifecycle);
    const publish = (measured: {
      roll: RollRow[];
      create: CreateRow[];
      delete: LifecycleRow[];
    }) => {
      if (want('roll')) results.roll = measured.roll;
      if (want('create')) results.create = measured.create;
      if (want('delete')) results.delete = measured.delete;
      // Written after each size: at hundreds of instances a size takes many minutes.
      options.onSection?.(results);
    };
    try {
      publish(
        await lifecycleSection(
          sizes,
          want('create') || want('delete') ? plan.lifecycle : [],
          runner.run,
          diagnostics,
          publish,
          // `--only create`: no roll (a 300-node roll is minutes of wall time), delete if asked.
          { roll: want('roll'), delete: want('delete') || want('roll') },
        ),
      );
    } finally {
      await runner.stop?.();
    }
  }
  return results;
}

/**
 * The lifecycle runner: one local backend (moto, the simulated API, a SimClock) for the section,
 * moto emptied before each size after the first, so that a size's calls do not pay for the
 * instances earlier sizes left (moto keeps terminated ones and filters every describe through them).
 */
async function defaultLifecycleRunner(
  diagnostics: Diagnostics,
): Promise<{ run: LifecycleRunner; stop: () => Promise<void> }> {
  const { startBenchBackend, localLifecycle } = await import('./bench/local-runs.js');
  const backend = await startBenchBackend({
    bootSeconds: BOOT_SECONDS,
    drainSeconds: DRAIN_SECONDS,
  });
  // A run stopped by hand (Ctrl-C, kill) still stops the moto it started.
  const interrupted = (signal: NodeJS.Signals) => {
    void backend.stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  diagnostics.lifecycle = `the local runner on a SimClock (Waits and retry pauses in simulated time, handlers take none), moto emptied before each size; a new instance's node Ready ${BOOT_SECONDS} s after the call that launched it, an evicted pod gone ${DRAIN_SECONDS} s after eviction; the handlers see AWS's own durations (src/local/aws-timing/: a stack its longest chain of resources, an instance Pending 20 s, a Route53 change PENDING 60 s); five zones; Deployments of podsPerNode pods per node (110 up to 300 nodes, 10 at 1,000; see the rows); parallelGroups 1 below 300 nodes, else min(groups, 5); awsCalls are the handlers' calls at the SDK (S3 included), the simulated API's own reads of moto excluded; costUsd prices each Lambda attempt's real handler time here (against moto on a loaded machine: an overestimate)`;
  let first = true;
  return {
    run: async (request, stages) => {
      if (!first) await backend.resetAws();
      first = false;
      return localLifecycle(request, backend, stages);
    },
    stop: async () => {
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      await backend.stop();
    },
  };
}

function parseArgs(argv: string[]): BenchOptions & { out: string } {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const only = value('--only')?.split(',').filter(Boolean);
  for (const s of only ?? [])
    if (!SECTIONS.includes(s as Section))
      throw new Error(
        `--only: unknown section ${JSON.stringify(s)}; sections: ${SECTIONS.join(', ')}`,
      );
  const sizes = value('--sizes')
    ?.split(',')
    .map((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 3)
        throw new Error(`--sizes: expected node counts of at least 3, got ${JSON.stringify(v)}`);
      return n;
    });
  const mode = argv.includes('--quick') ? 'quick' : 'full';
  // The quick version never writes over the committed full figures unless told where to write.
  const out =
    value('--out') ??
    (mode === 'quick' ? join(tmpdir(), 'kopsless-bench-quick') : join(ROOT, 'bench'));
  return {
    mode,
    sections: (only as Section[] | undefined) ?? SECTIONS,
    out,
    ...(sizes ? { sizes } : {}),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const options = parseArgs(process.argv.slice(2));
  const started = performance.now();
  mkdirSync(options.out, { recursive: true });
  const file = join(options.out, 'results.json');
  // `--only` re-measures some sections of an existing results.json and keeps the others;
  // `--sizes` some roll sizes, keeping the other sizes' rows.
  const partial = options.sections.length < SECTIONS.length || options.sizes !== undefined;
  const previous =
    partial && existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as BenchResults)
      : undefined;
  const write = (results: BenchResults, benchSeconds?: number) => {
    const merged = previous
      ? mergeResults(previous, results, options.sections, options.sizes)
      : results;
    // Only a run of every section times the bench; `--only` keeps the time of the last full run.
    if (benchSeconds !== undefined && !previous)
      merged.benchSeconds = Number(benchSeconds.toFixed(0));
    merged.targets = checkTargets(merged);
    writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
    writeFileSync(join(options.out, 'roll-time.svg'), rollTimeSvg(merged.roll));
    return merged;
  };
  const results = await runBench({ ...options, onSection: write });
  console.log(renderTables(write(results, (performance.now() - started) / 1000)));
  console.log(
    `\nwrote ${join(options.out, 'results.json')} and roll-time.svg in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
}
