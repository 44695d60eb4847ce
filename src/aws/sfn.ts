import { DescribeExecutionCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { classifyAwsError, isAwsErrorCode } from '../errors.js';

export interface ExecutionView {
  executionArn: string;
  name: string;
  status: string;
  startDate?: string;
  stopDate?: string;
  error?: string;
  cause?: string;
  input?: unknown;
  output?: unknown;
}

/** The Step Functions calls of the API: start an execution (idempotent by name) and look at one. */
export interface ExecutionsApi {
  /** Starts, or finds the running execution of the same name and input; `existing` when it was started before. */
  start(stateMachineArn: string, name: string, input: unknown): Promise<{ executionArn: string; existing: boolean }>;
  describe(executionArn: string): Promise<ExecutionView | undefined>;
}

function parse(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function executionsApi(client: Pick<SFNClient, 'send'>): ExecutionsApi {
  return {
    async start(stateMachineArn, name, input) {
      try {
        const out = await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
        return { executionArn: out.executionArn ?? '', existing: false };
      } catch (error) {
        // Same name, execution closed or input different: it was started before; report that one.
        if (isAwsErrorCode(error, 'ExecutionAlreadyExists')) return { executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`, existing: true };
        throw classifyAwsError(error);
      }
    },
    async describe(executionArn) {
      try {
        const out = await client.send(new DescribeExecutionCommand({ executionArn }));
        return {
          executionArn: out.executionArn ?? executionArn,
          name: out.name ?? '',
          status: out.status ?? 'UNKNOWN',
          ...(out.startDate ? { startDate: out.startDate.toISOString() } : {}),
          ...(out.stopDate ? { stopDate: out.stopDate.toISOString() } : {}),
          ...(out.error ? { error: out.error } : {}),
          ...(out.cause ? { cause: out.cause } : {}),
          input: parse(out.input),
          ...(out.output ? { output: parse(out.output) } : {}),
        };
      } catch (error) {
        if (isAwsErrorCode(error, 'ExecutionDoesNotExist', 'InvalidArn')) return undefined;
        throw classifyAwsError(error);
      }
    },
  };
}
