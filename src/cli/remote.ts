import { DescribeExecutionCommand, GetExecutionHistoryCommand, StartExecutionCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalExecutionResult, ProgressEvent, RunOptions } from '../local/step-functions.js';

/**
 * Runs a deployed state machine from the CLI (`--target aws`): starts the execution in Step
 * Functions and follows its history, reporting states as the local runner does, so the same
 * progress lines and exit codes come out.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const STATE_TYPES: Record<string, string> = { Task: 'Task', Choice: 'Choice', Wait: 'Wait', Pass: 'Pass', Succeed: 'Succeed', Fail: 'Fail', Map: 'Map', Parallel: 'Parallel' };

/** Maps one Step Functions history event to the runner's progress event, where there is one. */
export function toProgress(event: HistoryEvent, current: { state?: string; type?: string }): ProgressEvent | undefined {
  const at = event.timestamp?.getTime() ?? Date.now();
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
    return { kind: 'exited', state: event.stateExitedEventDetails.name, stateType: STATE_TYPES[exited[1]!] ?? exited[1]!, at, output };
  }
  if ((type === 'LambdaFunctionFailed' || type === 'TaskFailed') && current.state) {
    const details = event.lambdaFunctionFailedEventDetails ?? event.taskFailedEventDetails;
    return { kind: 'failed', state: current.state, stateType: current.type ?? 'Task', at, error: { name: details?.error ?? 'Error', cause: details?.cause ?? '' } };
  }
  return undefined;
}

export async function runRemoteStateMachine(sfn: Pick<SFNClient, 'send'>, stateMachineArn: string, options: RunOptions & { pollMs?: number }): Promise<LocalExecutionResult> {
  const name = options.executionName ?? `cli-${new Date().toISOString().replace(/[^0-9]/g, '').slice(0, 14)}-${Math.random().toString(36).slice(2, 8)}`;
  const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(options.input) }));
  const executionArn = started.executionArn ?? '';
  const startedAt = (started.startDate ?? new Date()).toISOString();
  const current: { state?: string; type?: string } = {};
  let token: string | undefined;
  for (;;) {
    // Read all history there is, then look at the status: no event is missed before the end.
    do {
      const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken: token, maxResults: 200 }));
      for (const event of page.events ?? []) {
        const progress = toProgress(event, current);
        if (progress) options.onProgress?.(progress);
      }
      token = page.nextToken;
    } while (token);
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status && execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE') {
      const stoppedAt = (execution.stopDate ?? new Date()).toISOString();
      if (execution.status === 'SUCCEEDED') return { executionArn, status: 'SUCCEEDED', output: JSON.parse(execution.output ?? 'null') as Json, startedAt, stoppedAt };
      return { executionArn, status: 'FAILED', error: { name: execution.error ?? execution.status, cause: execution.cause ?? '' }, startedAt, stoppedAt };
    }
    await sleep(options.pollMs ?? 2000);
  }
}
