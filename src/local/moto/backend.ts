import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import type { AwsClientSettings } from '../../aws/clients.js';
import { ClusterStore } from '../../state/cluster-store.js';
import { s3ObjectStore } from '../../state/object-store.js';
import {
  ensureMotoPython,
  freePort,
  isAlive,
  isAnswering,
  LocalBackendError,
  startMoto,
  stopMoto,
} from './moto.js';
import { ensureSecretsKey } from './secrets-key.js';
import { ensureClusterStackPolicies } from './stack-policies.js';

/**
 * The local backend: one moto_server and one simulated Kubernetes API server on 127.0.0.1 that
 * outlive single CLI commands, recorded in `$KOPSLESS_HOME/local/backend.json` (default
 * `~/.kopsless`), plus the state bucket in moto.
 */

/** The region of a backend started for no cluster in particular (`local up`, the demo). */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_STATE_BUCKET = 'kopsless-state-local';

export interface BackendRecord {
  pid: number;
  port: number;
  endpoint: string;
  /** The simulated Kubernetes API server (a detached node process). */
  kubePid: number;
  kubePort: number;
  startedAt: string;
  stateBucket: string;
  region: string;
  /** The secrets key's alias ARN (template.yaml's SecretsKeyAlias): every secret is written under it. */
  secretsKeyArn?: string;
}

export function kopslessHome(env: Record<string, string | undefined> = process.env): string {
  return env.KOPSLESS_HOME ?? join(homedir(), '.kopsless');
}

function localDir(): string {
  const dir = join(kopslessHome(), 'local');
  mkdirSync(dir, { recursive: true });
  return dir;
}

function recordPath(): string {
  return join(localDir(), 'backend.json');
}

export function readBackendRecord(): BackendRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(), 'utf8')) as BackendRecord;
  } catch {
    return undefined;
  }
}

/** moto takes any credentials; these name where a call came from in its logs. */
const LOCAL_CREDENTIALS = { accessKeyId: 'kopsless-local', secretAccessKey: 'kopsless-local' };

/** What an SDK client in this process is given to talk to the local backend (nothing goes through process.env). */
export function backendClientSettings(record: BackendRecord): AwsClientSettings {
  return {
    endpoint: record.endpoint,
    region: record.region,
    credentials: { ...LOCAL_CREDENTIALS },
  };
}

/** The environment another process (the AWS CLI, the simulated Kubernetes API) needs to talk to the local backend. */
export function backendEnv(record: BackendRecord): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: record.endpoint,
    AWS_REGION: record.region,
    AWS_DEFAULT_REGION: record.region,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    KOPSLESS_STATE_BUCKET: record.stateBucket,
    ...(record.secretsKeyArn ? { SECRETS_KEY_ARN: record.secretsKeyArn } : {}),
    // The simulated Kubernetes API; each cluster is under /clusters/<name> (see `kopsless local kubeconfig`).
    KOPSLESS_KUBE_API: `http://127.0.0.1:${record.kubePort}`,
  };
}

/** True when the recorded backend is still running and answering. */
export async function backendRunning(record = readBackendRecord()): Promise<boolean> {
  return (
    !!record &&
    isAlive(record.pid) &&
    isAlive(record.kubePid) &&
    (await isAnswering(record.endpoint))
  );
}

/**
 * Starts the simulated Kubernetes API server as a detached process of its own (it outlives the
 * CLI command, as moto does), pointed at the backend, and waits until it answers.
 */
