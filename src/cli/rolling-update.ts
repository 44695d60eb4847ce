import { now } from '../clock.js';
import { faultSummary } from '../local/instrument/faults.js';
import { bundleSummary } from '../local/sfn/bundles.js';
import { rollingUpdateStatus } from '../stages/rolling-update.js';
import type { CliContext } from './context.js';
import { seconds, table } from './format.js';
import { progressPrinter } from './progress.js';
import { findDeadLock, interruptedNote, releaseIfOurs, takeOver } from './resume.js';

type Io = { out: (line: string) => void; err: (line: string) => void };

export interface RollingUpdateOptions {
  yes?: boolean;
  instanceGroup?: string[];
  force?: boolean;
  cloudonly?: boolean;
  /** `--parallel-groups N` as typed (checked by `parseParallelGroups`). */
  parallelGroups?: string | number;
  parallelGroupsSameZone?: boolean;
}

/**
 * `--parallel-groups N`: an integer from 1 to 20 (1 when not given, kOps's order). Returns the
 * number, or the message naming the flag for a value that is not one.
 */
export function parseParallelGroups(
  raw: string | number | undefined,
): { value: number } | { error: string } {
  if (raw === undefined) return { value: 1 };
  const text = String(raw).trim();
  const value = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(value) || value < 1 || value > 20)
    return { error: `--parallel-groups: must be an integer from 1 to 20 (got "${String(raw)}")` };
  return { value };
}

function rollDeps(ctx: CliContext) {
  return {
    ...ctx,
    drainTimeoutSeconds: 0,
    validationTimeoutSeconds: 0,
    replacementTimeoutSeconds: 0,
  };
}

/** `kopsless rolling-update cluster NAME`: kOps's table, and with --yes the rolling-update state machine. */
export async function runRollingUpdate(
  cluster: string,
  options: RollingUpdateOptions,
  ctx: CliContext,
  io: Io,
): Promise<number> {
  const parallel = parseParallelGroups(options.parallelGroups);
  if ('error' in parallel) {
    io.err(parallel.error);
    return 1;
  }
  if (!(await ctx.store.exists(cluster))) {
    io.err(`cluster "${cluster}" not found`);
    return 1;
  }
  const instanceGroups = options.instanceGroup ?? [];
  const { rows, groups } = await rollingUpdateStatus(cluster, rollDeps(ctx), {
    instanceGroups,
    ...(options.cloudonly ? { cloudOnly: true } : {}),
  });
  const unknown = instanceGroups.filter((g) => !groups.some((x) => x.instanceGroup === g));
  if (unknown.length > 0) {
    io.err(`instance group(s) not found in cluster "${cluster}": ${unknown.join(', ')}`);
    return 1;
  }
  const display = options.force
    ? rows.map((r) => ({ ...r, status: 'NeedsUpdate' as const, needUpdate: r.target }))
    : rows;
  const needed = display.some((r) => r.needUpdate > 0);
  // An interrupted roll whose last replacement was already made still holds the lock and the
  // RollingUpdate phase: running the state machine again validates and records the end.
  const dead = await findDeadLock(ctx, cluster);
  if (!needed && !dead) {
    io.out('No rolling-update required.');
    return 0;
  }
  if (needed)
    io.out(
      table(
        ['NAME', 'STATUS', 'NEEDUPDATE', 'READY', 'MIN', 'TARGET', 'MAX', 'NODES'],
        display.map((r) => [
          r.name,
          r.status,
          r.needUpdate,
          r.ready,
          r.min,
          r.target,
          r.max,
          r.nodes,
        ]),
      ),
    );
  else io.out('No instance needs replacing.');
  if (dead) io.out(interruptedNote(dead));
  if (!options.yes) {
    io.out('');
    io.out('Must specify --yes to rolling-update.');
    return 0;
  }
  const claim = await takeOver(
    ctx,
    cluster,
    dead,
    { machine: 'rolling-update', operation: 'rolling-update' },
    io,
  );
  if (claim.exitCode !== undefined) return claim.exitCode;
  const started = now().getTime();
  io.out('');
  io.out(`Rolling update of cluster "${cluster}" (state machine rolling-update)`);
  const result = await ctx.run('rolling-update', {
    input: {
      cluster,
      instanceGroups,
      force: !!options.force,
      cloudOnly: !!options.cloudonly,
      // Given only when asked for: the input of a plain roll stays what it always was.
      ...(options.parallelGroups !== undefined ? { parallelGroups: parallel.value } : {}),
      ...(options.parallelGroupsSameZone ? { allowSameZone: true } : {}),
    },
    cluster,
    log: io.out,
    ...(claim.executionName ? { executionName: claim.executionName } : {}),
    onProgress: progressPrinter(io.out, started),
  });
  if (result.status !== 'SUCCEEDED') {
    await releaseIfOurs(ctx, cluster, result.executionArn);
    io.err(`rolling update failed: ${result.error?.name}: ${result.error?.cause}`);
    io.err(`the cluster was left consistent; run the same command again to continue`);
    return 1;
  }
  io.out('');
  io.out(
    `Rolling update completed for cluster "${cluster}" (${seconds(now().getTime() - started)}${faultSummary()}${bundleSummary()}).`,
  );
  return 0;
}
