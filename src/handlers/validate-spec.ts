import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { clientConfig } from '../aws/clients.js';
import { ec2Api } from '../aws/ec2.js';
import { route53Api } from '../aws/route53.js';
import { sharedNetworkApi } from '../aws/shared-network.js';
import type { Config } from '../config.js';
import { stageHandler, stageLogger } from '../lambda.js';
import type { ValidateSpecInput } from '../stages/inputs.js';
import { VALIDATE_SPEC_EVENT } from '../stages/inputs.js';
import { validateSpec } from '../stages/validate-spec.js';
import type { HandlerRuntime } from './runtime.js';

/** Validate spec: parse, default and validate a kOps manifest, and check it against the region; nothing is written. */
export function createValidateSpecHandler(config: Config, runtime: HandlerRuntime = {}) {
  const aws = clientConfig(runtime.aws);
  const ec2Client = new EC2Client(aws);
  const deps = {
    ec2: ec2Api(ec2Client),
    network: sharedNetworkApi(ec2Client),
    dns: route53Api(new Route53Client(aws)),
    region: config.region,
    ...(config.allowedHostedZoneId ? { allowedHostedZoneId: config.allowedHostedZoneId } : {}),
  };
  return stageHandler(
    stageLogger('validate-spec', runtime.logLevel),
    async (event: ValidateSpecInput) => validateSpec(event, deps),
    VALIDATE_SPEC_EVENT,
  );
}
