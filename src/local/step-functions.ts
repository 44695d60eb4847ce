import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUNCTIONS, type FunctionLogicalId, type StateMachineName } from '../functions-registry.js';
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


async function localHandler(logicalId: FunctionLogicalId, lockHolder?: LockHolder) {
  const module = await LOCAL_HANDLERS[logicalId]();
  const invoke = async (input: Json) => (await module.handler(input, lambdaContext(`kopsless-${logicalId}`))) as Json;
  if (!lockHolder || logicalId !== 'WriteStateFunction') return invoke;
  // The holder rides along with the acquireLock request only here: on AWS no process holds it.
  return async (input: Json) =>
    invoke(input && typeof input === 'object' && !Array.isArray(input) && input.action === 'acquireLock' ? { ...input, holder: lockHolder as unknown as Json } : input);
}

/** The execution ARN a local run of `name` named `executionName` has (the lock's owner). */
export function localExecutionArn(name: StateMachineName, executionName: string, region = process.env.AWS_REGION ?? 'us-east-1'): string {
  return `arn:aws:states:${region}:${ACCOUNT}:execution:kopsless-${name}:${executionName}`;
}

/** Runs one execution of a state machine to its end. */
export async function runStateMachine(name: StateMachineName, options: RunOptions): Promise<LocalExecutionResult> {
  const { StateMachine } = await import('aws-local-stepfunctions');
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const definition = loadDefinition(name, region);
  const taskResourceLocalHandlers: Record<string, (input: Json) => Promise<Json>> = {};
  const waitTimeOverrides: Record<string, number> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  for (const [stateName, state] of Object.entries(definition.States)) {
    if (state.Type === 'Task' && state.Resource) {
      const logicalId = /function:kopsless-(\w+)$/.exec(state.Resource)?.[1] as FunctionLogicalId | undefined;
      if (!logicalId || !(logicalId in FUNCTIONS)) throw new Error(`state ${stateName}: no local handler for ${state.Resource}`);
      const handler = await localHandler(logicalId, options.lockHolder);
      const afterTask = options.afterTask;
      taskResourceLocalHandlers[stateName] = afterTask
        ? async (input: Json) => {
            const output = await handler(input);
            await afterTask(stateName, output);
            return output;
          }
        : handler;
      retryIntervalOverrides[stateName] = 20;
    }
    if (state.Type === 'Wait') waitTimeOverrides[stateName] = options.waitMs ?? 100;
  }
  const executionName = options.executionName ?? `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const executionArn = localExecutionArn(name, executionName, region);
  const machine = new StateMachine(definition as never, { validationOptions: { checkPaths: true, checkArn: false } } as never);
  const startedAt = new Date().toISOString();
  const execution = machine.run(options.input as never, {
    overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides } as never,
    context: { Execution: { Id: executionArn, Name: executionName, Input: options.input, StartTime: startedAt }, StateMachine: { Id: `kopsless-${name}`, Name: `kopsless-${name}` } } as never,
  });
  const types = Object.fromEntries(Object.entries(definition.States).map(([k, v]) => [k, v.Type]));
  const pump = (async () => {
    for await (const event of execution.eventLogs as AsyncIterable<Record<string, any>>) {
      const state = event.state?.name as string | undefined;
      if (!state || !options.onProgress) continue;
      const base = { state, stateType: types[state] ?? 'Unknown', at: event.timestamp as number };
      if (event.type === 'StateEntered') options.onProgress({ ...base, kind: 'entered' });
      else if (event.type === 'StateExited') options.onProgress({ ...base, kind: 'exited', output: event.state.output as Json });
      else if (event.type === 'StateRetried') options.onProgress({ ...base, kind: 'retried' });
      else if (event.type === 'StateCaught') options.onProgress({ ...base, kind: 'caught' });
      else if (event.type === 'StateFailed') options.onProgress({ ...base, kind: 'failed', error: { name: String(event.Error), cause: String(event.Cause) } });
    }
  })();
  try {
    const output = (await execution.result) as Json;
    await pump.catch(() => undefined);
    return { executionArn, status: 'SUCCEEDED', output, startedAt, stoppedAt: new Date().toISOString() };
  } catch (error) {
    await pump.catch(() => undefined);
    const e = error as { name?: string; message?: string; cause?: unknown };
    // An ExecutionError wraps what the Fail state (or the last failed state) reported.
    const inner = (e.cause ?? e) as { name?: string; message?: string };
    return { executionArn, status: 'FAILED', error: { name: inner.name ?? 'Error', cause: inner.message ?? String(error) }, startedAt, stoppedAt: new Date().toISOString() };
  }
}
