import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { IAMClient } from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { autoScalingApi } from '../aws/autoscaling.js';
import { clientConfig } from '../aws/clients.js';
import { perCluster } from '../aws/cluster-credentials.js';
import { iamInstanceProfileApi } from '../aws/instance-profiles.js';
import { route53Api } from '../aws/route53.js';
import { iamStackRoleApi } from '../aws/stack-role.js';
import { clusterZoneVpcApi } from '../aws/zone-vpc.js';
import { type Config, secretsKeyOption } from '../config.js';
import { stageHandler, stageLogger } from '../lambda.js';
import type { LaunchInput } from '../stages/inputs.js';
import { LAUNCH_EVENT } from '../stages/inputs.js';
import { launch } from '../stages/launch.js';
import { clusterAdapters } from './adapters.js';
import type { HandlerRuntime } from './runtime.js';

/** Launch ASGs: the cluster stack, then a launch template and Auto Scaling group per instance group. */
export function createLaunchClusterHandler(config: Config, runtime: HandlerRuntime = {}) {
  const aws = clientConfig(runtime.aws);
  // Every call is for the event's cluster: made with credentials that reach only that cluster.
  const actor = { sessionPrefix: 'launch', roleArn: config.clusterActorRoleArn };
  const depsOf = perCluster(aws, actor, (settings, cluster) => {
    const route53 = new Route53Client(settings);
    const iam = new IAMClient(settings);
    return {
      ...clusterAdapters(config.stateBucket, settings, secretsKeyOption(config)),
      autoscaling: autoScalingApi(new AutoScalingClient(settings)),
      dns: route53Api(route53),
      zoneVpc: clusterZoneVpcApi(aws, actor, cluster, route53),
      // The cluster's instance profiles, made by this cluster's session under its path.
      instanceProfiles: iamInstanceProfileApi(iam, { deployment: config.deployment }),
      // The cluster's own CloudFormation role, made by this cluster's session.
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
    stateBucket: config.stateBucket,
    region: config.region,
    deployment: config.deployment,
    ...(config.secretsKeyArn ? { secretsKeyArn: config.secretsKeyArn } : {}),
    ...(config.clusterApiLayerArn ? { clusterApiLayerArn: config.clusterApiLayerArn } : {}),
    stackTimeoutSeconds: config.stackTimeoutSeconds,
    groupsTimeoutSeconds: config.groupsTimeoutSeconds,
    ...(config.allowedHostedZoneId ? { allowedHostedZoneId: config.allowedHostedZoneId } : {}),
  };
  return stageHandler(
    stageLogger('launch-cluster', runtime.logLevel),
    async (event: LaunchInput) => launch(event, { ...depsOf(event.cluster), ...settings }),
    LAUNCH_EVENT,
  );
}
