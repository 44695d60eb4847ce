import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { autoScalingApi } from '../src/aws/autoscaling.js';
import { cloudFormationStackApi } from '../src/aws/cloudformation.js';
import { ec2Api } from '../src/aws/ec2.js';
import { route53Api } from '../src/aws/route53.js';
import { readConfig } from '../src/config.js';
import { kubeForCluster } from '../src/kube/from-store.js';
import { stageHandler, stageLogger } from '../src/lambda.js';
import { RollCache, rollingUpdate, type RollingUpdateInput } from '../src/stages/rolling-update.js';
import { ClusterStore } from '../src/state/cluster-store.js';
import { s3ObjectStore } from '../src/state/object-store.js';
import { ROLLING_UPDATE_EVENT } from '../src/stages/inputs.js';

const config = readConfig(process.env);
const objects = s3ObjectStore(new S3Client({}), config.stateBucket);
const deps = {
  store: new ClusterStore(objects),
  autoscaling: autoScalingApi(new AutoScalingClient({})),
  ec2: ec2Api(new EC2Client({})),
  stacks: cloudFormationStackApi(new CloudFormationClient({})),
  dns: route53Api(new Route53Client({})),
  kube: (cluster: string) => kubeForCluster(objects, cluster),
  drainTimeoutSeconds: config.drainTimeoutSeconds,
  validationTimeoutSeconds: config.validationTimeoutSeconds,
  replacementTimeoutSeconds: config.replacementTimeoutSeconds,
  dnsTimeoutSeconds: config.dnsTimeoutSeconds,
  // Kept while the container is warm: one roll's steps read the spec and the kubeconfig once.
  cache: new RollCache(),
};
const logger = stageLogger('rolling-update');

/** Rolling update: plan, surge, drain (PDBs honoured), terminate, wait for replacements, validate. */
export const handler = stageHandler(logger, async (event: RollingUpdateInput) => rollingUpdate(event, deps), ROLLING_UPDATE_EVENT);
