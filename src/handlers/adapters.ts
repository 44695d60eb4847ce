import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { type AwsClientSettings, clientConfig } from '../aws/clients.js';
import { cloudFormationStackApi } from '../aws/cloudformation.js';
import { ec2Api } from '../aws/ec2.js';
import { sharedNetworkApi } from '../aws/shared-network.js';
import { ClusterStore } from '../state/cluster-store.js';
import { type ObjectStoreOptions, s3ObjectStore } from '../state/object-store.js';

/**
 * The adapters the cluster handlers and the CLI all use: the state store in `stateBucket`, the
 * cluster's stack and EC2. Only S3, CloudFormation and EC2, which every bundle that calls this
 * holds anyway: each caller adds its other clients itself, so that no Lambda bundle gains a
 * client it never calls (test/bundles.test.ts).
 */
export function clusterAdapters(
  stateBucket: string,
  settings: AwsClientSettings = {},
  storeOptions: ObjectStoreOptions = {},
) {
  const aws = clientConfig(settings);
  const objects = s3ObjectStore(new S3Client(aws), stateBucket, storeOptions);
  const ec2Client = new EC2Client(aws);
  return {
    objects,
    store: new ClusterStore(objects),
    stacks: cloudFormationStackApi(new CloudFormationClient(aws)),
    ec2: ec2Api(ec2Client),
    network: sharedNetworkApi(ec2Client),
    ec2Client,
  };
}
