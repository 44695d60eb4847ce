import { Route53Client } from '@aws-sdk/client-route-53';
import { clientConfig } from '../aws/clients.js';
import { route53Api } from '../aws/route53.js';
import type { Config } from '../config.js';
import { stageHandler, stageLogger } from '../lambda.js';
import { VERIFY_DNS_EVENT } from '../stages/inputs.js';
import { type VerifyDnsInput, verifyDns } from '../stages/verify-dns.js';
import { clusterAdapters } from './adapters.js';
import type { HandlerRuntime } from './runtime.js';

/** Verify DNS: point api.<cluster> and api.internal.<cluster> at the control plane and wait for sync. */
export function createVerifyDnsHandler(config: Config, runtime: HandlerRuntime = {}) {
  const aws = clientConfig(runtime.aws);
  const deps = {
    ...clusterAdapters(config.stateBucket, aws),
    dns: route53Api(new Route53Client(aws)),
    dnsTimeoutSeconds: config.dnsTimeoutSeconds,
  };
  return stageHandler(
    stageLogger('verify-dns', runtime.logLevel),
    async (event: VerifyDnsInput) => verifyDns(event, deps),
    VERIFY_DNS_EVENT,
  );
}
