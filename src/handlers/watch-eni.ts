import { SFNClient } from '@aws-sdk/client-sfn';
import { clientConfig } from '../aws/clients.js';
import { perCluster } from '../aws/cluster-credentials.js';
import { type ExecutionsApi, executionsApi } from '../aws/sfn.js';
import type { Config } from '../config.js';
import { kubeForCluster } from '../kube/from-store.js';
import { stageHandler, stageLogger } from '../lambda.js';
import { DEFAULT_WATCHER_SETTINGS } from '../planning/eni-decision.js';
import { handleWatcherEvent, type WatcherResult, watchCluster } from '../stages/eni-watcher.js';
import { ClusterStore } from '../state/cluster-store.js';
import { perClusterObjectStore } from '../state/per-cluster-object-store.js';
import { clusterAdapters } from './adapters.js';
import type { HandlerRuntime } from './runtime.js';

/** Starts the update + rolling update the watcher asked for; the execution name makes a retry start nothing twice. */
async function start(
  executions: ExecutionsApi,
  config: Config,
  result: WatcherResult,
): Promise<string | undefined> {
  if (!result.start || !config.watcher.rollingUpdateStateMachineArn) return undefined;
  return (
    await executions.start(
      config.watcher.rollingUpdateStateMachineArn,
      result.start.name,
      result.start.input,
    )
  ).executionArn;
}

/**
 * ENI capacity watcher: on the schedule, on EC2 instance state changes (an SQS batch gathered over
 * the queue's batching window, or one event delivered directly) and on a direct `{ cluster }`.
 * An SQS batch answers with the messages to deliver again (ReportBatchItemFailures); any other
 * event fails when a cluster failed, after every cluster was tried.
 */
export function createWatchEniHandler(config: Config, runtime: HandlerRuntime = {}) {
  const aws = clientConfig(runtime.aws);
  // Its own credentials only list the store's clusters and find the clusters of instances; what
  // it does for one cluster is done with credentials of that cluster alone, one session each.
  const { ec2Client: _ec2Client, ...own } = clusterAdapters(config.stateBucket, aws);
  const executions = executionsApi(new SFNClient(aws));
  const adaptersOf = perCluster(
    aws,
    { sessionPrefix: 'watch-eni', roleArn: config.clusterActorRoleArn },
    (settings) => {
      const { ec2Client: _client, ...adapters } = clusterAdapters(config.stateBucket, settings);
      return {
        ...adapters,
        kube: (cluster: string) =>
          kubeForCluster(adapters.objects, cluster, {
            ...(runtime.localKubeApi ? { localKubeApi: runtime.localKubeApi } : {}),
          }),
      };
    },
  );
  // The store's folders are listed with its own credentials; whether each is a cluster is read
  // with that cluster's.
  const clusters = new ClusterStore(
    perClusterObjectStore((cluster) => adaptersOf(cluster).objects, own.objects),
  );
  const deps = {
    settings: {
      ...DEFAULT_WATCHER_SETTINGS,
      threshold: config.watcher.threshold,
      cooldownSeconds: config.watcher.cooldownSeconds,
      minObservationIntervalSeconds: config.watcher.minObservationIntervalSeconds,
      eventDebounceSeconds: config.watcher.eventDebounceSeconds,
    },
  };
  const logger = stageLogger('watch-eni', runtime.logLevel);

  return stageHandler(logger, async (event: unknown) => {
    const dryRun = config.watcher.dryRun || (event as { dryRun?: boolean } | null)?.dryRun === true;
    const outcome = await handleWatcherEvent(event, {
      listClusters: () => clusters.listClusters(),
      clustersOfInstances: (ids) => own.ec2.clustersOfInstances(ids),
      async watch(cluster, { fromEvents }) {
        const result = await watchCluster(
          cluster,
          { ...adaptersOf(cluster), ...deps },
          { dryRun, fromEvents },
        );
        const execution = await start(executions, config, result);
        logger.info('eni watcher decision', {
          decision: result.decision,
          observed: result.observed,
          dryRun,
          execution,
        });
        return { ...result, ...(execution ? { execution } : {}) };
      },
    });
    // A burst can hold thousands of events of no cluster: their count and a few of them are enough.
    if (outcome.skipped.length > 0)
      logger.info('eni watcher skipped', {
        count: outcome.skipped.length,
        first: outcome.skipped.slice(0, 10),
      });
    for (const f of outcome.failures)
      logger.error('eni watcher failed', { cluster: f.cluster, error: f.error });
    if (outcome.sqs) return { batchItemFailures: outcome.batchItemFailures };
    if (outcome.failures[0]) throw outcome.failures[0].error;
    return { results: outcome.results.map((r) => r.result) };
  });
}
