import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { clientConfig } from '../aws/clients.js';
import { perCluster } from '../aws/cluster-credentials.js';
import { executionsApi } from '../aws/sfn.js';
import { type Config, secretsKeyOption } from '../config.js';
import { stageHandler, stageLogger } from '../lambda.js';
import type { WriteStateInput } from '../stages/inputs.js';
import { WRITE_STATE_EVENT } from '../stages/inputs.js';
import { writeState } from '../stages/write-state.js';
import { ClusterStore } from '../state/cluster-store.js';
import { s3ObjectStore } from '../state/object-store.js';
import { perClusterObjectStore } from '../state/per-cluster-object-store.js';
import type { HandlerRuntime } from './runtime.js';

/** Write S3 state: the cluster lock, the spec in kOps's layout, status.json. */
export function createWriteStateHandler(config: Config, runtime: HandlerRuntime = {}) {
  const aws = clientConfig(runtime.aws);
  // Each key goes to the store of its cluster, reached with that cluster's credentials only.
  const store = new ClusterStore(
    perClusterObjectStore(
      perCluster(
        aws,
        { sessionPrefix: 'write-state', roleArn: config.clusterActorRoleArn },
        (settings) =>
          s3ObjectStore(new S3Client(settings), config.stateBucket, secretsKeyOption(config)),
      ),
    ),
  );
  const executions = executionsApi(new SFNClient(aws));
  return stageHandler(
    stageLogger('write-state', runtime.logLevel),
    async (event: WriteStateInput) =>
      writeState(event, {
        store,
        lockLeaseSeconds: config.lockLeaseSeconds,
        // A lock held by an ended execution is taken over. Only in a real Lambda: the local
        // runner's executions are not Step Functions', and its locks are judged by their holder
        // process instead.
        ...(runtime.onLambda
          ? {
              executionStatus: async (executionArn: string) =>
                (await executions.describe(executionArn))?.status,
            }
          : {}),
      }),
    WRITE_STATE_EVENT,
  );
}
