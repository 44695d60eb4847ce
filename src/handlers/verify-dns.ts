import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { clientConfig } from '../aws/clients.js';
import { cloudFormationStackApi } from '../aws/cloudformation.js';
import { ec2Api } from '../aws/ec2.js';
import { route53Api } from '../aws/route53.js';
import type { Config } from '../config.js';
import { stageHandler, stageLogger } from '../lambda.js';
import { verifyDns, type VerifyDnsInput } from '../stages/verify-dns.js';
import { ClusterStore } from '../state/cluster-store.js';
import { s3ObjectStore } from '../state/object-store.js';
import { VERIFY_DNS_EVENT } from '../stages/inputs.js';
import type { HandlerRuntime } from './runtime.js';

/** Verify DNS: point api.<cluster> and api.internal.<cluster> at the control plane and wait for sync. */
export function createVerifyDnsHandler(config: Config, runtime: HandlerRuntime = {}) {
  const aws = clientConfig(runtime.aws);
  const deps = {
    store: new ClusterStore(s3ObjectStore(new S3Client(aws), config.stateBucket)),
    stacks: cloudFormationStackApi(new CloudFormationClient(aws)),
    ec2: ec2Api(new EC2Client(aws)),
    dns: route53Api(new Route53Client(aws)),
    dnsTimeoutSeconds: config.dnsTimeoutSeconds,
  };
  const logger = stageLogger('verify-dns', runtime.logLevel);
  return stageHandler(logger, async (event: VerifyDnsInput) => verifyDns(event, deps), VERIFY_DNS_EVENT);
}
