import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { cloudFormationStackApi } from '../src/aws/cloudformation.js';
import { ec2Api } from '../src/aws/ec2.js';
import { route53Api } from '../src/aws/route53.js';
import { readConfig } from '../src/config.js';
import { stageHandler, stageLogger } from '../src/lambda.js';
import { verifyDns, type VerifyDnsInput } from '../src/stages/verify-dns.js';
import { ClusterStore } from '../src/state/cluster-store.js';
import { s3ObjectStore } from '../src/state/object-store.js';
import { VERIFY_DNS_EVENT } from '../src/stages/inputs.js';

const config = readConfig(process.env);
const deps = {
  store: new ClusterStore(s3ObjectStore(new S3Client({}), config.stateBucket)),
  stacks: cloudFormationStackApi(new CloudFormationClient({})),
  ec2: ec2Api(new EC2Client({})),
  dns: route53Api(new Route53Client({})),
  dnsTimeoutSeconds: config.dnsTimeoutSeconds,
};
const logger = stageLogger('verify-dns');

/** Verify DNS: point api.<cluster> and api.internal.<cluster> at the control plane and wait for sync. */
export const handler = stageHandler(logger, async (event: VerifyDnsInput) => verifyDns(event, deps), VERIFY_DNS_EVENT);
