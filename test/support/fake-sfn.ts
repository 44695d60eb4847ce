import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { AwsStub } from 'aws-sdk-client-mock';

/** An execution as the fake Step Functions keeps it. */
export interface FakeExecution {
  executionArn: string;
  name: string;
  stateMachineArn: string;
  input: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  startDate: Date;
}

function sdkError(name: string, message: string): Error {
  return Object.assign(new Error(message), {
    name,
    $metadata: { httpStatusCode: 400 },
    $fault: 'client',
  });
}

/**
 * StartExecution and DescribeExecution over a mocked SFN client, with the rules AWS applies:
 * execution names are unique per state machine and at most 80 characters; a start with the name
 * and input of a running execution answers that execution; any other reuse of a name is
 * ExecutionAlreadyExists. `now` dates each start.
 */
export function fakeStepFunctions(sfn: AwsStub<any, any, any>, now: () => Date = () => new Date()) {
  const executions = new Map<string, FakeExecution>();
  sfn
    .on(StartExecutionCommand)
    .callsFake(
      async ({
        stateMachineArn,
        name,
        input,
      }: {
        stateMachineArn: string;
        name?: string;
        input?: string;
      }) => {
        if (!name || name.length > 80 || !/^[A-Za-z0-9_-]+$/.test(name))
          throw sdkError('InvalidName', `invalid execution name: ${name}`);
        const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
        const existing = executions.get(executionArn);
        if (existing) {
          if (existing.status === 'RUNNING' && existing.input === input)
            return { executionArn, startDate: existing.startDate };
          throw sdkError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
        }
        executions.set(executionArn, {
          executionArn,
          name,
          stateMachineArn,
          input: input ?? '{}',
          status: 'RUNNING',
          startDate: now(),
        });
        return { executionArn, startDate: now() };
      },
    );
  sfn.on(DescribeExecutionCommand).callsFake(async ({ executionArn }: { executionArn: string }) => {
    const found = executions.get(executionArn);
    if (!found)
      throw sdkError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return { ...found };
  });
  return {
    executions,
    /** Ends an execution, as its state machine would. */
    finish(executionArn: string, status: FakeExecution['status']) {
      const found = executions.get(executionArn);
      if (!found) throw new Error(`no execution ${executionArn}`);
      found.status = status;
    },
    started: () => [...executions.values()],
  };
}
