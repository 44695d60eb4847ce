import { GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  executionArn,
  executionsApi,
  isExecutionArn,
  stateMachineArn,
  stateMachineNameOf,
} from '../../src/aws/sfn.js';
import { AwsRequestError, TransientAwsError } from '../../src/errors.js';
import { awsError } from '../handlers/support.js';

const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:kopsless-rolling-update';
const sfn = mockClient(SFNClient);
const api = () =>
  executionsApi(
    new SFNClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  );

beforeEach(() => sfn.reset());

describe('Step Functions ARNs', () => {
  it('names an execution under its state machine', () => {
    expect(executionArn(MACHINE, 'eni-a-20261125120000')).toBe(
      'arn:aws:states:us-east-1:123456789012:execution:kopsless-rolling-update:eni-a-20261125120000',
    );
  });

  it('builds a state machine ARN and reads its name back', () => {
    const arn = stateMachineArn('eu-west-1', '123456789012', 'kopsless-delete-cluster');

    expect(arn).toBe('arn:aws:states:eu-west-1:123456789012:stateMachine:kopsless-delete-cluster');
    expect(stateMachineNameOf(arn, 'eu-west-1', '123456789012')).toBe('kopsless-delete-cluster');
  });

  it('reads no name from a state machine of another region or from an execution ARN', () => {
    expect(stateMachineNameOf(MACHINE, 'eu-west-1', '123456789012')).toBeUndefined();
    expect(
      stateMachineNameOf(executionArn(MACHINE, 'x'), 'us-east-1', '123456789012'),
    ).toBeUndefined();
  });
});

describe('Step Functions adapter: start', () => {
  it('answers the ARN of the execution it started', async () => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: executionArn(MACHINE, 'run-1'), startDate: new Date() });

    expect(await api().start(MACHINE, 'run-1', { cluster: 'a.example.com' })).toEqual({
      executionArn: executionArn(MACHINE, 'run-1'),
      existing: false,
    });
    expect(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input).toEqual({
      stateMachineArn: MACHINE,
      name: 'run-1',
      input: '{"cluster":"a.example.com"}',
    });
  });

  it('answers the existing execution when its name is taken', async () => {
    sfn.on(StartExecutionCommand).rejects(awsError('ExecutionAlreadyExists', 400));

    expect(await api().start(MACHINE, 'run-1', {})).toEqual({
      executionArn: executionArn(MACHINE, 'run-1'),
      existing: true,
    });
  });

  it('classifies any other refusal', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejectsOnce(awsError('StateMachineDoesNotExist', 400))
      .rejectsOnce(awsError('ThrottlingException', 400));

    await expect(api().start(MACHINE, 'run-1', {})).rejects.toBeInstanceOf(AwsRequestError);
    await expect(api().start(MACHINE, 'run-1', {})).rejects.toBeInstanceOf(TransientAwsError);
  });
});

describe('execution ARNs and histories', () => {
  it('knows an execution ARN of any partition, and not a state machine ARN', () => {
    expect(isExecutionArn(executionArn(MACHINE, 'run-1'))).toBe(true);
    expect(
      isExecutionArn(
        'arn:aws-cn:states:cn-north-1:123456789012:execution:kopsless-rolling-update:run-1',
      ),
    ).toBe(true);
    expect(isExecutionArn(MACHINE)).toBe(false);
    expect(isExecutionArn('local-pid-123')).toBe(false);
  });

  it('reads a history of several pages, oldest first', async () => {
    sfn
      .on(GetExecutionHistoryCommand, { nextToken: undefined })
      .resolves({ events: [{ id: 1 }, { id: 2 }] as never, nextToken: 't' });
    sfn
      .on(GetExecutionHistoryCommand, { nextToken: 't' })
      .resolves({ events: [{ id: 3 }] as never });

    const events = await api().history(executionArn(MACHINE, 'run-1'));

    expect(events.map((e) => e.id)).toEqual([1, 2, 3]);
  });
});
