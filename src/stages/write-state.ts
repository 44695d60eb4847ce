import { isExecutionArn } from '../aws/sfn.js';
import { now as clockNow } from '../clock.js';
import {
  ClusterExistsError,
  ClusterLockedError,
  ClusterNotFoundError,
  InvalidInputError,
  LockLostError,
  SpecInvalidError,
} from '../errors.js';
import type { StateMachineName } from '../functions-registry.js';
import { checkManifest } from '../manifest/check.js';
import { sameSpec } from '../manifest/same-spec.js';
import { stableHash } from '../planning/names.js';
import type {
  ClusterPhase,
  ClusterStatus,
  ClusterStore,
  LockLease,
} from '../state/cluster-store.js';
import { type ExecutionInput, validateExecutionInput, type WriteStateInput } from './inputs.js';
import { childExecutionName } from './roll-child-names.js';

export interface WriteStateDeps {
  store: ClusterStore;
  lockLeaseSeconds: number;
  /**
   * The status of a Step Functions execution (`RUNNING`, `SUCCEEDED`, ...), undefined when it does
   * not exist. Given on AWS only: there a lock's owner is an execution, which a console Stop or a
   * timeout ends without releasing the lock.
   */
  executionStatus?: (executionArn: string) => Promise<string | undefined>;
}

/** Statuses of an execution that still runs, or will again (a redrive is on its way). */
const LIVE_STATUSES = new Set(['RUNNING', 'PENDING_REDRIVE']);

/**
 * A live lease held by an execution that has ended (stopped, timed out, or failed where no Catch
 * ran) is taken over at once, If-Match on the lock's ETag so two takers cannot both win. A lock
 * with a local holder, or asked for by the local runner, is not judged here: the local runner
 * checks its process (src/cli/resume.ts).
 */
async function acquireLock(
  input: Extract<WriteStateInput, { action: 'acquireLock' }>,
  deps: WriteStateDeps,
): Promise<LockLease> {
  const { store } = deps;
  try {
    return await store.acquireLock(
      input.cluster,
      input.owner,
      input.operation,
      deps.lockLeaseSeconds,
      input.holder,
    );
  } catch (error) {
    // A request with a holder comes from the local runner, whose executions Step Functions does not know.
    if (!(error instanceof ClusterLockedError) || !deps.executionStatus || input.holder)
      throw error;
    const current = await store.readLockVersion(input.cluster);
    if (!current)
      return store.acquireLock(
        input.cluster,
        input.owner,
        input.operation,
        deps.lockLeaseSeconds,
        input.holder,
      );
    const { lease } = current;
    if (lease.holder || lease.owner === input.owner || !isExecutionArn(lease.owner)) throw error;
    const status = await deps.executionStatus(lease.owner);
    if (status !== undefined && LIVE_STATUSES.has(status)) throw error;
    return store.takeOverLock(
      input.cluster,
      current,
      input.owner,
      input.operation,
      deps.lockLeaseSeconds,
      input.holder,
    );
  }
}

/** Step Functions wraps a Lambda error's cause as JSON; locally it is the bare message. */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}

/**
 * A child execution that failed (`startExecution.sync:2`) fails its parent's Task with
 * `States.TaskFailed` and, as the cause, the child's description as JSON, whose `Error` and
 * `Cause` are the child's own error (kOps's message): those are what the roll failed with.
 */
export function childFailure(error: { Error?: string; Cause?: string }): {
  Error?: string;
  Cause?: string;
} {
  if (error.Error !== 'States.TaskFailed' || !error.Cause) return error;
  try {
    const parsed = JSON.parse(error.Cause) as {
      ExecutionArn?: unknown;
      Status?: unknown;
      Error?: unknown;
      Cause?: unknown;
    };
    if (
      typeof parsed.ExecutionArn !== 'string' ||
      parsed.Status !== 'FAILED' ||
      typeof parsed.Error !== 'string'
    )
      return error;
    return {
      Error: parsed.Error,
      Cause: typeof parsed.Cause === 'string' ? parsed.Cause : undefined,
    };
  } catch {
    return error;
  }
}

/**
 * A child of a roll works only under its parent's lock, so a child started by hand from the
 * console while no roll holds the cluster (or another execution does) changes nothing. With the
 * parent's ARN it still may roll only a group of the parent's current wave, and only while no
 * other live execution rolls that group: it claims the group (see ClusterStore.claimGroup).
 * Claiming renews the lease: each child start is progress of the roll.
 */
