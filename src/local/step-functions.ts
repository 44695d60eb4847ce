import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUNCTIONS, type FunctionLogicalId, type StateMachineName } from '../functions-registry.js';
import { InvalidInputError } from '../errors.js';
import { inFunction } from './aws-calls.js';
import { faultsFromEnv, withinHandler } from './faults.js';
import { dataLimitFailure, ExecutionHistory, PAYLOAD_LIMIT_BYTES, payloadBytes, type EngineEvent } from './history.js';
import { LOCAL_HANDLERS, lambdaContext } from './handlers.js';
import type { LockHolder } from './holder.js';

/**
 * Runs the real ASL files in-process with aws-local-stepfunctions, each Task bound to the real
 * handler in functions/ (imported, not invoked over the network), Waits and retry pauses
 * shortened. Everything else about the execution is what Step Functions would do.
 */

// aws-local-stepfunctions uses Promise.withResolvers (Node 22); Node 20 needs this stand-in.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  (Promise as unknown as { withResolvers: () => unknown }).withResolvers = function withResolvers<T>() {
    let resolve!: (value: T) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  };
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The SDK's attempts per call in the handlers, as template.yaml's Globals set AWS_MAX_ATTEMPTS. */
export const HANDLER_MAX_ATTEMPTS = 5;
const ACCOUNT = '123456789012';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type State = { Type: string; Resource?: string; [key: string]: unknown };
export type Definition = { StartAt: string; States: Record<string, State>; [key: string]: unknown };

export function definitionPath(name: StateMachineName): string {
  return join(ROOT, 'statemachines', `${name}.asl.json`);
}

/** The ASL text with every `${...Arn}` substitution replaced as SAM would, with local ARNs. */
export function loadDefinition(name: StateMachineName, region: string): Definition {
  const text = readFileSync(definitionPath(name), 'utf8').replace(/\$\{(\w+)Arn\}/g, (_, id: string) => `arn:aws:lambda:${region}:${ACCOUNT}:function:kopsless-${id}`);
  return JSON.parse(text) as Definition;
}

export interface ProgressEvent {
  kind: 'entered' | 'exited' | 'retried' | 'caught' | 'failed';
  state: string;
  stateType: string;
  at: number;
  output?: Json;
  error?: { name: string; cause: string };
}

export interface LocalExecutionResult {
  executionArn: string;
  status: 'SUCCEEDED' | 'FAILED';
  output?: Json;
  error?: { name: string; cause: string };
  startedAt: string;
  stoppedAt: string;
  /** History events Step Functions Standard would have recorded (local runs only). */
  historyEvents?: number;
  /** State transitions as Step Functions bills them (local runs only). */
  transitions?: number;
}

export interface RunOptions {
  input: Json;
  executionName?: string;
  region?: string;
  /** Milliseconds each Wait state lasts locally (moto needs no real waiting). */
  waitMs?: number;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * The process running this execution, written into the cluster lock when the execution takes
   * it, so that a later command on this machine can tell that the holder is gone (kill -9) and
   * take the lock over instead of waiting out the lease. Only local runs have one.
   */
  lockHolder?: LockHolder;
  /** Awaited after every Task, before the execution moves on: lets a test look at the world between steps. */
  afterTask?: (state: string, output: Json) => Promise<void>;
}

type TaskHandler = (input: Json) => Promise<Json>;

export interface DefinitionRunOptions extends RunOptions {
  /** The function each Task state runs, by state name (Tasks inside Map and Parallel included). */
  handlers: Record<string, TaskHandler>;
  /** The state machine's name in ARNs (kopsless-<name> for the real ones). */
  stateMachineName: string;
  /** History events allowed (Step Functions' quota unless a test asks for fewer). */
  historyEventLimit?: number;
}

/** The execution ARN a local run of `name` named `executionName` has (the lock's owner). */
export function localExecutionArn(name: StateMachineName, executionName: string, region = process.env.AWS_REGION ?? 'us-east-1'): string {
  return `arn:aws:states:${region}:${ACCOUNT}:execution:kopsless-${name}:${executionName}`;
}

