import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { Route53Client } from '@aws-sdk/client-route-53';
import { autoScalingApi } from '../aws/autoscaling.js';
import { clientConfig } from '../aws/clients.js';
import { route53Api } from '../aws/route53.js';
import { zoneVpcApi } from '../aws/zone-vpc.js';
import { type Config, secretsKeyOption } from '../config.js';
import { stageHandler, stageLogger } from '../lambda.js';
import { LAUNCH_EVENT } from '../stages/inputs.js';
import { type LaunchInput, launch } from '../stages/launch.js';
import { clusterAdapters } from './adapters.js';
import type { HandlerRuntime } from './runtime.js';

/** Launch ASGs: the cluster stack, then a launch template and Auto Scaling group per instance group. */
export function createLaunchClusterHandler(config: Config, runtime: HandlerRuntime = {}) {
  const aws = clientConfig(runtime.aws);
  const route53 = new Route53Client(aws);
  const deps = {
    ...clusterAdapters(config.stateBucket, aws, secretsKeyOption(config)),
    autoscaling: autoScalingApi(new AutoScalingClient(aws)),
    dns: route53Api(route53),
    zoneVpc: zoneVpcApi(route53),
    stateBucket: config.stateBucket,
    region: config.region,
    deployment: config.deployment,
    ...(config.secretsKeyArn ? { secretsKeyArn: config.secretsKeyArn } : {}),
    ...(config.clusterApiLayerArn ? { clusterApiLayerArn: config.clusterApiLayerArn } : {}),
    ...(config.cloudFormationRoleArn
      ? { cloudFormationRoleArn: config.cloudFormationRoleArn }
      : {}),
    stackTimeoutSeconds: config.stackTimeoutSeconds,
    groupsTimeoutSeconds: config.groupsTimeoutSeconds,
    ...(config.allowedHostedZoneId ? { allowedHostedZoneId: config.allowedHostedZoneId } : {}),
  };
  return stageHandler(
    stageLogger('launch-cluster', runtime.logLevel),
    async (event: LaunchInput) => launch(event, deps),
    LAUNCH_EVENT,
  );
}
