import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type GetExecutionHistoryCommandOutput,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { attachOrStart, runRemoteStateMachine } from '../../src/cli/remote.js';
import type { ProgressEvent } from '../../src/local/sfn/step-functions.js';
import type { LockLease } from '../../src/state/cluster-store.js';

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
      .resolvesOnce({
        events: [
          { id: 1, type: 'ExecutionStarted', timestamp: at(0) },
          {
            id: 2,
            type: 'TaskStateEntered',
            timestamp: at(1),
            stateEnteredEventDetails: { name: 'AcquireLock' },
          },
        ],
      })
      .resolves({
        events: [
          {
            id: 3,
            type: 'TaskStateExited',
            timestamp: at(2),
            stateExitedEventDetails: { name: 'AcquireLock', output: '{"lock":{"expiresAt":"x"}}' },
          },
        ],
      });
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({
        status: 'RUNNING',
        executionArn: EXECUTION,
        stateMachineArn: ARN,
        startDate: at(0),
      })
      .resolves({
        status: 'SUCCEEDED',
        output: '{"done":true}',
        executionArn: EXECUTION,
        stateMachineArn: ARN,
        startDate: at(0),
        stopDate: at(3),
      });
    const events: ProgressEvent[] = [];

    const result = await runRemoteStateMachine(sfn as never, ARN, {
      input: { cluster: 'c.example.com' },
      executionName: 'cli-1',
      onProgress: (e) => events.push(e),
      pollMs: 1,
    });

    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      executionArn: EXECUTION,
      output: { done: true },
    });
    expect(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input).toMatchObject({
      stateMachineArn: ARN,
      name: 'cli-1',
      input: '{"cluster":"c.example.com"}',
    });
    expect(events.map((e) => [e.kind, e.state, e.stateType])).toEqual([
      ['entered', 'AcquireLock', 'Task'],
      ['exited', 'AcquireLock', 'Task'],
    ]);
    expect(events[1]!.output).toEqual({ lock: { expiresAt: 'x' } });
  });

  it('reports a failed task and the execution error', async () => {
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        {
          id: 2,
          type: 'TaskStateEntered',
          timestamp: at(1),
          stateEnteredEventDetails: { name: 'Drain' },
        },
        {
          id: 3,
          type: 'LambdaFunctionFailed',
          timestamp: at(2),
          lambdaFunctionFailedEventDetails: {
            error: 'DrainTimeoutError',
            cause: '{"errorMessage":"error draining node"}',
          },
        },
      ],
    });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'FAILED',
      error: 'DrainTimeoutError',
      cause: 'error draining node',
      executionArn: EXECUTION,
      stateMachineArn: ARN,
      startDate: at(0),
      stopDate: at(3),
    });
    const events: ProgressEvent[] = [];

    const result = await runRemoteStateMachine(sfn as never, ARN, {
      input: {},
      onProgress: (e) => events.push(e),
      pollMs: 1,
    });

    expect(result).toMatchObject({
      status: 'FAILED',
      error: { name: 'DrainTimeoutError', cause: 'error draining node' },
    });
    expect(events.at(-1)).toMatchObject({
      kind: 'failed',
      state: 'Drain',
      error: { name: 'DrainTimeoutError' },
    });
  });
});

