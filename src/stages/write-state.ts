import { ClusterExistsError, SpecInvalidError } from '../errors.js';
import { checkManifest } from '../spec/check.js';
import type { StateMachineName } from '../functions-registry.js';
import { validateExecutionInput, type ExecutionInput } from './inputs.js';
import { toManifestYaml } from '../spec/yaml.js';
import type { LockHolder } from '../local/holder.js';
import type { ClusterPhase, ClusterStatus, ClusterStore, LockLease } from '../state/cluster-store.js';

/** The write-state Lambda's actions: one stage, several small steps of the state machines. */
export type WriteStateInput =
  | { action: 'validateInput'; stateMachine: StateMachineName; input?: unknown }
  /** `holder` is added by the local runner only: the process that runs the execution. */
  | { action: 'acquireLock'; cluster: string; owner: string; operation: string; holder?: LockHolder }
  | { action: 'register'; manifest: string; owner: string; operation: string }
  | { action: 'finish'; cluster: string; owner: string; phase: ClusterPhase }
  | { action: 'release'; cluster: string; owner: string }
  | { action: 'phase'; cluster: string; owner: string; phase: ClusterPhase }
  | { action: 'fail'; cluster: string; owner: string; error: { Error?: string; Cause?: string } };

export interface WriteStateDeps {
  store: ClusterStore;
  lockLeaseSeconds: number;
  now?: () => Date;
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

export async function writeState(
  input: WriteStateInput,
  deps: WriteStateDeps,
): Promise<LockLease | { phase: ClusterPhase } | { cluster: string } | { released: boolean } | ClusterStatus | ExecutionInput<StateMachineName>> {
  const { store } = deps;
  switch (input.action) {
    case 'validateInput':
      // First state of every machine, before the lock: nothing is read or written.
      return validateExecutionInput(input.stateMachine, input.input);
    case 'acquireLock':
      return store.acquireLock(input.cluster, input.owner, input.operation, deps.lockLeaseSeconds, input.holder);
    case 'register': {
      const check = checkManifest(input.manifest);
      if (!check.valid || !check.manifest || !check.completed) throw new SpecInvalidError(check.errors);
      const name = check.manifest.cluster.metadata.name;
      const status = await store.readStatus(name);
      // A cluster registered by `create` without --yes, never launched, may be registered again.
      // So may one whose create was interrupted (phase Creating while this execution holds the
      // lock, so the other create is over): registerCluster still requires the same manifest.
      const resumable = status?.phase === 'Registered' || (status?.phase === 'Creating' && status.lastOperation === 'create' && input.operation === 'create');
      if (status && !resumable && status.lastExecution !== input.owner) {
        throw new ClusterExistsError(`cluster "${name}" already exists (phase ${status.phase}); use update to change it`);
      }
      if (status?.phase === 'Creating' && resumable && status.lastExecution !== input.owner) {
        // The interrupted create may have written only part of the instance groups: the Cluster
        // object decides whether this is the same cluster.
        const existing = await store.readManifest(name);
        if (toManifestYaml(existing.cluster) !== toManifestYaml(check.manifest.cluster)) {
          throw new ClusterExistsError(`cluster "${name}" exists from an interrupted create of a different spec; delete it first`);
        }
        await store.writeSpecs(check.manifest, check.completed);
      } else if (status?.phase === 'Registered') await store.writeSpecs(check.manifest, check.completed);
      else await store.registerCluster(check.manifest, check.completed);
      await store.ensureBootstrapToken(name);
      await store.updateStatus(name, { phase: input.operation === 'register' ? 'Registered' : 'Creating', lastExecution: input.owner, lastOperation: input.operation, lastError: null });
      return { cluster: name };
    }
    case 'finish': {
      await store.updateStatus(input.cluster, { phase: input.phase, lastExecution: input.owner, lastError: null });
      await store.releaseLock(input.cluster, input.owner);
      return { phase: input.phase };
    }
    case 'phase':
      return store.updateStatus(input.cluster, { phase: input.phase, lastExecution: input.owner, lastError: null });
    case 'release':
      return { released: await store.releaseLock(input.cluster, input.owner) };
    case 'fail': {
      const now = (deps.now ?? (() => new Date()))();
      await store.updateStatus(input.cluster, {
        phase: 'Failed',
        lastExecution: input.owner,
        lastError: { error: input.error.Error ?? 'Error', cause: causeMessage(input.error.Cause), at: now.toISOString() },
      });
      await store.releaseLock(input.cluster, input.owner);
      return { phase: 'Failed' };
    }
  }
}
