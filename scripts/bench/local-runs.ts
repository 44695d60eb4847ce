import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { parseAllDocuments, stringify } from 'yaml';
import { autoScalingApi } from '../../src/aws/autoscaling.js';
import { cloudFormationStackApi } from '../../src/aws/cloudformation.js';
import { route53Api } from '../../src/aws/route53.js';
import { ensureDemoZone } from '../../src/cli/demo-zone.js';
import type { StateMachineName } from '../../src/functions-registry.js';
import { kubeForCluster } from '../../src/kube/from-store.js';
import { type AwsTiming, simulateAwsTiming } from '../../src/local/aws-timing/simulate.js';
import { carriesKubernetesRequest, observeAwsCalls } from '../../src/local/instrument/aws-calls.js';
import { MAX_REPLICAS_PER_DEPLOYMENT } from '../../src/local/kube-sim/cluster.js';
import { type KubeSim, startKubeSim } from '../../src/local/kube-sim/index.js';
import { isAlive, startMoto, stopMoto } from '../../src/local/moto/moto.js';
import { ensureSecretsKey } from '../../src/local/moto/secrets-key.js';
import { SimClock } from '../../src/local/sfn/sim-clock.js';
import {
  type LocalExecutionResult,
  type RunOptions,
  runStateMachine,
} from '../../src/local/sfn/step-functions.js';
import { type ValidateDeps, validateCluster } from '../../src/stages/validate-cluster.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { type ObjectStore, s3ObjectStore } from '../../src/state/object-store.js';
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
  /** Pods of the bench's workload on each node (Deployments of at most MAX_REPLICAS_PER_DEPLOYMENT each). */
  podsPerNode: number;
}

/** What one run of a state machine measured. */
export interface RunMeasurement {
  status: 'SUCCEEDED' | 'FAILED';
  error?: { name: string; cause: string };
  /** Simulated seconds from the execution's start to its end (the bench's SimClock). */
  modelSeconds: number | null;
  transitions: number;
  maxHistoryEvents: number;
  lambdaInvocations: number;
  /** Bytes of the largest state input or output of any execution of the run. */
  maxStateBytes: number;
  awsCalls: number;
  /** Per Lambda attempt (children's included), the function and its handler's real time here (the runner's onInvocation). */
  invocations: Invocation[];
  /** AWS calls by `function service:operation`, most first: where the calls go. */
  awsCallsBy: Record<string, number>;
  /** States entered by `state machine:state`, most first: where the transitions go. */
  statesEnteredBy: Record<string, number>;
  /** Executions of the run (the one started and every child). */
  executions: number;
  /** Real seconds the run took on this machine. */
  wallSeconds: number;
}

/** A local backend for one bench section: moto, the state bucket, the simulated Kubernetes API. */
export interface BenchBackend {
  sim: KubeSim;
  store: ClusterStore;
  /** The state bucket's objects (the stored kubeconfigs among them). */
  objects: ObjectStore;
  /** AWS's own durations applied to the handlers' answers on `clock` (src/local/aws-timing/). */
  awsTiming: AwsTiming;
  /** The simulated clock every run on this backend and the simulated cluster's timers read. */
  clock: SimClock;
  /**
   * Empties moto (and makes the state bucket again): moto keeps terminated instances and filters
   * every describe through them, so a size after another would pay for the instances before it.
   */
  resetAws(): Promise<void>;
  stop(): Promise<void>;
}

/** The bench clusters' pod cap in the simulated API: room for 300 nodes of 110 pods, surge included. */
export const BENCH_MAX_PODS_PER_CLUSTER = 40_000;

/** The services whose writes can launch, end, tag or regroup instances. */
const INSTANCE_SERVICES = new Set(['EC2', 'Auto Scaling', 'CloudFormation']);

/**
 * Starts moto, the state bucket and the simulated Kubernetes API with nodes that boot in
 * `bootSeconds` and pods that drain in `drainSeconds` of the one SimClock the runs use.
 */