async function requireLock(
  input: Extract<WriteStateInput, { action: 'requireLock' }>,
  deps: WriteStateDeps,
): Promise<{ owner: string; instanceGroup: string }> {
  const read = await deps.store.readLockVersion(input.cluster);
  const held = read?.lease;
  if (!held || held.owner !== input.owner) {
    throw new ClusterLockedError(
      input.cluster,
      held ? held.owner : `nobody (this child's parent ${input.owner} does not hold it)`,
      held?.expiresAt ?? 'unknown',
    );
  }
  // Only a roll has children: the ARN of a running create, update or delete copied into a child's
  // input would otherwise let it replace instances under that operation.
  if (held.operation !== 'rolling-update')
    throw new ClusterLockedError(
      input.cluster,
      `${held.owner} (for ${held.operation}, not a rolling update)`,
      held.expiresAt,
    );
  // A parent stopped from the console or timed out keeps its lease (no Catch runs): a child
  // started by hand with its ARN, copied from status.json, would roll with no parent behind it.
  const onAws = deps.executionStatus && !held.holder;
  if (onAws && isExecutionArn(input.owner)) {
    const status = await deps.executionStatus!(input.owner);
    if (status === undefined || !LIVE_STATUSES.has(status))
      throw new ClusterLockedError(
        input.cluster,
        `${input.owner} (${status ?? 'not found'}: it no longer runs, so no child of it may roll)`,
        held.expiresAt,
      );
  }
  // Another execution's claim is taken over only once it has ended: a continued child's
  // predecessor has succeeded before the parent starts it. Locally (no executionStatus, or a lock
  // with a local holder) only the runner starts children, and it starts the next of a group only
  // after the last one ended, so a different claim is always a predecessor's and is taken over.
  const mayTakeOver = async (holder: string) => {
    if (!onAws) return true;
    const status = await deps.executionStatus!(holder);
    return status === undefined || !LIVE_STATUSES.has(status);
  };
  const claim = {
    instanceGroup: input.instanceGroup,
    claimant: input.execution,
    planDigest: stableHash(input.plan),
  };
  await deps.store.claimGroup(
    input.cluster,
    input.owner,
    claim,
    mayTakeOver,
    deps.lockLeaseSeconds,
    read,
  );
  return { owner: input.owner, instanceGroup: input.instanceGroup };
}

/**
 * An update or a roll of a cluster that is not in the store would fail after the lock and leave
 * a status.json behind for a name nobody created; a roll of an instance group the cluster does
 * not have would roll nothing. Both are refused here, before anything is taken or written.
 */
async function checkAgainstStore<M extends StateMachineName>(
  input: ExecutionInput<M>,
  machine: M,
  store: ClusterStore,
): Promise<ExecutionInput<M>> {
  if (machine !== 'update-cluster' && machine !== 'rolling-update') return input;
  const { cluster } = input as ExecutionInput<'update-cluster'>;
  if (!(await store.exists(cluster))) throw new ClusterNotFoundError(cluster);
  const wanted = (input as ExecutionInput<'rolling-update'>).instanceGroups ?? [];
  if (wanted.length === 0) return input;
  const known = new Set(
    (await store.readManifest(cluster)).instanceGroups.map((ig) => ig.metadata.name),
  );
  const issues = wanted.flatMap((name, i) =>
    known.has(name)
      ? []
      : [
          {
            path: `instanceGroups[${i}]`,
            message: `InstanceGroup ${JSON.stringify(name)} not found`,
          },
        ],
  );
  if (issues.length > 0) throw new InvalidInputError(issues);
  return input;
}

/**
 * status.json is written only for a cluster the store knows (its config, or a status.json from
 * before): a failed execution for a name that was never created must leave no trace, or the name
 * would look taken to create and missing to delete.
 */
async function recordStatus(
  store: ClusterStore,
  cluster: string,
  patch: Partial<ClusterStatus>,
): Promise<ClusterStatus | undefined> {
  if (!(await store.readStatus(cluster)) && !(await store.exists(cluster))) return undefined;
  return store.updateStatus(cluster, patch);
}

/**
 * Before an execution writes the cluster's status it must still hold the lock; holding it, it
 * renews the lease (progress proves it is alive). A lock already released is accepted only for a
 * retried `finish` of the execution that last wrote the status (its first attempt released it).
 */
async function assertOwner(
  store: ClusterStore,
  cluster: string,
  owner: string,
  leaseSeconds: number,
  retryAfterRelease: boolean,
): Promise<void> {
  if (await store.renewLock(cluster, owner, leaseSeconds)) return;
  if (retryAfterRelease && (await store.readStatus(cluster))?.lastExecution === owner) return;
  // A cluster the store does not know writes no status anyway (recordStatus).
  if (!(await store.exists(cluster)) && !(await store.readStatus(cluster))) return;
  throw new LockLostError(cluster, owner, undefined);
}

/** Why a registered, never built cluster is not registered or created again with another spec. */
export function registeredWithOtherSpec(cluster: string): string {
  return `cluster "${cluster}" is already registered with a different spec: change it with edit or replace, or delete it first`;
}

export async function writeState(
  input: WriteStateInput,
  deps: WriteStateDeps,
): Promise<
  | LockLease
  | { phase: ClusterPhase }
  | { phase: 'Failed'; error: { Error: string; Cause: string } }
  | { cluster: string }
  | { released: boolean }
  | { owner: string }
  | { owner: string; wave: string[] }
  | { name: string }
  | ClusterStatus
  | ExecutionInput<StateMachineName>
