import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isAlive, isAnswering, startMoto, stopMoto } from './moto.js';

/**
 * The local backend: one moto_server on 127.0.0.1 that outlives single CLI commands, recorded
 * in `$KOPSLESS_HOME/local/backend.json` (default `~/.kopsless`), plus the state bucket in it.
 */

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_STATE_BUCKET = 'kopsless-state-local';

export interface BackendRecord {
  pid: number;
  port: number;
  endpoint: string;
  startedAt: string;
  stateBucket: string;
  region: string;
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

/** The environment the AWS SDK (and the AWS CLI) needs to talk to the local backend. */
export function backendEnv(record: BackendRecord): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: record.endpoint,
    AWS_REGION: record.region,
    AWS_DEFAULT_REGION: record.region,
    AWS_ACCESS_KEY_ID: 'kopsless-local',
    AWS_SECRET_ACCESS_KEY: 'kopsless-local',
    KOPSLESS_STATE_BUCKET: record.stateBucket,
  };
}

/** True when the recorded backend is still running and answering. */
export async function backendRunning(record = readBackendRecord()): Promise<boolean> {
  return !!record && isAlive(record.pid) && (await isAnswering(record.endpoint));
}

async function createStateBucket(record: BackendRecord): Promise<void> {
  const env = backendEnv(record);
  const s3 = new S3Client({
    endpoint: record.endpoint,
    region: record.region,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: record.stateBucket }));
  } catch (error) {
    if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes((error as Error).name)) throw error;
  }
  await s3.send(new PutBucketVersioningCommand({ Bucket: record.stateBucket, VersioningConfiguration: { Status: 'Enabled' } }));
  s3.destroy();
}

/** Starts the backend unless it runs already; returns it and whether it was started now. */
export async function backendUp(): Promise<{ record: BackendRecord; started: boolean }> {
  const existing = readBackendRecord();
  if (existing && (await backendRunning(existing))) return { record: existing, started: false };
  const moto = await startMoto({ dir: localDir() });
  const record: BackendRecord = { pid: moto.pid, port: moto.port, endpoint: moto.endpoint, startedAt: new Date().toISOString(), stateBucket: LOCAL_STATE_BUCKET, region: LOCAL_REGION };
  await createStateBucket(record);
  writeFileSync(recordPath(), JSON.stringify(record, null, 2));
  return { record, started: true };
}

/** Stops the backend and forgets its state. Returns false when none was running. */
export function backendDown(): boolean {
  const record = readBackendRecord();
  if (!record) return false;
  stopMoto(record.pid);
  rmSync(recordPath(), { force: true });
  return true;
}

/** Points this process's AWS SDK clients (and the handlers it imports) at the backend. */
export function useBackend(record: BackendRecord): void {
  Object.assign(process.env, backendEnv(record), { STATE_BUCKET: record.stateBucket });
}
