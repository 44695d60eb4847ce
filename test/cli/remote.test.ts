import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { runRemoteStateMachine } from '../../src/cli/remote.js';
import type { ProgressEvent } from '../../src/local/step-functions.js';

// `--target aws`: the same state machine followed through Step Functions' execution history.
const sfn = mockClient(SFNClient);
const ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:kopsless-update-cluster';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:kopsless-update-cluster:cli-1';
const at = (s: number) => new Date(Date.UTC(2026, 10, 22, 3, 0, s));

beforeEach(() => {
  sfn.reset();
  sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: at(0) });
});

describe('runRemoteStateMachine', () => {
  it('starts the execution and reports its states from the history until it ends', async () => {
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: [{ id: 1, type: 'ExecutionStarted', timestamp: at(0) }, { id: 2, type: 'TaskStateEntered', timestamp: at(1), stateEnteredEventDetails: { name: 'AcquireLock' } }] })
      .resolves({ events: [{ id: 3, type: 'TaskStateExited', timestamp: at(2), stateExitedEventDetails: { name: 'AcquireLock', output: '{"lock":{"expiresAt":"x"}}' } }] });
    sfn.on(DescribeExecutionCommand).resolvesOnce({ status: 'RUNNING', executionArn: EXECUTION, stateMachineArn: ARN, startDate: at(0) }).resolves({ status: 'SUCCEEDED', output: '{"done":true}', executionArn: EXECUTION, stateMachineArn: ARN, startDate: at(0), stopDate: at(3) });
    const events: ProgressEvent[] = [];

    const result = await runRemoteStateMachine(sfn as never, ARN, { input: { cluster: 'c.example.com' }, executionName: 'cli-1', onProgress: (e) => events.push(e), pollMs: 1 });

    expect(result).toMatchObject({ status: 'SUCCEEDED', executionArn: EXECUTION, output: { done: true } });
    expect(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input).toMatchObject({ stateMachineArn: ARN, name: 'cli-1', input: '{"cluster":"c.example.com"}' });
    expect(events.map((e) => [e.kind, e.state, e.stateType])).toEqual([
      ['entered', 'AcquireLock', 'Task'],
      ['exited', 'AcquireLock', 'Task'],
    ]);
    expect(events[1]!.output).toEqual({ lock: { expiresAt: 'x' } });
  });

  it('reports a failed task and the execution error', async () => {
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        { id: 2, type: 'TaskStateEntered', timestamp: at(1), stateEnteredEventDetails: { name: 'Drain' } },
        { id: 3, type: 'LambdaFunctionFailed', timestamp: at(2), lambdaFunctionFailedEventDetails: { error: 'DrainTimeoutError', cause: '{"errorMessage":"error draining node"}' } },
      ],
    });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'DrainTimeoutError', cause: 'error draining node', executionArn: EXECUTION, stateMachineArn: ARN, startDate: at(0), stopDate: at(3) });
    const events: ProgressEvent[] = [];

    const result = await runRemoteStateMachine(sfn as never, ARN, { input: {}, onProgress: (e) => events.push(e), pollMs: 1 });

    expect(result).toMatchObject({ status: 'FAILED', error: { name: 'DrainTimeoutError', cause: 'error draining node' } });
    expect(events.at(-1)).toMatchObject({ kind: 'failed', state: 'Drain', error: { name: 'DrainTimeoutError' } });
  });
});
