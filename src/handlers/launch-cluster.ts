import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { autoScalingApi } from '../aws/autoscaling.js';
import { clientConfig } from '../aws/clients.js';
import { cloudFormationStackApi } from '../aws/cloudformation.js';
import { ec2Api } from '../aws/ec2.js';
import type { Config } from '../config.js';
import { stageHandler, stageLogger } from '../lambda.js';
import { launch, type LaunchInput } from '../stages/launch.js';
import { ClusterStore } from '../state/cluster-store.js';
import { s3ObjectStore } from '../state/object-store.js';
import { LAUNCH_EVENT } from '../stages/inputs.js';
import type { HandlerRuntime } from './runtime.js';

/** Launch ASGs: the cluster stack, then a launch template and Auto Scaling group per instance group. */
export function createLaunchClusterHandler(config: Config, runtime: HandlerRuntime = {}) {
  const aws = clientConfig(runtime.aws);
  const deps = {
    store: new ClusterStore(s3ObjectStore(new S3Client(aws), config.stateBucket)),
    stacks: cloudFormationStackApi(new CloudFormationClient(aws)),
    ec2: ec2Api(new EC2Client(aws)),
    autoscaling: autoScalingApi(new AutoScalingClient(aws)),
    stateBucket: config.stateBucket,
    region: config.region,
    stackTimeoutSeconds: config.stackTimeoutSeconds,
    groupsTimeoutSeconds: config.groupsTimeoutSeconds,
  };
  const logger = stageLogger('launch-cluster', runtime.logLevel);
  return stageHandler(logger, async (event: LaunchInput) => launch(event, deps), LAUNCH_EVENT);
}
