import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { autoScalingApi } from '../aws/autoscaling.js';
import { clientConfig } from '../aws/clients.js';
import { clusterApiClient } from '../aws/cluster-api-lambda.js';
import { perCluster } from '../aws/cluster-credentials.js';
import { loadBalancingApi } from '../aws/elbv2.js';
import { route53Api } from '../aws/route53.js';
import type { Config } from '../config.js';
import { remoteEtcd } from '../kube/remote-etcd.js';
import { clusterKube } from '../kube/remote-port.js';
import { stageHandler, stageLogger } from '../lambda.js';
import type { RollingUpdateInput } from '../stages/inputs.js';
import { ROLLING_UPDATE_EVENT } from '../stages/inputs.js';
import { RollCache, rollingUpdate } from '../stages/rolling-update.js';
import { clusterAdapters } from './adapters.js';
import type { HandlerRuntime } from './runtime.js';

/** Rolling update: plan, surge, drain (PDBs honoured), terminate, wait for replacements, validate. */
export function createRollingUpdateHandler(config: Config, runtime: HandlerRuntime = {}) {
  const aws = clientConfig(runtime.aws);
  // Every call is for the event's cluster (its kubeconfig read too): made with credentials that
  // reach only that cluster.
  const depsOf = perCluster(
    aws,
    { sessionPrefix: 'rolling-update', roleArn: config.clusterActorRoleArn },
    (settings) => {
      const adapters = clusterAdapters(config.stateBucket, settings);
      // Kubernetes and etcd only through the cluster's API function, inside the cluster's VPC,
      // invoked with this cluster's credentials.
      const clusterApi = clusterApiClient(settings, runtime.lambdaTransport);
      return {
        ...adapters,
        autoscaling: autoScalingApi(new AutoScalingClient(settings)),
        dns: route53Api(new Route53Client(settings)),
        kube: (cluster: string) => clusterKube(cluster, clusterApi),
        etcd: async (cluster: string) => remoteEtcd(cluster, clusterApi),
        loadBalancing: loadBalancingApi(new ElasticLoadBalancingV2Client(settings)),
      };
    },
  );
  const settings = {
    drainTimeoutSeconds: config.drainTimeoutSeconds,
    validationTimeoutSeconds: config.validationTimeoutSeconds,
    replacementTimeoutSeconds: config.replacementTimeoutSeconds,
    dnsTimeoutSeconds: config.dnsTimeoutSeconds,
    // Kept as long as the handler (a warm container): one roll's steps read the spec and the kubeconfig once.
    cache: new RollCache(),
  };
  return stageHandler(
    stageLogger('rolling-update', runtime.logLevel),
    // The time left is the invocation's: a drain pass returns before Lambda would end it.
    async (event: RollingUpdateInput, context) => {
      const deps = { ...depsOf(event.cluster), ...settings };
      return rollingUpdate(
        event,
        typeof context?.getRemainingTimeInMillis === 'function'
          ? { ...deps, remainingTimeMs: () => context.getRemainingTimeInMillis() }
          : deps,
      );
    },
    ROLLING_UPDATE_EVENT,
  );
}
