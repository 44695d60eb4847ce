import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { autoScalingApi } from '../aws/autoscaling.js';
import { cloudFormationStackApi } from '../aws/cloudformation.js';
import { ec2Api } from '../aws/ec2.js';
import { route53Api } from '../aws/route53.js';
import { kubeForCluster } from '../kube/from-store.js';
import type { KubePort } from '../kube/port.js';
import { backendUp, useBackend, type BackendRecord } from '../local/backend.js';
import { ClusterStore } from '../state/cluster-store.js';
import { s3ObjectStore, type ObjectStore } from '../state/object-store.js';

export interface CliContext {
  backend: BackendRecord;
  objects: ObjectStore;
  store: ClusterStore;
  ec2: ReturnType<typeof ec2Api>;
  autoscaling: ReturnType<typeof autoScalingApi>;
  stacks: ReturnType<typeof cloudFormationStackApi>;
  dns: ReturnType<typeof route53Api>;
  kube: (cluster: string) => Promise<KubePort | undefined>;
  region: string;
  stateBucket: string;
}

/**
 * The local backend for a command that needs AWS: started when it is not running (and said so
 * on stderr), then this process's SDK clients and the handlers it imports point at it.
 */
export async function localContext(log: (line: string) => void = (l) => console.error(l)): Promise<CliContext> {
  const { record, started } = await backendUp();
  if (started) log(`started the local backend (moto) at ${record.endpoint}; stop it with: kopsless local down`);
  useBackend(record);
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.STACK_TIMEOUT_SECONDS ??= '120';
  process.env.GROUPS_TIMEOUT_SECONDS ??= '120';
  process.env.DNS_TIMEOUT_SECONDS ??= '60';
  process.env.DRAIN_TIMEOUT_SECONDS ??= '20';
  process.env.VALIDATION_TIMEOUT_SECONDS ??= '30';
  process.env.REPLACEMENT_TIMEOUT_SECONDS ??= '60';
  const objects = s3ObjectStore(new S3Client({}), record.stateBucket);
  return {
    backend: record,
    objects,
    store: new ClusterStore(objects),
    ec2: ec2Api(new EC2Client({})),
    autoscaling: autoScalingApi(new AutoScalingClient({})),
    stacks: cloudFormationStackApi(new CloudFormationClient({})),
    dns: route53Api(new Route53Client({})),
    kube: (cluster) => kubeForCluster(objects, cluster),
    region: record.region,
    stateBucket: record.stateBucket,
  };
}
