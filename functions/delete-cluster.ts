import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { cloudFormationStackApi } from '../src/aws/cloudformation.js';
import { ec2Api } from '../src/aws/ec2.js';
import { inventoryApi } from '../src/aws/inventory.js';
import { readConfig } from '../src/config.js';
import { stageHandler, stageLogger } from '../src/lambda.js';
import { deleteCluster, type DeleteInput } from '../src/stages/delete-cluster.js';
import { ClusterStore } from '../src/state/cluster-store.js';
import { s3ObjectStore } from '../src/state/object-store.js';
import { DELETE_EVENT } from '../src/stages/inputs.js';

const config = readConfig(process.env);
const ec2Client = new EC2Client({});
const deps = {
  store: new ClusterStore(s3ObjectStore(new S3Client({}), config.stateBucket)),
  stacks: cloudFormationStackApi(new CloudFormationClient({})),
  ec2: ec2Api(ec2Client),
  inventory: inventoryApi({ ec2: ec2Client, autoscaling: new AutoScalingClient({}), iam: new IAMClient({}), route53: new Route53Client({}) }),
  stackTimeoutSeconds: config.stackTimeoutSeconds,
  groupsTimeoutSeconds: config.groupsTimeoutSeconds,
};
const logger = stageLogger('delete-cluster');

/** Delete stack: groups and instances, leftover ENIs, the stack, DNS, then the state store. */
export const handler = stageHandler(logger, async (event: DeleteInput) => deleteCluster(event, deps), DELETE_EVENT);
