import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { clientConfig } from '../aws/clients.js';
import { executionsApi } from '../aws/sfn.js';
import type { Config } from '../config.js';
import { stageHandler, stageLogger } from '../lambda.js';
import type { WriteStateInput } from '../stages/inputs.js';
import { WRITE_STATE_EVENT } from '../stages/inputs.js';
import { writeState } from '../stages/write-state.js';
import { ClusterStore } from '../state/cluster-store.js';
import { s3ObjectStore } from '../state/object-store.js';
import type { HandlerRuntime } from './runtime.js';

/** Write S3 state: the cluster lock, the spec in kOps's layout, status.json. */
export function createWriteStateHandler(config: Config, runtime: HandlerRuntime = {}) {
  const aws = clientConfig(runtime.aws);
  const store = new ClusterStore(s3ObjectStore(new S3Client(aws), config.stateBucket));
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
