import { simKubeconfig } from '../local/kube-sim/aws-backend.js';
import {
  backendDown,
  backendEnv,
  backendRunning,
  backendUp,
  readBackendRecord,
} from '../local/moto/backend.js';
import type { CliContext } from './context.js';

type Io = { out: (line: string) => void; err: (line: string) => void };

/** `kopsless local up`: start the backend (or find it running). */
export async function runLocalUp(io: Io): Promise<number> {
  const { record, started } = await backendUp(io.err);
  io.out(
    `${started ? 'started' : 'already running'}: moto (pid ${record.pid}) at ${record.endpoint}, state bucket s3://${record.stateBucket}`,
  );
  io.out('use it from the AWS CLI with: eval "$(kopsless local env)"');
  return 0;
}

/** `kopsless local down`: stop the backend; everything in it is gone. */
export function runLocalDown(io: Io): number {
  const record = readBackendRecord();
  if (!backendDown()) {
    io.out('the local backend is not running');
    return 0;
  }
  io.out(`stopped the local backend (moto pid ${record?.pid})`);
  return 0;
}

/** `kopsless local env`: shell exports for the AWS CLI and SDKs. */
export async function runLocalEnv(io: Io): Promise<number> {
  const record = readBackendRecord();
  if (!record || !(await backendRunning(record))) {
    io.err('the local backend is not running: start it with `kopsless local up`');
    return 1;
  }
  for (const [k, v] of Object.entries(backendEnv(record))) io.out(`export ${k}=${v}`);
  return 0;
}

/** `kopsless local kubeconfig [CLUSTER]`: a kubeconfig for the simulated API server (for kubectl). */
export async function runLocalKubeconfig(
  cluster: string | undefined,
  ctx: CliContext,
  io: Io,
): Promise<number> {
  const names = cluster ? [cluster] : await ctx.store.listClusters();
  if (names.length === 0) {
    io.err('no clusters in the local state store: create one first');
    return 1;
  }
  if (names.length > 1) {
    io.err(`several clusters: name one of ${names.join(', ')}`);
    return 2;
  }
  const name = names[0]!;
  if (!(await ctx.store.exists(name))) {
    io.err(`cluster "${name}" not found`);
    return 1;
  }
  io.out(
    simKubeconfig(name, `http://127.0.0.1:${ctx.backend.kubePort}/clusters/${name}`).trimEnd(),
  );
  return 0;
}
