import { EC2Client, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { cloudFormationStackApi } from '../src/aws/cloudformation.js';
import { ec2Api } from '../src/aws/ec2.js';
import { readConfig } from '../src/config.js';
import { isAwsErrorCode } from '../src/errors.js';
import { kubeForCluster } from '../src/kube/from-store.js';
import { stageHandler, stageLogger } from '../src/lambda.js';
import { DEFAULT_WATCHER_SETTINGS } from '../src/planning/eni-decision.js';
import { CLUSTER_TAG } from '../src/planning/names.js';
import { clustersForEvent, watchCluster, type WatcherResult } from '../src/stages/eni-watcher.js';
import { ClusterStore } from '../src/state/cluster-store.js';
import { s3ObjectStore } from '../src/state/object-store.js';

const config = readConfig(process.env);
const objects = s3ObjectStore(new S3Client({}), config.stateBucket);
const ec2Client = new EC2Client({});
const sfn = new SFNClient({});
const deps = {
  store: new ClusterStore(objects),
  objects,
  stacks: cloudFormationStackApi(new CloudFormationClient({})),
  ec2: ec2Api(ec2Client),
  ec2Client,
  kube: (cluster: string) => kubeForCluster(objects, cluster),
  settings: { ...DEFAULT_WATCHER_SETTINGS, threshold: config.watcher.threshold, cooldownSeconds: config.watcher.cooldownSeconds },
};
const logger = stageLogger('watch-eni');

async function clusterOfInstance(instanceId: string): Promise<string | undefined> {
  const out = await ec2Client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return out.Reservations?.[0]?.Instances?.[0]?.Tags?.find((t) => t.Key === CLUSTER_TAG)?.Value;
}

/** Starts the update + rolling update the watcher asked for; the execution name makes a retry start nothing twice. */
async function start(result: WatcherResult): Promise<string | undefined> {
  if (!result.start || !config.watcher.rollingUpdateStateMachineArn) return undefined;
  try {
    const out = await sfn.send(new StartExecutionCommand({ stateMachineArn: config.watcher.rollingUpdateStateMachineArn, name: result.start.name, input: JSON.stringify(result.start.input) }));
    return out.executionArn;
  } catch (error) {
    if (isAwsErrorCode(error, 'ExecutionAlreadyExists')) return `${config.watcher.rollingUpdateStateMachineArn.replace(':stateMachine:', ':execution:')}:${result.start.name}`;
    throw error;
  }
}

/** ENI capacity watcher: on a schedule and on EC2 instance state changes, per cluster. */
export const handler = stageHandler(logger, async (event: unknown) => {
  const dryRun = config.watcher.dryRun || (event as { dryRun?: boolean }).dryRun === true;
  const results = [];
  for (const cluster of await clustersForEvent(event, { store: deps.store, clusterOfInstance })) {
    const result = await watchCluster(cluster, deps, { dryRun });
    const execution = await start(result);
    logger.info('eni watcher decision', { decision: result.decision, dryRun, execution });
    results.push({ ...result, ...(execution ? { execution } : {}) });
  }
  return { results };
});