async function localHandler(logicalId: FunctionLogicalId, lockHolder?: LockHolder): Promise<TaskHandler> {
  const module = await LOCAL_HANDLERS[logicalId]();
  // Inside inFunction, the AWS calls the handler makes are attributed to it (see aws-calls.ts); inside
  // withinHandler, they are the only calls fault injection (KOPSLESS_FAULTS) may touch.
  const invoke = async (input: Json) =>
    (await inFunction(logicalId, () => withinHandler(logicalId, () => module.handler(input, lambdaContext(`kopsless-${logicalId}`))))) as Json;
  if (!lockHolder || logicalId !== 'WriteStateFunction') return invoke;
  // The holder rides along with the acquireLock request only here: on AWS no process holds it.
  return async (input: Json) =>
    invoke(input && typeof input === 'object' && !Array.isArray(input) && input.action === 'acquireLock' ? { ...input, holder: lockHolder as unknown as Json } : input);
}

/** Every Task state of a definition, those inside Map iterations and Parallel branches included. */
export function taskStates(definition: Pick<Definition, 'States'>): Array<[string, State]> {
  return Object.entries(definition.States).flatMap(([name, state]): Array<[string, State]> => {
    if (state.Type === 'Task') return [[name, state]];
    const nested = [state.Iterator, state.ItemProcessor, ...((state.Branches as unknown[]) ?? [])].filter(Boolean) as Array<Pick<Definition, 'States'>>;
    return nested.flatMap(taskStates);
  });
}

/** Every Wait state, nested ones included. */
function waitStates(definition: Pick<Definition, 'States'>): string[] {
  return Object.entries(definition.States).flatMap(([name, state]) => {
    if (state.Type === 'Wait') return [name];
    const nested = [state.Iterator, state.ItemProcessor, ...((state.Branches as unknown[]) ?? [])].filter(Boolean) as Array<Pick<Definition, 'States'>>;
    return nested.flatMap(waitStates);
  });
}

/** An error Step Functions ends the execution with: no Retry or Catch matches it (aws-local-stepfunctions reads these two flags). */
function terminalError(failure: { name: string; cause: string }): Error {
  return Object.assign(new Error(failure.cause), { name: failure.name, isRetryable: false, isCatchable: false });
}

/** Lets the event pump read every event emitted so far (it runs on promise jobs only). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs one execution of any ASL definition to its end with the given Task handlers, counting
 * its history as Step Functions would and failing it where Step Functions would: past the
 * history quota, or on a state input or output over 256 KiB.
 */
