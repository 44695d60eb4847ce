import { FUNCTIONS, type FunctionLogicalId } from '../../functions-registry.js';
import type { LockHolder } from '../../state/holder.js';
import { inFunction } from '../instrument/aws-calls.js';
import { withinHandler } from '../instrument/faults.js';
import { type Definition, type Json, startExecutionMode, taskStates } from './asl-definition.js';
import type { BundlePool } from './bundles.js';
import type { TaskHandler } from './execution-model.js';
import { functionTimeoutSeconds } from './function-timeouts.js';
import { type LocalSettings, lambdaContext, localHandler } from './handlers.js';

/** The Task states of a definition bound to the handlers a local run invokes in-process. */

/** One function's handler as a Task invokes it: its AWS calls attributed to it, faults injected only there. */
async function boundHandler(
  logicalId: FunctionLogicalId,
  settings: LocalSettings,
  lockHolder?: LockHolder,
  bundles?: BundlePool,
): Promise<TaskHandler> {
  // KOPSLESS_BUNDLES=1: the function's bundle in a process of its own, not its sources here.
  const handler = bundles ? bundles.handler(logicalId) : await localHandler(logicalId, settings);
  const timeoutSeconds = functionTimeoutSeconds(logicalId);
  // Inside inFunction, the AWS calls the handler makes are attributed to it (see aws-calls.ts); inside
  // withinHandler, they are the only calls fault injection (KOPSLESS_FAULTS) may touch.
  const invoke = async (input: Json) =>
    (await inFunction(logicalId, () =>
      withinHandler(logicalId, () =>
        handler(
          input,
          lambdaContext(`kopsless-${logicalId}`, timeoutSeconds, settings.config.region),
        ),
      ),
    )) as Json;
  if (!lockHolder || logicalId !== 'WriteStateFunction') return invoke;
  // The holder rides along with the acquireLock request only here: on AWS no process holds it.
  return async (input: Json) =>
    invoke(
      input && typeof input === 'object' && !Array.isArray(input) && input.action === 'acquireLock'
        ? { ...input, holder: lockHolder as unknown as Json }
        : input,
    );
}

/** The handler of every Task state that runs a Lambda (startExecution Tasks are the runner's own). */
export async function boundHandlers(
  definition: Definition,
  settings: LocalSettings,
  lockHolder: LockHolder | undefined,
  bundles?: BundlePool,
): Promise<Record<string, TaskHandler>> {
  const handlers: Record<string, TaskHandler> = {};
  for (const [stateName, state] of taskStates(definition)) {
    if (startExecutionMode(state.Resource)) continue;
    const logicalId = /function:kopsless-(\w+)$/.exec(state.Resource ?? '')?.[1] as
      | FunctionLogicalId
      | undefined;
    if (!logicalId || !(logicalId in FUNCTIONS))
      throw new Error(`state ${stateName}: no local handler for ${state.Resource}`);
    handlers[stateName] = await boundHandler(logicalId, settings, lockHolder, bundles);
  }
  return handlers;
}
