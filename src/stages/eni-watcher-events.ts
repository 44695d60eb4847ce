import { ClusterNotFoundError, InvalidInputError } from '../errors.js';

/** What an invocation of the ENI watcher was asked: events (schedule, EC2 state changes, SQS batches) reduced to the clusters to watch. */

/** What an event asks the watcher to look at. */
type Target =
  | { kind: 'cluster'; cluster: string }
  | { kind: 'instance'; instanceId: string }
  | { kind: 'all' };

const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/**
 * The target of one event: `{ cluster }` (the CLI, a console test), an EC2 state-change event
 * (`detail.instance-id`), the schedule (`aws.events`) or an empty console event (every cluster).
 */
function targetOf(event: unknown, at: string): Target {
  if (!event || typeof event !== 'object' || Array.isArray(event))
    throw new InvalidInputError([{ path: at || '(event)', message: 'is not an object' }]);
  const e = event as { cluster?: unknown; source?: unknown; detail?: { 'instance-id'?: unknown } };
  const path = (field: string) => (at ? `${at}.${field}` : field);
  if (e.cluster !== undefined) {
    if (typeof e.cluster !== 'string' || e.cluster === '')
      throw new InvalidInputError([{ path: path('cluster'), message: 'must be a cluster name' }]);
    return { kind: 'cluster', cluster: e.cluster };
  }
  if (e.source === 'aws.ec2') {
    const id = e.detail?.['instance-id'];
    if (typeof id !== 'string' || !INSTANCE_ID.test(id))
      throw new InvalidInputError([
        {
          path: path('detail.instance-id'),
          message: `must be an EC2 instance ID (i-...), got ${JSON.stringify(id)}`,
        },
      ]);
    return { kind: 'instance', instanceId: id };
  }
  if (e.source === 'aws.events' || e.source === undefined) return { kind: 'all' };
  throw new InvalidInputError([
    {
      path: path('source'),
      message: `${JSON.stringify(e.source)} is not an event the watcher takes (aws.ec2 state changes, aws.events schedules)`,
    },
  ]);
}

/** An SQS batch as Lambda's event source mapping delivers it. */
interface SqsBatch {
  Records: Array<{ messageId: string; body: string; eventSource?: string }>;
}

function isSqsBatch(event: unknown): event is SqsBatch {
  const records = (event as { Records?: unknown } | null)?.Records;
  return (
    Array.isArray(records) &&
    records.every(
      (r) =>
        r && typeof r === 'object' && (r as { eventSource?: unknown }).eventSource === 'aws:sqs',
    )
  );
}

/** What one invocation needs besides the event: where clusters come from, and one cluster's run. */
export interface WatcherEventDeps<R> {
  listClusters(): Promise<string[]>;
  clustersOfInstances(instanceIds: string[]): Promise<Map<string, string>>;
  /** `fromEvents`: only EC2 state-change events named this cluster (see WatchOptions). */
  watch(cluster: string, options: { fromEvents: boolean }): Promise<R>;
}

export interface WatcherEventOutcome<R> {
  results: Array<{ cluster: string; result: R }>;
  /** Events that needed no observation: instances of no cluster, clusters not in this state store. */
  skipped: Array<{ instanceId?: string; cluster?: string; reason: string }>;
  failures: Array<{ cluster?: string; error: Error }>;
  /** For an SQS batch: the messages to deliver again (Lambda's ReportBatchItemFailures). */
  batchItemFailures: Array<{ itemIdentifier: string }>;
  sqs: boolean;
}

/**
 * One watcher invocation, whatever brought it: the schedule, one EC2 state-change event, a direct
 * `{ cluster }`, or an SQS batch of EC2 events gathered over the queue's batching window. A batch
 * is reduced to its clusters first (one DescribeInstances lookup for all its instances), so a
 * burst of events about one cluster costs one observation of it. A cluster that fails marks only
 * the messages that named it as failed; the others are done.
 */
export async function handleWatcherEvent<R>(
  event: unknown,
  deps: WatcherEventDeps<R>,
): Promise<WatcherEventOutcome<R>> {
  const sqs = isSqsBatch(event);
  const outcome: WatcherEventOutcome<R> = {
    results: [],
    skipped: [],
    failures: [],
    batchItemFailures: [],
    sqs,
  };
  const failed = new Set<string>();
  const items: Array<{ messageId?: string; target: Target }> = [];
  if (sqs) {
    event.Records.forEach((record, i) => {
      try {
        let body: unknown;
        try {
          body = JSON.parse(record.body);
        } catch {
          throw new InvalidInputError([{ path: `Records[${i}].body`, message: 'is not JSON' }]);
        }
        items.push({ messageId: record.messageId, target: targetOf(body, `Records[${i}].body`) });
      } catch (error) {
        // Never right on a retry: it goes to the dead-letter queue after maxReceiveCount.
        outcome.failures.push({ error: error as Error });
        failed.add(record.messageId);
      }
    });
  } else {
    items.push({ target: targetOf(event, '') });
  }
  const byCluster = new Map<string, { messageIds: string[]; fromTagOnly: boolean }>();
  const add = (cluster: string, messageId: string | undefined, fromTag: boolean) => {
    const entry = byCluster.get(cluster) ?? { messageIds: [], fromTagOnly: true };
    if (messageId) entry.messageIds.push(messageId);
    entry.fromTagOnly &&= fromTag;
    byCluster.set(cluster, entry);
  };
  const instanceItems = items.filter(
    (i): i is { messageId?: string; target: { kind: 'instance'; instanceId: string } } =>
      i.target.kind === 'instance',
  );
  if (instanceItems.length > 0) {
    try {
      const owners = await deps.clustersOfInstances([
        ...new Set(instanceItems.map((i) => i.target.instanceId)),
      ]);
      for (const item of instanceItems) {
        const cluster = owners.get(item.target.instanceId);
        if (cluster) add(cluster, item.messageId, true);
        else
          outcome.skipped.push({
            instanceId: item.target.instanceId,
            reason: "the instance is no cluster's (no KubernetesCluster tag)",
          });
      }
    } catch (error) {
      outcome.failures.push({ error: error as Error });
      for (const item of instanceItems) if (item.messageId) failed.add(item.messageId);
    }
  }
  for (const item of items)
    if (item.target.kind === 'cluster') add(item.target.cluster, item.messageId, false);
  // A message that asked for every cluster is done only when every cluster is.
  const everyCluster = items.filter((i) => i.target.kind === 'all');
  if (everyCluster.length > 0)
    for (const cluster of await deps.listClusters()) add(cluster, undefined, false);
  for (const [cluster, { messageIds, fromTagOnly }] of [...byCluster].sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    try {
      outcome.results.push({
        cluster,
        result: await deps.watch(cluster, { fromEvents: fromTagOnly }),
      });
    } catch (error) {
      // A tag can name a cluster this state store does not hold (another deployment, kOps itself).
      if (fromTagOnly && error instanceof ClusterNotFoundError) {
        outcome.skipped.push({ cluster, reason: 'not a cluster of this state store' });
        continue;
      }
      outcome.failures.push({ cluster, error: error as Error });
      for (const id of messageIds) failed.add(id);
      for (const item of everyCluster) if (item.messageId) failed.add(item.messageId);
    }
  }
  outcome.batchItemFailures = [...failed].map((itemIdentifier) => ({ itemIdentifier }));
  return outcome;
}