describe('attachOrStart (--target aws)', () => {
  const RUNNING = 'arn:aws:states:us-east-1:123456789012:execution:kopsless-update-cluster:cli-0';
  const lockedBy = (
    owner: string,
    operation = 'update',
  ): { readLock: () => Promise<LockLease | undefined> } => ({
    readLock: async () => ({
      owner,
      operation,
      acquiredAt: at(0).toISOString(),
      expiresAt: '2999-01-01T00:00:00Z',
    }),
  });
  const history = (arn: string): GetExecutionHistoryCommandOutput => ({
    $metadata: {},
    events: [
      { id: 1, type: 'ExecutionStarted', timestamp: at(0) },
      {
        id: 2,
        type: 'TaskStateEntered',
        timestamp: at(1),
        stateEnteredEventDetails: { name: `Step-${arn.split(':').pop()}` },
      },
    ],
  });

  it('follows the running execution that holds the cluster to its end instead of starting another', async () => {
    sfn.on(GetExecutionHistoryCommand, { executionArn: RUNNING }).resolves(history(RUNNING));
    sfn
      .on(DescribeExecutionCommand, { executionArn: RUNNING })
      .resolvesOnce({
        status: 'RUNNING',
        executionArn: RUNNING,
        stateMachineArn: ARN,
        startDate: at(0),
      })
      .resolvesOnce({
        status: 'RUNNING',
        executionArn: RUNNING,
        stateMachineArn: ARN,
        startDate: at(0),
      })
      .resolves({
        status: 'SUCCEEDED',
        output: '{"attached":true}',
        executionArn: RUNNING,
        stateMachineArn: ARN,
        startDate: at(0),
        stopDate: at(9),
      });
    const events: ProgressEvent[] = [];
    const log: string[] = [];

    const result = await attachOrStart(sfn as never, ARN, {
      input: { cluster: 'c.example.com' },
      cluster: 'c.example.com',
      store: lockedBy(RUNNING),
      log: (l) => log.push(l),
      onProgress: (e) => events.push(e),
      pollMs: 1,
    });

    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      executionArn: RUNNING,
      output: { attached: true },
    });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(log[0]).toBe(
      `cluster "c.example.com" is locked by running execution ${RUNNING} (update): attaching to it instead of starting another`,
    );
    // Polled twice over the same history: each state is reported once.
    expect(events.map((e) => `${e.kind} ${e.state}`)).toEqual(['entered Step-cli-0']);
  });

  it('waits for a running execution of another state machine, then starts its own', async () => {
    const DELETE = 'arn:aws:states:us-east-1:123456789012:stateMachine:kopsless-delete-cluster';
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn
      .on(DescribeExecutionCommand, { executionArn: RUNNING })
      .resolvesOnce({
        status: 'RUNNING',
        executionArn: RUNNING,
        stateMachineArn: ARN,
        startDate: at(0),
      })
      .resolves({
        status: 'FAILED',
        error: 'X',
        executionArn: RUNNING,
        stateMachineArn: ARN,
        startDate: at(0),
      });
    sfn.on(DescribeExecutionCommand, { executionArn: EXECUTION }).resolves({
      status: 'SUCCEEDED',
      output: '{}',
      executionArn: EXECUTION,
      stateMachineArn: DELETE,
      startDate: at(10),
    });
    const log: string[] = [];

    const result = await attachOrStart(sfn as never, DELETE, {
      input: { cluster: 'c.example.com' },
      cluster: 'c.example.com',
      store: lockedBy(RUNNING),
      log: (l) => log.push(l),
      pollMs: 1,
    });

    expect(result).toMatchObject({ status: 'SUCCEEDED', executionArn: EXECUTION });
    expect(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input).toMatchObject({
      stateMachineArn: DELETE,
    });
    expect(log[1]).toBe(`execution ${RUNNING} ended FAILED; starting kopsless-delete-cluster`);
  });

  it('starts a new execution when the lock names an execution that has ended', async () => {
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand, { executionArn: RUNNING }).resolves({
      status: 'FAILED',
      executionArn: RUNNING,
      stateMachineArn: ARN,
      startDate: at(0),
    });
    sfn.on(DescribeExecutionCommand, { executionArn: EXECUTION }).resolves({
      status: 'SUCCEEDED',
      output: '{}',
      executionArn: EXECUTION,
      stateMachineArn: ARN,
      startDate: at(10),
    });
    const log: string[] = [];

    const result = await attachOrStart(sfn as never, ARN, {
      input: {},
      cluster: 'c.example.com',
      store: lockedBy(RUNNING),
      log: (l) => log.push(l),
      pollMs: 1,
    });

    expect(result.executionArn).toBe(EXECUTION);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
    expect(log).toEqual([]);
  });

  it('starts a new execution when the cluster is not locked', async () => {
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'SUCCEEDED',
      output: '{}',
      executionArn: EXECUTION,
      stateMachineArn: ARN,
      startDate: at(10),
    });

    const result = await attachOrStart(sfn as never, ARN, {
      input: {},
      cluster: 'c.example.com',
      store: { readLock: async () => undefined },
      log: () => undefined,
      pollMs: 1,
    });

    expect(result.executionArn).toBe(EXECUTION);
    expect(
      sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input.executionArn),
    ).toEqual([EXECUTION]);
  });
});
