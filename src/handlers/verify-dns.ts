import { Resolver } from 'node:dns/promises';
import { Route53Client } from '@aws-sdk/client-route-53';
import { clientConfig } from '../aws/clients.js';
import { perCluster } from '../aws/cluster-credentials.js';
import { route53Api } from '../aws/route53.js';
import type { Config } from '../config.js';
import { stageHandler, stageLogger } from '../lambda.js';
import type { VerifyDnsInput } from '../stages/inputs.js';
import { VERIFY_DNS_EVENT } from '../stages/inputs.js';
import { type PublicResolver, verifyDns } from '../stages/verify-dns.js';
import { clusterAdapters } from './adapters.js';
import type { HandlerRuntime } from './runtime.js';

/** Public DNS through the system's resolver (in Lambda, the VPC's or AWS's public resolver). */
export function systemResolver(): PublicResolver {
  const resolver = new Resolver({ timeout: 5_000, tries: 2 });
  return {
    resolve4: (name) => resolver.resolve4(name),
    resolveNs: (name) => resolver.resolveNs(name),
  };
}

/**
 * The public resolver for a function that runs in Lambda against AWS itself, else none: an
 * endpoint override (the local backend) means zones that no public DNS knows, so the check is
 * skipped there.
 */
export function publicResolverFor(
  env: Record<string, string | undefined>,
): PublicResolver | undefined {
  const onAws = Boolean(env.AWS_LAMBDA_FUNCTION_NAME) && !env.AWS_ENDPOINT_URL;
  return onAws ? systemResolver() : undefined;
}

/**
 * Verify DNS: point api.<cluster> and api.internal.<cluster> at the control plane and wait for
 * sync and, given `publicDns`, for the public name to resolve.
 */
export function createVerifyDnsHandler(
  config: Config,
  runtime: HandlerRuntime = {},
  publicDns?: PublicResolver,
) {
  const aws = clientConfig(runtime.aws);
  // Every call is for the event's cluster: made with credentials that reach only that cluster.
  const depsOf = perCluster(
    aws,
    { sessionPrefix: 'verify-dns', roleArn: config.clusterActorRoleArn },
    (settings) => ({
      ...clusterAdapters(config.stateBucket, settings),
      dns: route53Api(new Route53Client(settings)),
    }),
  );
  const settings = {
    ...(publicDns ? { publicDns } : {}),
    dnsTimeoutSeconds: config.dnsTimeoutSeconds,
  };
  return stageHandler(
    stageLogger('verify-dns', runtime.logLevel),
    async (event: VerifyDnsInput) => verifyDns(event, { ...depsOf(event.cluster), ...settings }),
    VERIFY_DNS_EVENT,
  );
}
