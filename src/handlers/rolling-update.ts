import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { autoScalingApi } from '../aws/autoscaling.js';
import { clientConfig } from '../aws/clients.js';
import { cloudFormationStackApi } from '../aws/cloudformation.js';
import { ec2Api } from '../aws/ec2.js';
import { route53Api } from '../aws/route53.js';
import type { Config } from '../config.js';
import { kubeForCluster } from '../kube/from-store.js';
import { stageHandler, stageLogger } from '../lambda.js';
import { RollCache, rollingUpdate, type RollingUpdateInput } from '../stages/rolling-update.js';
import { ClusterStore } from '../state/cluster-store.js';
import { s3ObjectStore } from '../state/object-store.js';
import { ROLLING_UPDATE_EVENT } from '../stages/inputs.js';
import type { HandlerRuntime } from './runtime.js';

/** Rolling update: plan, surge, drain (PDBs honoured), terminate, wait for replacements, validate. */
export function createRollingUpdateHandler(config: Config, runtime: HandlerRuntime = {}) {
  const aws = clientConfig(runtime.aws);
  const objects = s3ObjectStore(new S3Client(aws), config.stateBucket);
  const deps = {
    store: new ClusterStore(objects),
    autoscaling: autoScalingApi(new AutoScalingClient(aws)),
    ec2: ec2Api(new EC2Client(aws)),
    stacks: cloudFormationStackApi(new CloudFormationClient(aws)),
    dns: route53Api(new Route53Client(aws)),
    kube: (cluster: string) => kubeForCluster(objects, cluster),
    drainTimeoutSeconds: config.drainTimeoutSeconds,
    validationTimeoutSeconds: config.validationTimeoutSeconds,
    replacementTimeoutSeconds: config.replacementTimeoutSeconds,
    dnsTimeoutSeconds: config.dnsTimeoutSeconds,
    // Kept as long as the handler (a warm container): one roll's steps read the spec and the kubeconfig once.
    cache: new RollCache(),
  };
  const logger = stageLogger('rolling-update', runtime.logLevel);
  return stageHandler(logger, async (event: RollingUpdateInput) => rollingUpdate(event, deps), ROLLING_UPDATE_EVENT);
}
