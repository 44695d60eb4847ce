import { existsSync } from 'node:fs';
import {
  executionArn as executionArnOf,
  stateMachineArn,
  stateMachineNameOf,
} from '../../aws/sfn.js';
import { now, SYSTEM_CLOCK, useClock } from '../../clock.js';
import { InvalidInputError } from '../../errors.js';
import {
  deployedStateMachineName,
  type StateMachineName,
  stateMachineOfDeployedName,
} from '../../functions-registry.js';
import { faultsFromEnv } from '../instrument/faults.js';
import { ACCOUNT, type Definition, definitionPath, loadDefinition } from './asl-definition.js';
import { boundHandlers } from './bound-handlers.js';
import { type BundlePool, bundleMode, startBundlePool } from './bundles.js';
import { execute, type RunTree } from './execution.js';
import {
  type ChildStateMachine,
  type DefinitionRunOptions,
  type LocalExecutionResult,
  namedError,
  type RunOptions,
} from './execution-model.js';
import { type LocalSettings, localSettingsFromEnv } from './handlers.js';
import { PAYLOAD_LIMIT_BYTES, payloadBytes } from './history.js';

export {
  type Definition,
  definitionPath,
  loadDefinition,
  substituteArns,
  taskStates,
} from './asl-definition.js';
export type {
  ChildStateMachine,
  DefinitionRunOptions,
  ExecutionSummary,
  LambdaInvocation,
  LocalExecutionResult,
  ProgressEvent,
  RunOptions,
} from './execution-model.js';

/**
 * Runs the real ASL files in-process with aws-local-stepfunctions, each Task bound to the real
 * handler (built by the factory its functions/ entry calls, from `RunOptions.settings`; invoked,
 * not over the network), Waits and retry pauses shortened (or, with `RunOptions.clock`, slept in
 * simulated time). A Task that starts another state machine
 * (`arn:aws:states:::states:startExecution[.sync[:2]]`) runs it as a child execution with its
 * own history. Everything else about the execution is what Step Functions would do.
 */

// aws-local-stepfunctions uses Promise.withResolvers (Node 22); Node 20 needs this stand-in.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  (Promise as unknown as { withResolvers: () => unknown }).withResolvers = function withResolvers<
    T,
  >() {
    let resolve!: (value: T) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  };
}

/** The execution ARN a local run of `name` named `executionName` has (the lock's owner). */
export function localExecutionArn(
  name: StateMachineName,
  executionName: string,
  region = process.env.AWS_REGION ?? 'us-east-1',
): string {
  return executionArnOf(
    stateMachineArn(region, ACCOUNT, deployedStateMachineName(name)),
    executionName,
  );
}

/**
 * Runs one execution of any ASL definition to its end with the given Task handlers, counting
 * its history as Step Functions would and failing it where Step Functions would: past the
 * history quota, or on a state input or output over 256 KiB. Child executions that its
 * startExecution Tasks start run too, each with its own history and quotas; the result lists
 * them all in `executions`.
 */
export async function runDefinition(
  definition: Definition,
  options: DefinitionRunOptions,
): Promise<LocalExecutionResult> {
  faultsFromEnv();
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const inputBytes = payloadBytes(options.input);
  if (inputBytes > PAYLOAD_LIMIT_BYTES) {
    // StartExecution itself refuses such an input: there is no execution.
    throw new InvalidInputError([
      {
        path: '(input)',
        message: `Too long: ${inputBytes} bytes, more than the ${PAYLOAD_LIMIT_BYTES} bytes (256 KiB) Step Functions accepts`,
      },
    ]);
  }
  if (options.input === null) {
    // On AWS the first state, ValidateInput, would refuse it; the local engine cannot even pass
    // `$` of a null input to it (States.Runtime), so the refusal comes before the execution.
    throw new InvalidInputError([{ path: '(input)', message: 'expected object, got null' }]);
  }
  const tree: RunTree = {
    region,
    executions: [],
    names: new Map(),
    detached: [],
    ...(options.clock ? { clock: options.clock } : {}),
  };
  // The handlers read the simulated time; their own short pauses (a retried write's jitter) stay
  // real: a simulated sleep inside a Task would wait for the Task itself to end.
  const simulated = options.clock;
  const previousClock = simulated
    ? useClock({ now: () => simulated.now(), sleep: SYSTEM_CLOCK.sleep })
    : undefined;
  try {
    const executionName =
      options.executionName ??
      `${options.stateMachineName}-${now().toISOString().replace(/[:.]/g, '-')}`;
    const result = await execute(
      definition,
      { ...options, region, executionName },
      tree,
      undefined,
    );
    while (tree.detached.length > 0) await Promise.allSettled(tree.detached.splice(0));
    return {
      ...result,
      executions: tree.executions,
      transitions: tree.executions.reduce((sum, e) => sum + e.transitions, 0),
      maxHistoryEvents: Math.max(...tree.executions.map((e) => e.historyEvents)),
      lambdaInvocations: tree.executions.reduce((sum, e) => sum + e.lambdaInvocations, 0),
      maxStateBytes: Math.max(...tree.executions.map((e) => e.maxStateBytes)),
    };
  } finally {
    if (options.clock) useClock(previousClock);
  }
}

/** The function each Task of a kopsless definition runs: its real handler (startExecution Tasks excepted). */
/** Runs one execution of a kopsless state machine to its end, each Task bound to its real handler, children included. */
export async function runStateMachine(
  name: StateMachineName,
  options: RunOptions,
): Promise<LocalExecutionResult> {
  // One settings object for the run and its children: one warm handler per function.
  const settings = options.settings ?? localSettingsFromEnv(process.env);
  const region = options.region ?? settings.config.region;
  const definition = loadDefinition(name, region);
  const bundles = bundleMode()
    ? await startBundlePool(settings, { simulatedClock: Boolean(options.clock) })
    : undefined;
  try {
    return await runWithHandlers(name, options, settings, region, definition, bundles);
  } finally {
    await bundles?.stop();
  }
}

async function runWithHandlers(
  name: StateMachineName,
  options: RunOptions,
  settings: LocalSettings,
  region: string,
  definition: Definition,
  bundles: BundlePool | undefined,
): Promise<LocalExecutionResult> {
  const handlers = await boundHandlers(definition, settings, options.lockHolder, bundles);
  // A child is a kopsless state machine of this region and account: statemachines/<name>.asl.json.
  const stateMachines = async (arn: string): Promise<ChildStateMachine> => {
    const child = stateMachineOfDeployedName(stateMachineNameOf(arn, region, ACCOUNT) ?? '');
    if (!child || !existsSync(definitionPath(child)))
      throw namedError(
        'StepFunctions.StateMachineDoesNotExistException',
        `State Machine Does Not Exist: '${arn}'`,
      );
    const childDefinition = loadDefinition(child, region);
    return {
      definition: childDefinition,
      handlers: await boundHandlers(childDefinition, settings, options.lockHolder, bundles),
      stateMachineName: deployedStateMachineName(child),
    };
  };
  return runDefinition(definition, {
    ...options,
    settings,
    region,
    handlers,
    stateMachineName: deployedStateMachineName(name),
    stateMachines,
  });
}
