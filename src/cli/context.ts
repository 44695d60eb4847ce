import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { ec2Api } from '../aws/ec2.js';
import { backendUp, useBackend, type BackendRecord } from '../local/backend.js';
import { ClusterStore } from '../state/cluster-store.js';
import { s3ObjectStore } from '../state/object-store.js';

export interface CliContext {
  backend: BackendRecord;
  store: ClusterStore;
  ec2: ReturnType<typeof ec2Api>;
  region: string;
  stateBucket: string;
}

/**
 * The local backend for a command that needs AWS: started when it is not running (and said so
 * on stderr), then this process's SDK clients and the handlers it imports point at it.
 */
export async function localContext(log: (line: string) => void = (l) => console.error(l)): Promise<CliContext> {
  const { record, started } = await backendUp();
  if (started) log(`started the local backend (moto) at ${record.endpoint}; stop it with: kopsless local down`);
  useBackend(record);
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.STACK_TIMEOUT_SECONDS ??= '120';
  process.env.GROUPS_TIMEOUT_SECONDS ??= '120';
  process.env.DNS_TIMEOUT_SECONDS ??= '60';
  return {
    backend: record,
    store: new ClusterStore(s3ObjectStore(new S3Client({}), record.stateBucket)),
    ec2: ec2Api(new EC2Client({})),
    region: record.region,
    stateBucket: record.stateBucket,
  };
}
