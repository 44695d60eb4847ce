import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { autoScalingApi } from '../src/aws/autoscaling.js';
import { cloudFormationStackApi } from '../src/aws/cloudformation.js';
import { ec2Api } from '../src/aws/ec2.js';
import { readConfig } from '../src/config.js';
import { stageHandler, stageLogger } from '../src/lambda.js';
import { launch, type LaunchInput } from '../src/stages/launch.js';
import { ClusterStore } from '../src/state/cluster-store.js';
import { s3ObjectStore } from '../src/state/object-store.js';
import { LAUNCH_EVENT } from '../src/stages/inputs.js';

const config = readConfig(process.env);
const deps = {
  store: new ClusterStore(s3ObjectStore(new S3Client({}), config.stateBucket)),
  stacks: cloudFormationStackApi(new CloudFormationClient({})),
  ec2: ec2Api(new EC2Client({})),
  autoscaling: autoScalingApi(new AutoScalingClient({})),
  stateBucket: config.stateBucket,
  region: config.region,
  stackTimeoutSeconds: config.stackTimeoutSeconds,
  groupsTimeoutSeconds: config.groupsTimeoutSeconds,
};
const logger = stageLogger('launch-cluster');

/** Launch ASGs: the cluster stack, then a launch template and Auto Scaling group per instance group. */
export const handler = stageHandler(logger, async (event: LaunchInput) => launch(event, deps), LAUNCH_EVENT);
