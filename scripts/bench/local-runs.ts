import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { EC2Client } from '@aws-sdk/client-ec2';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import type { StateMachineName } from '../../src/functions-registry.js';
import { observeAwsCalls } from '../../src/local/aws-calls.js';
import { startKubeSim, type KubeSim } from '../../src/local/kube-sim/index.js';
import { startMoto, stopMoto } from '../../src/local/moto.js';
import { loadDefinition, runStateMachine, taskStates, type LocalExecutionResult, type RunOptions } from '../../src/local/step-functions.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { s3ObjectStore } from '../../src/state/object-store.js';
import type { Invocation } from './cost.js';

/**
 * The bench's runs of the real state machines and handlers on the local backend: moto (a child
 * process, stopped by PID) and the simulated Kubernetes API (in this process), with the bench's
 * own counting around them: AWS calls at the SDK (S3 included), Lambda invocations and each
 * one's handler wall time, transitions and history events.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The shape of a bench cluster and roll. */
export interface RollRequest {
  nodes: number;
  groups: number;
  maxSurge: number | string;
  parallelGroups: number;
  bootSeconds: number;
  drainSeconds: number;
}

/** What one run of a state machine measured. */
export interface RunMeasurement {
  status: 'SUCCEEDED' | 'FAILED';
  error?: { name: string; cause: string };
  /** Simulated seconds from start to end; null without a simulated clock (today's runner). */
  modelSeconds: number | null;
  transitions: number;
  maxHistoryEvents: number;
  lambdaInvocations: number;
  awsCalls: number;
  /** Per invocation, the function and its handler's wall time here (the Task state's entered to exited). */
  invocations: Invocation[];
  /** Real seconds the run took on this machine. */
  wallSeconds: number;
}

/** A local backend for one bench section: moto, the state bucket, the simulated Kubernetes API. */
export interface BenchBackend {
  sim: KubeSim;
  store: ClusterStore;
  stop(): Promise<void>;
}

