import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { executionsApi } from '../src/aws/sfn.js';
import { readConfig } from '../src/config.js';
import { stageHandler, stageLogger } from '../src/lambda.js';
import { writeState, type WriteStateInput } from '../src/stages/write-state.js';
import { ClusterStore } from '../src/state/cluster-store.js';
import { s3ObjectStore } from '../src/state/object-store.js';
import { WRITE_STATE_EVENT } from '../src/stages/inputs.js';

const config = readConfig(process.env);
const store = new ClusterStore(s3ObjectStore(new S3Client({}), config.stateBucket));
const executions = executionsApi(new SFNClient({}));
const onLambda = Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME);
const logger = stageLogger('write-state');

/** Write S3 state: the cluster lock, the spec in kOps's layout, status.json. */
export const handler = stageHandler(logger, async (event: WriteStateInput) => writeState(event, {
    store,
    lockLeaseSeconds: config.lockLeaseSeconds,
    // A lock held by an ended execution is taken over. Only in a real Lambda (the runtime sets
    // AWS_LAMBDA_FUNCTION_NAME): the local runner's executions are not Step Functions', and its
    // locks are judged by their holder process instead.
    ...(onLambda ? { executionStatus: async (executionArn: string) => (await executions.describe(executionArn))?.status } : {}),
  }), WRITE_STATE_EVENT);
