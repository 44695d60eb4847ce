import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { IAMClient } from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { clientConfig } from '../aws/clients.js';
import { inventoryApi } from '../aws/inventory.js';
import { route53Api } from '../aws/route53.js';
import type { Config } from '../config.js';
import { stageHandler, stageLogger } from '../lambda.js';
import { deleteCluster } from '../stages/delete-cluster.js';
import type { DeleteInput } from '../stages/inputs.js';
import { DELETE_EVENT } from '../stages/inputs.js';
import { s3SecretVersions } from '../state/secret-versions.js';
import { clusterAdapters } from './adapters.js';
import type { HandlerRuntime } from './runtime.js';

/** Delete stack: groups and instances, leftover ENIs, the stack, DNS, then the state store. */
export function createDeleteClusterHandler(config: Config, runtime: HandlerRuntime = {}) {
  const aws = clientConfig(runtime.aws);
  const { ec2Client, ...adapters } = clusterAdapters(config.stateBucket, aws);
  const route53 = new Route53Client(aws);
  const deps = {
    ...adapters,
    inventory: inventoryApi({
      ec2: ec2Client,
      autoscaling: new AutoScalingClient(aws),
      iam: new IAMClient(aws),
      route53,
    }),
    dns: route53Api(route53),
    ...(config.cloudFormationRoleArn
      ? { cloudFormationRoleArn: config.cloudFormationRoleArn }
      : {}),
    secretVersions: s3SecretVersions(new S3Client(aws), config.stateBucket),
    stackTimeoutSeconds: config.stackTimeoutSeconds,
    groupsTimeoutSeconds: config.groupsTimeoutSeconds,
  };
  return stageHandler(
    stageLogger('delete-cluster', runtime.logLevel),
    async (event: DeleteInput) => deleteCluster(event, deps),
    DELETE_EVENT,
  );
}
