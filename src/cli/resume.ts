import { randomBytes } from 'node:crypto';
import { now } from '../clock.js';
import { ClusterLockedError } from '../errors.js';
import type { StateMachineName } from '../functions-registry.js';
import { localExecutionArn } from '../local/sfn/step-functions.js';
import { DEFAULT_LEASE_SECONDS, type LockLease } from '../state/cluster-store.js';
import { defaultProbe, type HolderProbe, holderState, processHolder } from '../state/holder.js';
import type { CliContext } from './context.js';

/**
 * Kill and resume. A local command runs its execution in its own process and records that
 * process in the cluster lock. When it dies (kill -9, a closed laptop lid that never came back),
 * the next command on this machine sees that the holder is gone, takes the lock over at once
 * (a conditional write on the lock's ETag, so two takers cannot both win) and runs its state
 * machine, whose every step is idempotent and reads where things stand from AWS: a create
 * finishes, a roll continues with the instances still out of date, a delete deletes what is left.
 */

type Io = { out: (line: string) => void; err: (line: string) => void };

/** A lock whose local holder no longer runs, with the ETag a takeover must name. */
export interface DeadLock {
  lease: LockLease;
  etag: string;
}

/** The command that finishes each interrupted operation, for the message that asks for it. */
const FINISH: Record<string, (cluster: string) => string> = {
  create: () => 'kopsless create -f FILE --yes (the same manifest)',
  update: (c) => `kopsless update cluster ${c} --yes`,
  'rolling-update': (c) => `kopsless rolling-update cluster ${c} --yes`,
  delete: (c) => `kopsless delete cluster ${c} --yes`,
};

/**
 * Which operations may take over the dead lock of an interrupted one. The same operation resumes
 * it; delete may always take over (it is the way out of any half-done state); an update may
 * follow an interrupted roll (what it changes is rolled again later). Anything else would act on
 * a half-created, half-updated or half-deleted cluster, so it is refused with the command that
 * finishes the interrupted one. The CLI's own short locks (register, edit) only guard spec
 * writes, which are complete or not made: anyone takes them over.
 */
export function mayTakeOver(interrupted: string, operation: string): boolean {
  if (interrupted === operation || operation === 'delete') return true;
  if (interrupted === 'register' || interrupted === 'edit') return true;
  return interrupted === 'rolling-update' && operation === 'update';
}

/** The lock of `cluster` when it is held by a local process of this machine that is gone. */
export async function findDeadLock(
  ctx: Pick<CliContext, 'target' | 'store'>,
  cluster: string,
  probe: HolderProbe = defaultProbe(),
): Promise<DeadLock | undefined> {
  // On AWS the holder is a Step Functions execution, which this process cannot judge by PID.
  if (ctx.target !== 'local') return undefined;
  const current = await ctx.store.readLockVersion(cluster);
  if (!current?.lease.holder) return undefined;
  return holderState(current.lease.holder, probe) === 'gone' ? current : undefined;
}

/** A local execution name, chosen before the run so that a taken-over lock can name its owner. */
export function newExecutionName(machine: StateMachineName): string {
  return `${machine}-${now().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
}

/** What a command runs under after looking at the lock: an execution name it took the lock for, or an exit code. */
export interface Claim {
  executionName?: string;
  exitCode?: number;
}

/**
 * Takes over `dead` (when there is one) for a new execution of `machine` and says so. Returns
 * the execution name to run under (the lock's new owner), or the exit code when this command may
 * not take it over; nothing when there is no dead lock.
 */
export async function takeOver(
  ctx: Pick<CliContext, 'store'> & Partial<Pick<CliContext, 'region'>>,
  cluster: string,
  dead: DeadLock | undefined,
  run: { machine: StateMachineName; operation: string },
  io: Io,
): Promise<Claim> {
  if (!dead) return {};
  const { lease } = dead;
  const pid = lease.holder?.pid ?? 0;
  if (!mayTakeOver(lease.operation, run.operation)) {
    io.err(
      `cluster "${cluster}" is held by the interrupted ${lease.operation} execution ${lease.owner} (its local runner, pid ${pid}, is gone)`,
    );
    const finish = FINISH[lease.operation]?.(cluster) ?? 'the command that started it';
    io.err(
      `finish it first with: ${finish}${lease.operation === 'delete' ? '' : `, or delete the cluster with: ${FINISH.delete!(cluster)}`}`,
    );
    return { exitCode: 1 };
  }
  const executionName = newExecutionName(run.machine);
  const owner = localExecutionArn(run.machine, executionName, ctx.region);
  try {
    // The execution's own AcquireLock then finds the lock already its own and refreshes it.
    await ctx.store.takeOverLock(
      cluster,
      dead,
      owner,
      run.operation,
      DEFAULT_LEASE_SECONDS,
      processHolder(),
    );
  } catch (error) {
    if (error instanceof ClusterLockedError) {
      io.err(
        `another command took over the lock of execution ${lease.owner} first: ${error.message}`,
      );
      return { exitCode: 1 };
    }
    throw error;
  }
  io.out(`taking over the lock of execution ${lease.owner}: its local runner (pid ${pid}) is gone`);
  if (lease.operation === run.operation)
    io.out(
      `resuming the interrupted ${lease.operation}: every step picks up from what AWS reports now`,
    );
  return { executionName };
}

/** One line for a preview (no --yes) that the cluster has an interrupted execution. */
export function interruptedNote(dead: DeadLock): string {
  return `the ${dead.lease.operation} execution ${dead.lease.owner} was interrupted (its local runner, pid ${dead.lease.holder?.pid ?? 0}, is gone); --yes takes over its lock and finishes`;
}

/**
 * After a local execution that failed: a lock it still holds is released. The state machines
 * release it themselves when they record a failure; this covers an execution that failed before
 * its AcquireLock (a taken-over lock is already its own then). On AWS the CLI does not own it.
 */
export async function releaseIfOurs(
  ctx: Pick<CliContext, 'target' | 'store'>,
  cluster: string,
  executionArn: string,
): Promise<void> {
  if (ctx.target !== 'local') return;
  await ctx.store.releaseLock(cluster, executionArn);
}
