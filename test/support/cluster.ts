import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { autoScalingApi } from '../../src/aws/autoscaling.js';
import { clientConfig } from '../../src/aws/clients.js';
import { cloudFormationStackApi } from '../../src/aws/cloudformation.js';
import { clusterApiClient } from '../../src/aws/cluster-api-lambda.js';
import { route53Api } from '../../src/aws/route53.js';
import { type KubeServerSettings, kubeForCluster } from '../../src/kube/from-store.js';
import { remoteEtcd } from '../../src/kube/remote-etcd.js';
import type { SimTiming } from '../../src/local/kube-sim/cluster.js';
import { type KubeSim, startKubeSim } from '../../src/local/kube-sim/index.js';
import { localSettingsFromEnv } from '../../src/local/sfn/handlers.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import type { EtcdOf } from '../../src/stages/etcd-membership.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { type ObjectStore, s3ObjectStore } from '../../src/state/object-store.js';
import { startTestBackend, type TestBackend } from './moto.js';

/** moto, the simulated API server (in this process) and a state store: a whole local backend for one test file. */
export interface TestEnvironment {
  backend: TestBackend;
  sim: KubeSim;
  objects: ObjectStore;
  store: ClusterStore;
  /** Where the simulated API serves each cluster, as the handlers are told (kubeForCluster's settings). */
  kubeServers: KubeServerSettings;
  stop(): Promise<void>;
}

/** `timing`: the simulated API's boot and drain delays (see SimTiming); off unless given. */
export async function startTestEnvironment(
  options: { timing?: SimTiming } = {},
): Promise<TestEnvironment> {
  const backend = await startTestBackend();
  // The simulated control plane publishes its kubeconfig and etcd client under the secrets key.
  const objects = s3ObjectStore(new S3Client({}), backend.bucket, {
    secretsKey: process.env.SECRETS_KEY_ARN,
  });
  const store = new ClusterStore(objects);
  const sim = await startKubeSim({
    ec2: new EC2Client({}),
    store,
    objects,
    ...(options.timing ? { timing: options.timing } : {}),
  });
  // As `kopsless local up` tells its handlers: the one plain-HTTP server a stored kubeconfig may name.
  const localKubeApi = `http://127.0.0.1:${sim.port}`;
  process.env.KOPSLESS_KUBE_API = localKubeApi;
  return {
    backend,
    sim,
    objects,
    store,
    kubeServers: { localKubeApi },
    stop: async () => {
      await sim.close();
      backend.stop();
    },
  };
}

/** Runs the create state machine for a manifest and waits for the cluster's kubeconfig. */
export async function createCluster(
  env: TestEnvironment,
  manifest: string,
  cluster: string,
): Promise<void> {
  const result = await runStateMachine('create-cluster', { input: { manifest }, waitMs: 20 });
  if (result.status !== 'SUCCEEDED')
    throw new Error(`create failed: ${result.error?.name}: ${result.error?.cause}`);
  await env.sim.backend.cluster(cluster);
}

/** Writes the cluster's kubeconfig to a file kubectl can use. */
export function kubeconfigFile(env: TestEnvironment, cluster: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kopsless-kubeconfig-'));
  const path = join(dir, 'config');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: c, cluster: {server: "${env.sim.urlFor(cluster)}", insecure-skip-tls-verify: true}}]`,
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: c, context: {cluster: c, user: u}}]',
      'current-context: c',
      '',
    ].join('\n'),
  );
  return path;
}

/**
 * Runs the real kubectl without blocking this process: the simulated API server it talks to
 * runs in the same event loop.
 */
export async function kubectlIn(
  kubeconfig: string,
  args: string[],
  input?: string,
): Promise<string> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`kubectl ${args.join(' ')} exited ${code}: ${stderr}`)),
    );
    child.stdin.end(input ?? '');
  });
}

/** What `validateCluster` reads, against the environment's backend and simulated API. */
export function validationDeps(env: TestEnvironment) {
  return {
    store: env.store,
    autoscaling: autoScalingApi(new AutoScalingClient({})),
    stacks: cloudFormationStackApi(new CloudFormationClient({})),
    dns: route53Api(new Route53Client({})),
    kube: (name: string) => kubeForCluster(env.objects, name, env.kubeServers),
    etcd: etcdThroughClusterApi(),
  };
}

/**
 * The etcd of a cluster as the rolling update reaches it: through the cluster's API function,
 * which alone may dial the member API (from the cluster's VPC side of the simulated API).
 */
export function etcdThroughClusterApi(): EtcdOf {
  const settings = localSettingsFromEnv(process.env);
  const invoke = clusterApiClient(
    clientConfig(settings.runtime?.aws),
    settings.runtime?.lambdaTransport,
  );
  return async (cluster) => remoteEtcd(cluster, invoke);
}
