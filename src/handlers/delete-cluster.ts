import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { IAMClient } from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { clientConfig } from '../aws/clients.js';
import { perCluster } from '../aws/cluster-credentials.js';
import { inventoryApi } from '../aws/inventory.js';
import { route53Api } from '../aws/route53.js';
import { iamStackRoleApi } from '../aws/stack-role.js';
import { clusterZoneVpcApi } from '../aws/zone-vpc.js';
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
  // Every call is for the event's cluster: made with credentials that reach only that cluster.
  const actor = { sessionPrefix: 'delete', roleArn: config.clusterActorRoleArn };
  const depsOf = perCluster(aws, actor, (settings, cluster) => {
    const { ec2Client, ...adapters } = clusterAdapters(config.stateBucket, settings);
    const route53 = new Route53Client(settings);
    const iam = new IAMClient(settings);
    return {
      ...adapters,
      inventory: inventoryApi({
        ec2: ec2Client,
        autoscaling: new AutoScalingClient(settings),
        iam,
        route53,
      }),
      dns: route53Api(route53),
      zoneVpc: clusterZoneVpcApi(aws, actor, cluster, route53),
      secretVersions: s3SecretVersions(new S3Client(settings), config.stateBucket),
      // The cluster's own CloudFormation role: the stack is deleted under it, then it goes.
      ...(config.clusterStack
        ? {
            stackRole: iamStackRoleApi(iam, {
              deployment: config.deployment,
              ...config.clusterStack,
            }),
          }
        : {}),
    };
  });
  const settings = {
    stackTimeoutSeconds: config.stackTimeoutSeconds,
    groupsTimeoutSeconds: config.groupsTimeoutSeconds,
  };
  return stageHandler(
    stageLogger('delete-cluster', runtime.logLevel),
    async (event: DeleteInput) => deleteCluster(event, { ...depsOf(event.cluster), ...settings }),
    DELETE_EVENT,
  );
}
