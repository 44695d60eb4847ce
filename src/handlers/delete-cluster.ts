import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { clientConfig } from '../aws/clients.js';
import { cloudFormationStackApi } from '../aws/cloudformation.js';
import { ec2Api } from '../aws/ec2.js';
import { inventoryApi } from '../aws/inventory.js';
import type { Config } from '../config.js';
import { stageHandler, stageLogger } from '../lambda.js';
import { deleteCluster, type DeleteInput } from '../stages/delete-cluster.js';
import { ClusterStore } from '../state/cluster-store.js';
import { s3ObjectStore } from '../state/object-store.js';
import { DELETE_EVENT } from '../stages/inputs.js';
import type { HandlerRuntime } from './runtime.js';

/** Delete stack: groups and instances, leftover ENIs, the stack, DNS, then the state store. */
export function createDeleteClusterHandler(config: Config, runtime: HandlerRuntime = {}) {
  const aws = clientConfig(runtime.aws);
  const ec2Client = new EC2Client(aws);
  const deps = {
    store: new ClusterStore(s3ObjectStore(new S3Client(aws), config.stateBucket)),
    stacks: cloudFormationStackApi(new CloudFormationClient(aws)),
    ec2: ec2Api(ec2Client),
    ec2Client,
    inventory: inventoryApi({ ec2: ec2Client, autoscaling: new AutoScalingClient(aws), iam: new IAMClient(aws), route53: new Route53Client(aws) }),
    stackTimeoutSeconds: config.stackTimeoutSeconds,
    groupsTimeoutSeconds: config.groupsTimeoutSeconds,
  };
  const logger = stageLogger('delete-cluster', runtime.logLevel);
  return stageHandler(logger, async (event: DeleteInput) => deleteCluster(event, deps), DELETE_EVENT);
}