async function startKubeSimProcess(
  record: Omit<BackendRecord, 'kubePid' | 'kubePort'>,
): Promise<{ pid: number; port: number }> {
  const port = await freePort();
  const log = openSync(join(localDir(), 'kube-sim.log'), 'a');
  const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'kube-sim', 'main.ts');
  const child = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', main], {
    detached: true,
    stdio: ['ignore', log, log],
    cwd: join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'),
    env: {
      ...process.env,
      ...backendEnv({ ...record, kubePid: 0, kubePort: port }),
      STATE_BUCKET: record.stateBucket,
      KOPSLESS_KUBE_PORT: String(port),
    },
  });
  closeSync(log);
  child.unref();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/clusters/-/version`, {
        signal: AbortSignal.timeout(1000),
      });
      if (response.status === 404) return { pid: child.pid ?? 0, port };
    } catch {
      // not listening yet
    }
    if (!isAlive(child.pid ?? 0)) break;
    await sleep(200);
  }
  stopMoto(child.pid ?? 0);
  throw new LocalBackendError(
    `the simulated Kubernetes API server did not start (see ${join(localDir(), 'kube-sim.log')})`,
  );
}

async function createStateBucket(record: BackendRecord): Promise<void> {
  // The bucket is made before the simulated API server starts; it needs only the endpoint.
  const s3 = new S3Client(backendClientSettings(record));
  try {
    await s3.send(new CreateBucketCommand({ Bucket: record.stateBucket }));
  } catch (error) {
    if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes((error as Error).name))
      throw error;
  }
  await s3.send(
    new PutBucketVersioningCommand({
      Bucket: record.stateBucket,
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  );
  s3.destroy();
}

/**
 * Starts the backend unless it runs already; returns it and whether it was started now. moto runs
 * on `KOPSLESS_PYTHON` (default python3) or, when that cannot import moto, on a virtualenv made
 * under KOPSLESS_HOME; `log` says so (stderr). `region` (a cluster's zones') is the region it
 * serves: a new backend starts in it (LOCAL_REGION without one), a running one that holds no
 * cluster moves to it, and one holding clusters of another region refuses (LocalBackendError).
 */
export async function backendUp(
  log: (line: string) => void = (l) => console.error(l),
  region?: string,
): Promise<{ record: BackendRecord; started: boolean }> {
  const existing = readBackendRecord();
  if (existing && (await backendRunning(existing))) {
    // A backend started by an earlier version may lack them.
    await ensureClusterStackPolicies(backendClientSettings(existing), existing.region);
    if (region === undefined || region === existing.region)
      return { record: existing, started: false };
    return { record: await moveBackend(existing, region, log), started: false };
  }
  if (existing) stopBackendProcesses(existing);
  const python = await ensureMotoPython({
    home: kopslessHome(),
    python: process.env.KOPSLESS_PYTHON || undefined,
    log,
  });
  const moto = await startMoto({ dir: localDir(), python });
  const base = {
    pid: moto.pid,
    port: moto.port,
    endpoint: moto.endpoint,
    startedAt: new Date().toISOString(),
    stateBucket: LOCAL_STATE_BUCKET,
    region: region ?? LOCAL_REGION,
  };
  await createStateBucket({ ...base, kubePid: 0, kubePort: 0 });
  const secretsKeyArn = await ensureSecretsKey(
    backendClientSettings({ ...base, kubePid: 0, kubePort: 0 }),
  );
  // The managed policies of the clusters' stack roles, as template.yaml's deployment has them.
  await ensureClusterStackPolicies(
    backendClientSettings({ ...base, kubePid: 0, kubePort: 0 }),
    base.region,
  );
  const kube = await startKubeSimProcess({ ...base, secretsKeyArn });
  const record: BackendRecord = { ...base, secretsKeyArn, kubePid: kube.pid, kubePort: kube.port };
  writeFileSync(recordPath(), JSON.stringify(record, null, 2));
  return { record, started: true };
}

/**
 * The clusters the backend's state store holds. One backend serves one region: its functions,
 * its simulated Kubernetes API and its secrets key are in that region.
 */
async function clustersInStore(record: BackendRecord): Promise<string[]> {
  const s3 = new S3Client(backendClientSettings(record));
  try {
    return await new ClusterStore(s3ObjectStore(s3, record.stateBucket)).listClusters();
  } finally {
    s3.destroy();
  }
}

/**
 * Points a running backend that holds no cluster at another region, as kOps takes the region
 * from the zones: moto serves every region on one endpoint, and S3 and Route 53 (the bucket,
 * the user's hosted zones) are global, so only the regional pieces follow: the secrets key and
 * the simulated Kubernetes API (it reads the instances of its region). A backend that holds
 * clusters stays where they are, and the command is refused.
 */
async function moveBackend(
  record: BackendRecord,
  region: string,
  log: (line: string) => void,
): Promise<BackendRecord> {
  const clusters = await clustersInStore(record);
  if (clusters.length > 0)
    throw new LocalBackendError(
      `the local backend runs in ${record.region} for clusters ${clusters.join(', ')}, and one local backend serves one region: delete them, or use another KOPSLESS_HOME, to create a cluster in ${region}`,
    );
  const { kubePid: _pid, kubePort: _port, ...base } = { ...record, region };
  const secretsKeyArn = await ensureSecretsKey(
    backendClientSettings({ ...base, kubePid: 0, kubePort: 0 }),
  );
  stopMoto(record.kubePid);
  const kube = await startKubeSimProcess({ ...base, secretsKeyArn });
  const moved: BackendRecord = { ...base, secretsKeyArn, kubePid: kube.pid, kubePort: kube.port };
  writeFileSync(recordPath(), JSON.stringify(moved, null, 2));
  log(`the local backend holds no cluster: it now serves ${region} (the zones' region)`);
  return moved;
}

function stopBackendProcesses(record: BackendRecord): void {
  stopMoto(record.kubePid);
  stopMoto(record.pid);
}

/** Stops the backend and forgets its state. Returns false when none was running. */
export function backendDown(): boolean {
  const record = readBackendRecord();
  if (!record) return false;
  stopBackendProcesses(record);
  rmSync(recordPath(), { force: true });
  return true;
}
