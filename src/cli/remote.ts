import type { HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import { executionsApi, isExecutionArn } from '../aws/sfn.js';
import { now, sleep } from '../clock.js';
import type {
  LocalExecutionResult,
  ProgressEvent,
  RunOptions,
} from '../local/sfn/step-functions.js';
import type { ClusterStore } from '../state/cluster-store.js';

/**
 * Runs a deployed state machine from the CLI (`--target aws`): starts the execution in Step
 * Functions and follows its history, reporting states as the local runner does, so the same
 * progress lines and exit codes come out.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const STATE_TYPES: Record<string, string> = {
  Task: 'Task',
  Choice: 'Choice',
  Wait: 'Wait',
  Pass: 'Pass',
  Succeed: 'Succeed',
  Fail: 'Fail',
  Map: 'Map',
  Parallel: 'Parallel',
};

/** Maps one Step Functions history event to the runner's progress event, where there is one. */
export function toProgress(
  event: HistoryEvent,
  current: { state?: string; type?: string },
): ProgressEvent | undefined {
  const at = event.timestamp?.getTime() ?? now().getTime();
  const type = event.type ?? '';
  const entered = /^(\w+?)StateEntered$/.exec(type);
  if (entered && event.stateEnteredEventDetails?.name) {
    current.state = event.stateEnteredEventDetails.name;
    current.type = STATE_TYPES[entered[1]!] ?? entered[1]!;
    return { kind: 'entered', state: current.state, stateType: current.type, at };
  }
  const exited = /^(\w+?)StateExited$/.exec(type);
  if (exited && event.stateExitedEventDetails?.name) {
    let output: Json = null;
    try {
      output = JSON.parse(event.stateExitedEventDetails.output ?? 'null') as Json;
    } catch {
      output = null;
    }
    return {
      kind: 'exited',
      state: event.stateExitedEventDetails.name,
      stateType: STATE_TYPES[exited[1]!] ?? exited[1]!,
      at,
      output,
    };
  }
  if ((type === 'LambdaFunctionFailed' || type === 'TaskFailed') && current.state) {
    const details = event.lambdaFunctionFailedEventDetails ?? event.taskFailedEventDetails;
    return {
      kind: 'failed',
      state: current.state,
      stateType: current.type ?? 'Task',
      at,
      error: { name: details?.error ?? 'Error', cause: details?.cause ?? '' },
    };
  }
  return undefined;
}

export async function runRemoteStateMachine(
  sfn: Pick<SFNClient, 'send'>,
  stateMachineArn: string,
  options: RunOptions & { pollMs?: number },
): Promise<LocalExecutionResult> {
  const name =
    options.executionName ??
    `cli-${now()
      .toISOString()
      .replace(/[^0-9]/g, '')
      .slice(0, 14)}-${Math.random().toString(36).slice(2, 8)}`;
  // A name already taken (a retried command with --name) follows the execution that has it.
  const started = await executionsApi(sfn).start(stateMachineArn, name, options.input);
  return followExecution(sfn, started.executionArn, now(), options);
}

/** Follows an execution's history to its end, reporting its states, and returns how it ended. */
export async function followExecution(
  sfn: Pick<SFNClient, 'send'>,
  executionArn: string,
  startDate: Date,
  options: Pick<RunOptions, 'onProgress'> & { pollMs?: number },
): Promise<LocalExecutionResult> {
  const executions = executionsApi(sfn);
  const current: { state?: string; type?: string } = {};
  // Each turn reads the history from its start, so events already reported are known by their
  // ids and skipped.
  let lastId = 0;
  for (;;) {
    // Read all history there is, then look at the status: no event is missed before the end.
    for (const event of await executions.history(executionArn)) {
      if (event.id !== undefined && event.id <= lastId) continue;
      lastId = event.id ?? lastId;
      const progress = toProgress(event, current);
      if (progress) options.onProgress?.(progress);
    }
    const execution = await executions.describe(executionArn);
    if (!execution) throw new Error(`execution ${executionArn} does not exist`);
    const startedAt = execution.startDate ?? startDate.toISOString();
    if (execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE') {
      const stoppedAt = execution.stopDate ?? now().toISOString();
      if (execution.status === 'SUCCEEDED')
        return {
          executionArn,
          status: 'SUCCEEDED',
          output: (execution.output ?? null) as Json,
          startedAt,
          stoppedAt,
        };
      return {
        executionArn,
        status: 'FAILED',
        error: { name: execution.error ?? execution.status, cause: execution.cause ?? '' },
        startedAt,
        stoppedAt,
      };
    }
    await sleep(options.pollMs ?? 2000);
  }
}

export interface AttachOptions extends RunOptions {
  pollMs?: number;
  /** The cluster the run is for; with `store`, its lock names any execution already running. */
  cluster?: string;
  store?: Pick<ClusterStore, 'readLock'>;
  log: (line: string) => void;
}

/**
 * `--target aws`: a command for a cluster whose lock is held by a RUNNING execution attaches to
 * it (follows its history to the end, with the same progress lines) instead of starting a second
 * one that would only fail on the lock. When that execution runs this same state machine (the
 * user ran the command again, say after a closed terminal), its result is the command's. When it
 * runs another one (a delete typed while a create runs), the command waits for it to end and
 * then starts its own. A lock whose execution has ended (an expired lease, a crashed Lambda) is
 * left to the execution's AcquireLock, as before.
 */
export async function attachOrStart(
  sfn: Pick<SFNClient, 'send'>,
  stateMachineArn: string,
  options: AttachOptions,
): Promise<LocalExecutionResult> {
  const lease =
    options.cluster && options.store ? await options.store.readLock(options.cluster) : undefined;
  if (lease && isExecutionArn(lease.owner)) {
    // An owner from another account or a deleted state machine is not found: AcquireLock decides.
    const running = await executionsApi(sfn).describe(lease.owner);
    if (running?.status === 'RUNNING') {
      options.log(
        `cluster "${options.cluster}" is locked by running execution ${lease.owner} (${lease.operation}): attaching to it instead of starting another`,
      );
      const result = await followExecution(
        sfn,
        lease.owner,
        running.startDate ? new Date(running.startDate) : now(),
        options,
      );
      if (running.stateMachineArn === stateMachineArn) return result;
      options.log(
        `execution ${lease.owner} ended ${result.status}; starting ${stateMachineArn.split(':').pop()}`,
      );
    }
  }
  return runRemoteStateMachine(sfn, stateMachineArn, options);
}