> {
  const { store } = deps;
  switch (input.action) {
    case 'validateInput':
      // First state of every machine, before the lock: nothing is written.
      return checkAgainstStore(
        validateExecutionInput(input.stateMachine, input.input),
        input.stateMachine,
        store,
      );
    case 'acquireLock':
      return acquireLock(input, deps);
    case 'register': {
      const check = checkManifest(input.manifest);
      if (!check.valid || !check.manifest || !check.completed)
        throw new SpecInvalidError(check.errors);
      const name = check.manifest.cluster.metadata.name;
      const status = await store.readStatus(name);
      // A cluster registered by `create` without --yes, never launched, may be registered again
      // with the same spec (a retry), and built by a create of that spec.
      // So may one whose create was interrupted (phase Creating while this execution holds the
      // lock, so the other create is over): registerCluster still requires the same manifest.
      const resumable =
        status?.phase === 'Registered' ||
        (status?.phase === 'Creating' &&
          status.lastOperation === 'create' &&
          input.operation === 'create');
      if (status && !resumable && status.lastExecution !== input.owner) {
        throw new ClusterExistsError(
          `cluster "${name}" already exists (phase ${status.phase}); use update to change it`,
        );
      }
      if (status?.phase === 'Creating' && resumable && status.lastExecution !== input.owner) {
        // Phase Creating is written only once the whole spec is (writeSpecs ends with the version
        // file): the whole manifest, instance groups included, decides whether this is the same
        // cluster, or a create of another spec would replace its groups.
        if (!sameSpec(await store.readManifest(name), check.manifest)) {
          throw new ClusterExistsError(
            `cluster "${name}" exists from an interrupted create of a different spec; delete it first`,
          );
        }
        await store.writeSpecs(check.manifest, check.completed);
      } else if (status?.phase === 'Registered') {
        // A retry, or the create that builds the registered spec, writes the same spec again;
        // anyone else registering or creating the name with another spec would replace it.
        if (
          status.lastExecution !== input.owner &&
          !sameSpec(await store.readManifest(name), check.manifest)
        )
          throw new ClusterExistsError(registeredWithOtherSpec(name));
        await store.writeSpecs(check.manifest, check.completed);
      } else await store.registerCluster(check.manifest, check.completed);
      // A registration writes no secret (the API registers with no use of the secrets key); the
      // create that builds the cluster makes its bootstrap token.
      if (input.operation !== 'register') await store.ensureBootstrapToken(name);
      await store.updateStatus(name, {
        phase: input.operation === 'register' ? 'Registered' : 'Creating',
        lastExecution: input.owner,
        lastOperation: input.operation,
        lastError: null,
      });
      return { cluster: name };
    }
    case 'finish': {
      await assertOwner(store, input.cluster, input.owner, deps.lockLeaseSeconds, true);
      await recordStatus(store, input.cluster, {
        phase: input.phase,
        lastExecution: input.owner,
        lastError: null,
      });
      await store.releaseLock(input.cluster, input.owner);
      return { phase: input.phase };
    }
    case 'phase':
      await assertOwner(store, input.cluster, input.owner, deps.lockLeaseSeconds, false);
      return (
        (await recordStatus(store, input.cluster, {
          phase: input.phase,
          lastExecution: input.owner,
          lastError: null,
        })) ?? { phase: input.phase }
      );
    case 'release':
      return { released: await store.releaseLock(input.cluster, input.owner) };
    case 'requireLock':
      return requireLock(input, deps);
    case 'reserveChild': {
      const childName = childExecutionName(input.owner, input.instanceGroup, input.sequence);
      await store.reserveChild(
        input.cluster,
        input.owner,
        input.instanceGroup,
        childName,
        deps.lockLeaseSeconds,
      );
      return { name: childName };
    }
    case 'beginWave':
      await store.beginWave(
        input.cluster,
        input.owner,
        input.instanceGroups,
        stableHash(input.plan),
        deps.lockLeaseSeconds,
      );
      return { owner: input.owner, wave: input.instanceGroups };
    case 'fail': {
      // A failure is recorded unless another execution holds the lock: its status is not ours.
      const held = await store.readLock(input.cluster);
      if (held && held.owner !== input.owner)
        throw new LockLostError(input.cluster, input.owner, held.owner);
      const now = clockNow();
      const error = childFailure(input.error);
      await recordStatus(store, input.cluster, {
        phase: 'Failed',
        lastExecution: input.owner,
        lastError: {
          error: error.Error ?? 'Error',
          cause: causeMessage(error.Cause),
          at: now.toISOString(),
        },
      });
      await store.releaseLock(input.cluster, input.owner);
      // The error as recorded (a child's unwrapped): the machine's Fail state reports it.
      return {
        phase: 'Failed',
        error: { Error: error.Error ?? 'Error', Cause: error.Cause ?? '' },
      };
    }
  }
}
