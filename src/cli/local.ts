import { backendDown, backendEnv, backendRunning, backendUp, readBackendRecord } from '../local/backend.js';

type Io = { out: (line: string) => void; err: (line: string) => void };

/** `kopsless local up`: start the backend (or find it running). */
export async function runLocalUp(io: Io): Promise<number> {
  const { record, started } = await backendUp();
  io.out(`${started ? 'started' : 'already running'}: moto (pid ${record.pid}) at ${record.endpoint}, state bucket s3://${record.stateBucket}`);
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