export async function startBenchBackend(timing: {
  bootSeconds: number;
  drainSeconds: number;
}): Promise<BenchBackend> {
  const clock = new SimClock();
  // Every call that can change instances is a handler's (the bench sees them at the SDK): the
  // simulated API re-reads moto only after one, not on every poll. Only EC2, Auto Scaling and
  // CloudFormation writes change instances: a lock renewal or a DNS record does not.
  let changes = 0;
  // When the last of those calls was made, in simulated time: a node boots from its launch.
  let lastChangeAt: number | undefined;
  const stopCounting = observeAwsCalls({
    after: (call) => {
      if (
        INSTANCE_SERVICES.has(call.service) &&
        !/^(Describe|List|Get|Head)/.test(call.operation)
      ) {
        changes += 1;
        lastChangeAt = clock.now().getTime();
      }
    },
  });
  // moto answers at once; the handlers see a stack, an instance and a DNS change take AWS's time.
  const awsTiming = simulateAwsTiming({ now: () => clock.now() });
  const dir = mkdtempSync(join(tmpdir(), 'kopsless-bench-'));
  let moto = await startMoto({ dir, detached: false });
  const bucket = 'kopsless-bench-state';
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    STATE_BUCKET: bucket,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    // The stages' deadlines, read on the SimClock: generous, so that only a roll that is stuck hits one.
    STACK_TIMEOUT_SECONDS: '3600',
    GROUPS_TIMEOUT_SECONDS: '3600',
    DNS_TIMEOUT_SECONDS: '600',
    DRAIN_TIMEOUT_SECONDS: '600',
    VALIDATION_TIMEOUT_SECONDS: '3600',
    REPLACEMENT_TIMEOUT_SECONDS: '3600',
  });
  const createBucket = async () => {
    const s3 = new S3Client({});
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: bucket,
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    s3.destroy();
    // The account's public zone the bench clusters' records go into, as a user makes it first.
    const route53 = new Route53Client({});
    await ensureDemoZone(route53, 'example.com', { out: () => {}, err: () => {} });
    route53.destroy();
    // The deployment's secrets key, as the local backend makes it: secrets are written under it.
    process.env.SECRETS_KEY_ARN = await ensureSecretsKey({});
  };
  await createBucket();
  const objects = s3ObjectStore(new S3Client({}), bucket, {
    secretsKey: process.env.SECRETS_KEY_ARN,
  });
  const store = new ClusterStore(objects);
  let sim: KubeSim;
  try {
    sim = await startKubeSim({
      ec2: new EC2Client({}),
      store,
      objects,
      timing: {
        now: () => clock.now().getTime(),
        ...timing,
        // 300 nodes of 110 pods are 33,000 pods, past the simulated API's default cap of 10,000.
        maxPodsPerCluster: BENCH_MAX_PODS_PER_CLUSTER,
        launchedAt: () => lastChangeAt,
      },
      changes: () => changes,
      autoscaling: new AutoScalingClient({}),
    });
  } catch (error) {
    stopCounting();
    awsTiming.stop();
    stopMoto(moto.pid);
    throw error;
  }
  // The handlers accept a stored kubeconfig naming this server (see src/kube/stored-kubeconfig.ts).
  process.env.KOPSLESS_KUBE_API = `http://127.0.0.1:${sim.port}`;
  return {
    sim,
    store,
    objects,
    awsTiming,
    clock,
    resetAws: async () => {
      // A new moto on the same port (the clients' endpoint): moto's own /moto-api/reset answers
      // 500 once a cluster has been created and deleted in it.
      // The sim's own sync loop would fail against the stopped moto (and say so) meanwhile.
      sim.pauseSync(true);
      stopMoto(moto.pid);
      for (let i = 0; i < 100 && isAlive(moto.pid); i++)
        await new Promise((resolve) => setTimeout(resolve, 100));
      moto = await startMoto({ dir, port: moto.port, detached: false });
      await createBucket();
      sim.backend.forgetInstances();
      sim.pauseSync(false);
    },
    stop: async () => {
      stopCounting();
      awsTiming.stop();
      await sim.close();
      stopMoto(moto.pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Node group names of a bench cluster: `nodes-00`, `nodes-01`, ... */
export const benchGroupName = (i: number) => `nodes-${String(i).padStart(2, '0')}`;

/** Zones of a bench cluster: five, so that five node groups can roll at once, none sharing a zone. */
export const BENCH_ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d', 'us-east-1e'];

/**
 * The seed cluster (one control-plane instance, the VPC CNI with prefix delegation) spread over BENCH_ZONES (one /19 subnet each in
 * its /16), with `groups` node groups holding `nodes` instances between them (the first groups
 * one larger), group i in zone i mod 5, each with the roll's maxSurge.
 */
export function benchManifest(
  cluster: string,
  request: Pick<RollRequest, 'nodes' | 'groups' | 'maxSurge'>,
): string {
  const seed = readFileSync(join(ROOT, 'test', 'fixtures', 'seed.yaml'), 'utf8').replaceAll(
    'seed.example.com',
    cluster,
  );
  const docs = parseAllDocuments(seed).map(
    (d) =>
      d.toJS() as {
        kind: string;
        metadata: { name: string; labels?: Record<string, string> };
        spec: Record<string, unknown>;
      },
  );
  const seedCluster = docs.find((d) => d.kind === 'Cluster')!;
  const clusterDoc = {
    ...seedCluster,
    spec: {
      ...seedCluster.spec,
      // Prefix delegation: a t3.medium then holds kubelet's 110 pods (17 with one IP a pod).
      networking: {
        amazonvpc: { env: [{ name: 'ENABLE_PREFIX_DELEGATION', value: 'true' }] },
      },
      subnets: BENCH_ZONES.map((zone, i) => ({
        cidr: `172.30.${i * 32}.0/19`,
        name: zone,
        type: 'Public',
        zone,
      })),
    },
  };
  const controlPlane = docs.filter((d) => d.kind === 'InstanceGroup' && d.spec.role !== 'Node');
  const template = docs.find((d) => d.kind === 'InstanceGroup' && d.spec.role === 'Node')!;
  const base = Math.floor(request.nodes / request.groups);
  const extra = request.nodes % request.groups;
  const nodeGroups = Array.from({ length: request.groups }, (_, i) => {
    const size = base + (i < extra ? 1 : 0);
    const zone = BENCH_ZONES[i % BENCH_ZONES.length]!;
    const name = benchGroupName(i);
    return {
      ...template,
      metadata: { ...template.metadata, name },
      spec: {
        ...template.spec,
        minSize: size,
        maxSize: size,
        subnets: [zone],
        nodeLabels: { 'kops.k8s.io/instancegroup': name },
        rollingUpdate: { maxSurge: request.maxSurge },
      },
    };
  });
  return [clusterDoc, ...controlPlane, ...nodeGroups].map((d) => stringify(d)).join('---\n');
}

/**
 * Runs `name` on the bench's SimClock and counts what it did: simulated seconds, the runner's
 * transitions (summed over every execution), largest history of any execution and Lambda
 * invocations; the AWS calls the handlers made (at the SDK, S3 included; the simulated API's own
 * reads of moto are not a handler's and are not counted), by function and operation; and each
 * Lambda attempt's real handler time (for GB-seconds).
 */
export async function measureRun(
  name: StateMachineName,
  options: Omit<RunOptions, 'clock'> & { clock: SimClock },
): Promise<{ result: LocalExecutionResult; measurement: RunMeasurement }> {
  let awsCalls = 0;
  const awsCallsBy = new Map<string, number>();
  let failedState: string | undefined;
  const statesEnteredBy = new Map<string, number>();
  const invocations: Invocation[] = [];
  const stopObserving = observeAwsCalls({
    before: (call) => {
      // Kubernetes requests in their Lambda envelope are not the stage's own AWS calls.
      if (carriesKubernetesRequest(call)) return;
      awsCalls += 1;
      const key = `${call.functionId} ${call.service}:${call.operation}`;
      awsCallsBy.set(key, (awsCallsBy.get(key) ?? 0) + 1);
    },
  });
  const began = performance.now();
  const simulatedStart = options.clock.elapsedSeconds();
  let result: LocalExecutionResult;
  try {
    result = await runStateMachine(name, {
      ...options,
      onProgress: (event) => {
        options.onProgress?.(event);
        if (event.kind === 'entered') {
          const key = `${event.stateMachine ?? name}:${event.state}`;
          statesEnteredBy.set(key, (statesEnteredBy.get(key) ?? 0) + 1);
        }
        if (event.kind === 'failed' || event.kind === 'caught')
          failedState ??= `${event.state}${event.stateMachine ? ` of ${event.stateMachine}` : ''}`;
      },
      onInvocation: (invocation) => {
        options.onInvocation?.(invocation);
        // BENCH_TRACE=1: every handler as it ends, to see where a long run's real time goes.
        if (process.env.BENCH_TRACE)
          process.stderr.write(
            `trace ${((performance.now() - began) / 1000).toFixed(1)}s sim+${(options.clock.elapsedSeconds() - simulatedStart).toFixed(0)}s ${invocation.stateMachine} ${invocation.state} ${invocation.ms.toFixed(0)}ms\n`,
          );
        invocations.push({
          functionId: invocation.functionId,
          ms: invocation.ms,
          state: `${invocation.stateMachine}:${invocation.state}`,
        });
      },
    });
  } finally {
    stopObserving();
  }
  if (
    result.maxHistoryEvents === undefined ||
    result.transitions === undefined ||
    result.lambdaInvocations === undefined ||
    !result.executions
  )
    throw new Error(`${name}: the local runner returned no counts`);
  return {
    result,
    measurement: {
      status: result.status,
      // The state that failed first names where a run stopped (a States.Timeout says only what).
      ...(result.error
        ? {
            error: {
              name: result.error.name,
              cause: `${failedState ? `in state ${failedState}: ` : ''}${result.error.cause}`,
            },
          }
        : {}),
      modelSeconds: options.clock.elapsedSeconds() - simulatedStart,
      transitions: result.transitions,
      maxHistoryEvents: result.maxHistoryEvents,
      lambdaInvocations: result.lambdaInvocations,
      maxStateBytes: result.maxStateBytes ?? 0,
      awsCalls,
      awsCallsBy: Object.fromEntries([...awsCallsBy].sort((a, b) => b[1] - a[1])),
      statesEnteredBy: Object.fromEntries([...statesEnteredBy].sort((a, b) => b[1] - a[1])),
      invocations,
      executions: result.executions.length,
      wallSeconds: (performance.now() - began) / 1000,
    },
  };
}

/** Seconds between two validations of `kopsless validate cluster --wait` (src/cli/validate.ts). */
export const VALIDATE_INTERVAL_SECONDS = 2;

/** What waiting for a new cluster to validate took on the bench's SimClock. */
export interface ValidationWait {
  /** Whether it validated before the timeout. */
  valid: boolean;
  /** Simulated seconds from the call until the cluster validated (or the timeout). */
  seconds: number;
  /** Validations made (the last one passed when `valid`). */
  checks: number;
  /** The last validation's first failures, when it never passed. */
  failures?: string[];
}

/**
 * `kopsless validate cluster NAME --wait`, on the bench's SimClock: the same validation
 * (src/stages/validate-cluster.ts: instance groups in service, every instance a Ready node,
 * the API records off the placeholder, kube-system's critical pods running) every
 * VALIDATE_INTERVAL_SECONDS until it passes or `timeoutSeconds` have passed.
 */
export async function waitUntilValid(
  cluster: string,
  backend: BenchBackend,
  timeoutSeconds = 1800,
): Promise<ValidationWait> {
  const { clock } = backend;
  const deps: ValidateDeps = {
    store: backend.store,
    autoscaling: autoScalingApi(new AutoScalingClient({})),
    stacks: cloudFormationStackApi(new CloudFormationClient({})),
    dns: route53Api(new Route53Client({})),
    kube: (name) =>
      kubeForCluster(backend.objects, name, { localKubeApi: process.env.KOPSLESS_KUBE_API }),
  };
  const started = clock.elapsedSeconds();
  for (let checks = 1; ; checks++) {
    const result = await clock.hold(() => validateCluster(cluster, deps));
    const seconds = clock.elapsedSeconds() - started;
    if (result.valid) return { valid: true, seconds, checks };
    if (seconds >= timeoutSeconds)
      return {
        valid: false,
        seconds,
        checks,
        failures: result.failures.slice(0, 3).map((f) => f.message),
      };
    await clock.sleep(VALIDATE_INTERVAL_SECONDS);
  }
}

/** Which runs of the lifecycle to measure after create (both by default). */
export interface LifecycleStages {
  roll?: boolean;
  delete?: boolean;
}

/**
 * The lifecycle of one cluster on the bench's SimClock: create it, let its nodes boot (so that
 * the roll starts from a healthy cluster, as the kOps model does), run `podsPerNode` workload
 * pods per node in Deployments of at most MAX_REPLICAS_PER_DEPLOYMENT replicas (so that drains
 * evict them all and wait drainSeconds), force-roll every node group with the request's
 * parallelGroups, delete it; each run measured.
 */
export async function localLifecycle(
  request: RollRequest,
  backend: BenchBackend,
  stages: LifecycleStages = {},
): Promise<{
  create: RunMeasurement;
  validation?: ValidationWait;
  stackSeconds?: number;
  roll?: RunMeasurement;
  delete?: RunMeasurement;
}> {
  const { clock } = backend;
  const cluster = `bench${request.nodes}.example.com`;
  const manifest = benchManifest(cluster, request);
  const { measurement: create } = await measureRun('create-cluster', {
    input: { manifest },
    clock,
  });
  if (create.status !== 'SUCCEEDED') return { create };
  // As a user runs `validate cluster --wait` after create (kOps's model ends the same way).
  const validation = await waitUntilValid(cluster, backend);
  const stackSeconds = [...backend.awsTiming.stacks().values()].sort(
    (a, b) => b.createdAt - a.createdAt,
  )[0]?.seconds;
  const created = { create, validation, ...(stackSeconds !== undefined ? { stackSeconds } : {}) };
  if (stages.roll === false) {
    if (stages.delete === false) return created;
    const { measurement: deleted } = await measureRun('delete-cluster', {
      input: { cluster },
      clock,
    });
    return { ...created, delete: deleted };
  }
  await backend.sim.backend.cluster(cluster, { fresh: true });
  await clock.sleep(request.bootSeconds);
  const sim = await backend.sim.backend.cluster(cluster, { fresh: true });
  if (!sim) throw new Error(`${cluster}: the simulated API has no such cluster after create`);
  // podsPerNode counts every pod a node runs: the DaemonSets' (aws-node, kube-proxy) fill it up too.
  const worker = [...sim.nodes.values()].find((n) =>
    n.metadata.labels?.['kops.k8s.io/instancegroup']?.startsWith('nodes-'),
  );
  const daemonPods = worker ? sim.podsOn(worker.metadata.name).length : 0;
  let replicas = request.nodes * Math.max(0, request.podsPerNode - daemonPods);
  for (let d = 0; replicas > 0; d++) {
    const app = `bench-workload-${d}`;
    const these = Math.min(replicas, MAX_REPLICAS_PER_DEPLOYMENT);
    // The bench adds its Deployments in-process: the caps the API server would apply still hold.
    const refusal = sim.replicasRefusal(these, 0);
    if (refusal) throw new Error(`${cluster}: Deployment ${app}: ${refusal}`);
    replicas -= these;
    sim.addDeployment({
      metadata: { name: app, namespace: 'default' },
      spec: {
        replicas: these,
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels: { app } },
          spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
        },
      },
    });
  }
  sim.tick();
  sim.reconcile();
  const instanceGroups = Array.from({ length: request.groups }, (_, i) => benchGroupName(i));
  const { measurement: roll } = await measureRun('rolling-update', {
    input: {
      cluster,
      instanceGroups,
      force: true,
      cloudOnly: false,
      parallelGroups: request.parallelGroups,
    },
    clock,
  });
  const { measurement: deleted } = await measureRun('delete-cluster', {
    input: { cluster },
    clock,
  });
  return { ...created, roll, delete: deleted };
}
