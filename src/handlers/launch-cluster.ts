import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { Route53Client } from '@aws-sdk/client-route-53';
import { autoScalingApi } from '../aws/autoscaling.js';
import { clientConfig } from '../aws/clients.js';
import { route53Api } from '../aws/route53.js';
import type { Config } from '../config.js';
import { stageHandler, stageLogger } from '../lambda.js';
import type { LaunchInput } from '../stages/inputs.js';
import { LAUNCH_EVENT } from '../stages/inputs.js';
import { launch } from '../stages/launch.js';
import { clusterAdapters } from './adapters.js';
import type { HandlerRuntime } from './runtime.js';

/** Launch ASGs: the cluster stack, then a launch template and Auto Scaling group per instance group. */
export function createLaunchClusterHandler(config: Config, runtime: HandlerRuntime = {}) {
  const aws = clientConfig(runtime.aws);
  const deps = {
    ...clusterAdapters(config.stateBucket, aws),
    autoscaling: autoScalingApi(new AutoScalingClient(aws)),
    dns: route53Api(new Route53Client(aws)),
    stateBucket: config.stateBucket,
    region: config.region,
    deployment: config.deployment,
    ...(config.cloudFormationRoleArn
      ? { cloudFormationRoleArn: config.cloudFormationRoleArn }
      : {}),
    stackTimeoutSeconds: config.stackTimeoutSeconds,
    groupsTimeoutSeconds: config.groupsTimeoutSeconds,
  };
  return stageHandler(
    stageLogger('launch-cluster', runtime.logLevel),
    async (event: LaunchInput) => launch(event, deps),
    LAUNCH_EVENT,
  );
}
