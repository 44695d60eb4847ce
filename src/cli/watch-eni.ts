import { now, sleep } from '../clock.js';
import { bundleSummary } from '../local/sfn/bundles.js';
import { DEFAULT_WATCHER_SETTINGS, type Decision } from '../planning/eni-decision.js';
import { parseGoDuration } from '../planning/launch-plan.js';
import { type WatcherDeps, watchCluster } from '../stages/eni-watcher.js';
import type { CliContext } from './context.js';
import { parseOutputFormat, seconds, table, UsageError } from './format.js';
import { progressPrinter } from './progress.js';

type Io = { out: (line: string) => void; err: (line: string) => void };

/**
 * A run asked for by hand is a deliberate observation: it counts however soon after the last one
 * (minObservationIntervalSeconds guards the Lambda against bursts of EC2 events, not a user).
 */
export function watcherDeps(ctx: CliContext): WatcherDeps {
  return {
    store: ctx.store,
    objects: ctx.objects,
    stacks: ctx.stacks,
    ec2: ctx.ec2,
    kube: ctx.kube,
    settings: { ...DEFAULT_WATCHER_SETTINGS, minObservationIntervalSeconds: 0 },
  };
}

export function printFigures(decision: Decision, io: Io): void {
  io.out(
    table(
      [
        'INSTANCE GROUP',
        'NODES',
        'PODS USED/MAX',
        'UTILIZATION',
        'PENDING (TOO MANY PODS)',
        'FULL',
      ],
      decision.groups.map((g) => [
        g.instanceGroup,
        g.nodes,
        `${g.usedPods}/${g.maxPods}`,
        `${Math.round(g.utilization * 100)}%`,
        g.pendingTooManyPods,
        g.full ? `yes (${g.consecutive} in a row)` : 'no',
      ]),
    ),
  );
}

/** `kopsless watch-eni CLUSTER [--dry-run] [-o json]`: one run of the ENI capacity watcher, locally. */
export async function runWatchEni(
  cluster: string,
  options: { dryRun?: boolean; output?: string },
  ctx: CliContext,
  io: Io,
): Promise<number> {
  const format = parseOutputFormat(options.output, ['table', 'json']);
  if (!(await ctx.store.exists(cluster))) {
    io.err(`cluster "${cluster}" not found`);
    return 1;
  }
  const result = await watchCluster(cluster, watcherDeps(ctx), { dryRun: !!options.dryRun });
  if (format === 'json') io.out(JSON.stringify(result, null, 2));
  else {
    printFigures(result.decision, io);
    io.out(
      `Decision${result.dryRun ? ' (dry run)' : ''}: ${result.decision.action}: ${result.decision.reason}`,
    );
  }
  if (!result.start) return 0;
  const started = now().getTime();
  if (format !== 'json') {
    io.out(
      'aws-node: ENABLE_PREFIX_DELEGATION=true WARM_PREFIX_TARGET=1 set; networking.amazonvpc.env and kubelet.maxPods written to the spec',
    );
    io.out('');
    io.out(
      `Update + rolling update of ${result.start.input.instanceGroups.join(', ')} (state machine rolling-update)`,
    );
  }
  const execution = await ctx.run('rolling-update', {
    input: result.start.input,
    executionName: result.start.name,
    onProgress: format === 'json' ? () => undefined : progressPrinter(io.out, started),
  });
  if (execution.status !== 'SUCCEEDED') {
    io.err(`rolling update failed: ${execution.error?.name}: ${execution.error?.cause}`);
    return 1;
  }
  if (format !== 'json') {
    const after = await watchCluster(cluster, watcherDeps(ctx), { dryRun: true });
    io.out('');
    io.out(`After the roll (${seconds(now().getTime() - started)}${bundleSummary()}):`);
    printFigures(after.decision, io);
  }
  return 0;
}

/** `kopsless local up --watch`: the watcher over every local cluster on an interval, until interrupted. */
export async function runWatchLoop(
  interval: string | undefined,
  ctx: CliContext,
  io: Io,
): Promise<number> {
  const everySeconds = parseGoDuration(interval ?? '60s');
  if (!everySeconds)
    throw new UsageError(`--interval takes a duration such as 60s, not "${interval}"`);
  io.out(
    `ENI watcher: every ${everySeconds}s over the clusters of the local backend (Ctrl-C stops it)`,
  );
  for (;;) {
    for (const cluster of await ctx.store.listClusters()) {
      io.out(`[${now().toISOString()}] ${cluster}`);
      const code = await runWatchEni(cluster, {}, ctx, io);
      if (code !== 0) io.err(`watcher run for ${cluster} failed`);
    }
    await sleep(everySeconds * 1000);
  }
}