export async function startBenchBackend(): Promise<BenchBackend> {
  const dir = mkdtempSync(join(tmpdir(), 'kopsless-bench-'));
  const moto = await startMoto({ dir, detached: false });
  const bucket = 'kopsless-bench-state';
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    STATE_BUCKET: bucket,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    // Real-time deadlines: generous, since moto at hundreds of instances is slow, not stuck.
    STACK_TIMEOUT_SECONDS: '3600',
    GROUPS_TIMEOUT_SECONDS: '3600',
    DNS_TIMEOUT_SECONDS: '600',
    DRAIN_TIMEOUT_SECONDS: '600',
    VALIDATION_TIMEOUT_SECONDS: '3600',
    REPLACEMENT_TIMEOUT_SECONDS: '3600',
  });
  const s3 = new S3Client({});
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  s3.destroy();
  const objects = s3ObjectStore(new S3Client({}), bucket);
  const store = new ClusterStore(objects);
  let sim: KubeSim;
  try {
    sim = await startKubeSim({ ec2: new EC2Client({}), store, objects });
  } catch (error) {
    stopMoto(moto.pid);
    throw error;
  }
  return {
    sim,
    store,
    stop: async () => {
      await sim.close();
      stopMoto(moto.pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Node group names of a bench cluster: `nodes-00`, `nodes-01`, ... */
export const benchGroupName = (i: number) => `nodes-${String(i).padStart(2, '0')}`;

/**
 * The seed cluster (one control-plane instance, two zones) with `groups` node groups holding
 * `nodes` instances between them (the first groups one larger), alternating zones, each with
 * the roll's maxSurge.
 */
export function benchManifest(cluster: string, request: Pick<RollRequest, 'nodes' | 'groups' | 'maxSurge'>): string {
  const seed = readFileSync(join(ROOT, 'test', 'fixtures', 'seed.yaml'), 'utf8').replaceAll('seed.example.com', cluster);
  const docs = parseAllDocuments(seed).map((d) => d.toJS() as { kind: string; metadata: { name: string; labels?: Record<string, string> }; spec: Record<string, unknown> });
  const clusterDoc = docs.find((d) => d.kind === 'Cluster')!;
  const controlPlane = docs.filter((d) => d.kind === 'InstanceGroup' && d.spec.role !== 'Node');
  const template = docs.find((d) => d.kind === 'InstanceGroup' && d.spec.role === 'Node')!;
  const base = Math.floor(request.nodes / request.groups);
  const extra = request.nodes % request.groups;
  const nodeGroups = Array.from({ length: request.groups }, (_, i) => {
    const size = base + (i < extra ? 1 : 0);
    const zone = i % 2 === 0 ? 'us-east-1a' : 'us-east-1b';
    const name = benchGroupName(i);
    return {
      ...template,
      metadata: { ...template.metadata, name },
      spec: { ...template.spec, minSize: size, maxSize: size, subnets: [zone], nodeLabels: { 'kops.k8s.io/instancegroup': name }, rollingUpdate: { maxSurge: request.maxSurge } },
    };
  });
  return [clusterDoc, ...controlPlane, ...nodeGroups].map((d) => stringify(d)).join('---\n');
}

/** Counts `name`'s AWS calls, invocations and handler times while it runs. */
export async function measureRun(name: StateMachineName, options: RunOptions): Promise<{ result: LocalExecutionResult; measurement: RunMeasurement }> {
  const functionOf = new Map(taskStates(loadDefinition(name, process.env.AWS_REGION ?? 'us-east-1')).map(([state, s]) => [state, /function:kopsless-(\w+)$/.exec(s.Resource ?? '')?.[1] ?? 'unknown']));
  let awsCalls = 0;
  let failedState: string | undefined;
  const started = new Map<string, number[]>();
  const invocations: Invocation[] = [];
  const stopObserving = observeAwsCalls({ before: () => void (awsCalls += 1) });
  const began = performance.now();
  const end = (state: string, at: number) => {
    const t = started.get(state)?.shift();
    if (t !== undefined) invocations.push({ functionId: functionOf.get(state)!, ms: Math.max(0, at - t) });
  };
  let result: LocalExecutionResult;
  try {
    result = await runStateMachine(name, {
      ...options,
      onProgress: (event) => {
        options.onProgress?.(event);
        if (event.kind === 'failed' || event.kind === 'caught') failedState ??= event.state;
        if (!functionOf.has(event.state)) return;
        if (event.kind === 'entered') started.set(event.state, [...(started.get(event.state) ?? []), event.at]);
        else if (event.kind === 'retried') {
          // The attempt ended; the next one starts now.
          end(event.state, event.at);
          started.set(event.state, [...(started.get(event.state) ?? []), event.at]);
        } else end(event.state, event.at);
      },
    });
  } finally {
    stopObserving();
  }
  const counted = result as LocalExecutionResult & { maxHistoryEvents?: number; lambdaInvocations?: number };
  return {
    result,
    measurement: {
      status: result.status,
      // The state that failed first names where a run stopped (a States.Timeout says only what).
      ...(result.error ? { error: { name: result.error.name, cause: `${failedState ? `in state ${failedState}: ` : ''}${result.error.cause}` } } : {}),
      // Filled in by the simulated clock after the merge (see scripts/bench.ts).
      modelSeconds: null,
      transitions: result.transitions ?? 0,
      maxHistoryEvents: counted.maxHistoryEvents ?? result.historyEvents ?? 0,
      lambdaInvocations: counted.lambdaInvocations ?? invocations.length,
      awsCalls,
      invocations,
      wallSeconds: (performance.now() - began) / 1000,
    },
  };
}

/** How long a local Wait state lasts (real milliseconds) until the simulated clock replaces it. */
export const LOCAL_WAIT_MS = 20;

/**
 * Today's runs: create the cluster, force-roll every node group, delete; each measured. The roll
 * is the real rolling-update state machine; without the simulated clock its polls last
 * LOCAL_WAIT_MS and nodes join as soon as the simulated API registers them (bootSeconds and
 * drainSeconds are not yet applied; see scripts/bench.ts for what the merge wires in).
 */
export async function localLifecycle(request: RollRequest, backend: BenchBackend): Promise<{ create: RunMeasurement; roll?: RunMeasurement; delete?: RunMeasurement }> {
  const cluster = `bench${request.nodes}.example.com`;
  const manifest = benchManifest(cluster, request);
  const { measurement: create } = await measureRun('create-cluster', { input: { manifest }, waitMs: LOCAL_WAIT_MS });
  if (create.status !== 'SUCCEEDED') return { create };
  await backend.sim.backend.cluster(cluster, { fresh: true });
  const instanceGroups = Array.from({ length: request.groups }, (_, i) => benchGroupName(i));
  const { measurement: roll } = await measureRun('rolling-update', { input: { cluster, instanceGroups, force: true, cloudOnly: false }, waitMs: LOCAL_WAIT_MS });
  const { measurement: deleted } = await measureRun('delete-cluster', { input: { cluster }, waitMs: LOCAL_WAIT_MS });
  return { create, roll, delete: deleted };
}