export async function runDefinition(definition: Definition, options: DefinitionRunOptions): Promise<LocalExecutionResult> {
  const { StateMachine } = await import('aws-local-stepfunctions');
  faultsFromEnv();
  // Before the handlers are imported: their module-scope clients read it when first used.
  process.env.AWS_MAX_ATTEMPTS ??= String(HANDLER_MAX_ATTEMPTS);
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const inputBytes = payloadBytes(options.input);
  if (inputBytes > PAYLOAD_LIMIT_BYTES) {
    // StartExecution itself refuses such an input: there is no execution.
    throw new InvalidInputError([{ path: '(input)', message: `Too long: ${inputBytes} bytes, more than the ${PAYLOAD_LIMIT_BYTES} bytes (256 KiB) Step Functions accepts` }]);
  }
  if (options.input === null) {
    // On AWS the first state, ValidateInput, would refuse it; the local engine cannot even pass
    // `$` of a null input to it (States.Runtime), so the refusal comes before the execution.
    throw new InvalidInputError([{ path: '(input)', message: 'expected object, got null' }]);
  }
  const history = new ExecutionHistory(options.historyEventLimit);
  const taskResourceLocalHandlers: Record<string, TaskHandler> = {};
  const waitTimeOverrides: Record<string, number> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  for (const [stateName, state] of taskStates(definition)) {
    const handler = options.handlers[stateName];
    if (!handler) throw new Error(`state ${stateName}: no local handler for ${state.Resource}`);
    const resource = state.Resource ?? '';
    taskResourceLocalHandlers[stateName] = async (input: Json) => {
      await settle();
      if (history.failure) throw terminalError(history.failure);
      const inBytes = payloadBytes(input);
      if (inBytes > PAYLOAD_LIMIT_BYTES) history.fail(dataLimitFailure(`the input of state ${stateName} (after Parameters)`, inBytes));
      else history.taskStarted(resource);
      if (history.failure) throw terminalError(history.failure);
      let output: Json;
      try {
        output = await handler(input);
      } catch (error) {
        history.taskEnded(resource, false);
        throw error;
      }
      history.taskEnded(resource, true);
      const outBytes = payloadBytes(output);
      if (outBytes > PAYLOAD_LIMIT_BYTES) history.fail(dataLimitFailure(`the result of state ${stateName}`, outBytes));
      if (history.failure) throw terminalError(history.failure);
      if (options.afterTask) await options.afterTask(stateName, output);
      return output;
    };
    retryIntervalOverrides[stateName] = 20;
  }
  for (const stateName of waitStates(definition)) waitTimeOverrides[stateName] = options.waitMs ?? 100;
  const executionName = options.executionName ?? `${options.stateMachineName}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const executionArn = `arn:aws:states:${region}:${ACCOUNT}:execution:${options.stateMachineName}:${executionName}`;
  const machine = new StateMachine(definition as never, { validationOptions: { checkPaths: true, checkArn: false } } as never);
  const startedAt = new Date().toISOString();
  const execution = machine.run(options.input as never, {
    overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides } as never,
    context: { Execution: { Id: executionArn, Name: executionName, Input: options.input, StartTime: startedAt }, StateMachine: { Id: options.stateMachineName, Name: options.stateMachineName } } as never,
  });
  let aborted = false;
  const pump = (async () => {
    for await (const event of execution.eventLogs as AsyncIterable<Record<string, any>>) {
      // A quota that a Pass, Choice or Wait state breaks ends the execution here; a Task's is thrown from its handler above.
      const failure = history.onEngineEvent(event as EngineEvent);
      if (failure) history.fail(failure);
      if (history.failure && !aborted) {
        aborted = true;
        execution.abort();
      }
      const state = event.state?.name as string | undefined;
      if (!state || !options.onProgress) continue;
      const base = { state, stateType: (event.state?.type as string | undefined) ?? 'Unknown', at: event.timestamp as number };
      if (event.type === 'StateEntered') options.onProgress({ ...base, kind: 'entered' });
      else if (event.type === 'StateExited') options.onProgress({ ...base, kind: 'exited', output: event.state.output as Json });
      else if (event.type === 'StateRetried') options.onProgress({ ...base, kind: 'retried' });
      else if (event.type === 'StateCaught') options.onProgress({ ...base, kind: 'caught' });
      else if (event.type === 'StateFailed') options.onProgress({ ...base, kind: 'failed', error: { name: String(event.Error), cause: String(event.Cause) } });
    }
  })();
  const counts = () => ({ historyEvents: history.events, transitions: history.transitions });
  try {
    const output = (await execution.result) as Json;
    await pump.catch(() => undefined);
    // A Pass or Choice state's output over 256 KiB with no Task after it: the pump saw it, the engine did not.
    if (history.failure) return { executionArn, status: 'FAILED', error: history.failure, startedAt, stoppedAt: new Date().toISOString(), ...counts() };
    return { executionArn, status: 'SUCCEEDED', output, startedAt, stoppedAt: new Date().toISOString(), ...counts() };
  } catch (error) {
    await pump.catch(() => undefined);
    const e = error as { name?: string; message?: string; cause?: unknown };
    // An ExecutionError wraps what the Fail state (or the last failed state) reported.
    const inner = (e.cause ?? e) as { name?: string; message?: string };
    const failure = history.failure ?? { name: inner.name ?? 'Error', cause: inner.message ?? String(error) };
    return { executionArn, status: 'FAILED', error: failure, startedAt, stoppedAt: new Date().toISOString(), ...counts() };
  }
}

/** Runs one execution of a kopsless state machine to its end, each Task bound to its real handler. */
export async function runStateMachine(name: StateMachineName, options: RunOptions): Promise<LocalExecutionResult> {
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const definition = loadDefinition(name, region);
  const handlers: Record<string, TaskHandler> = {};
  for (const [stateName, state] of taskStates(definition)) {
    const logicalId = /function:kopsless-(\w+)$/.exec(state.Resource ?? '')?.[1] as FunctionLogicalId | undefined;
    if (!logicalId || !(logicalId in FUNCTIONS)) throw new Error(`state ${stateName}: no local handler for ${state.Resource}`);
    handlers[stateName] = await localHandler(logicalId, options.lockHolder);
  }
  return runDefinition(definition, { ...options, region, handlers, stateMachineName: `kopsless-${name}` });
}
