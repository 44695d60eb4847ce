import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { classifyAwsError, isAwsErrorCode } from '../errors.js';

export interface ExecutionView {
  executionArn: string;
  /** The state machine it is an execution of. */
  stateMachineArn?: string;
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
  /**
   * Starts the execution `name`; when that name is taken (ExecutionAlreadyExists: started before, by
   * this request's first try or another), answers the existing execution's ARN with `existing`.
   */
  start(
    stateMachineArn: string,
    name: string,
    input: unknown,
  ): Promise<{ executionArn: string; existing: boolean }>;
  describe(executionArn: string): Promise<ExecutionView | undefined>;
  /** Every history event recorded so far, page by page (maxResults 200), oldest first. */
  history(executionArn: string): Promise<HistoryEvent[]>;
}

/** The longest execution name Step Functions accepts. */
export const EXECUTION_NAME_MAX_CHARS = 80;

/**
 * Why Step Functions would refuse `name` as an execution name (InvalidName), or undefined: 1 to
 * 80 characters, none of them whitespace, `< > { } [ ] ? * " # % \ ^ | ~ \` $ & , ; : /` or a
 * control character.
 */
export function executionNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > EXECUTION_NAME_MAX_CHARS)
    return `it has ${name.length} characters, more than ${EXECUTION_NAME_MAX_CHARS}`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  const bad = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/u.exec(name);
  return bad ? `it contains ${JSON.stringify(bad[0])}, which execution names may not` : undefined;
}

/** The name in an execution ARN (its last field). */
export function executionNameOf(executionArn: string): string {
  return executionArn.slice(executionArn.lastIndexOf(':') + 1);
}

/** An execution ARN, of any partition (`arn:aws:`, `arn:aws-cn:`, `arn:aws-us-gov:`). */
export function isExecutionArn(text: string): boolean {
  return /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/.test(text);
}

/** The ARN of the state machine `name` deployed in that region and account (`arn:aws:states:...:stateMachine:<name>`). */
export function stateMachineArn(region: string, account: string, name: string): string {
  return `arn:aws:states:${region}:${account}:stateMachine:${name}`;
}

/** The name an ARN from stateMachineArn gives the state machine, if it is one of that region and account. */
export function stateMachineNameOf(
  arn: string,
  region: string,
  account: string,
): string | undefined {
  const prefix = stateMachineArn(region, account, '');
  const name = arn.startsWith(prefix) ? arn.slice(prefix.length) : '';
  return /^[A-Za-z0-9_-]+$/.test(name) ? name : undefined;
}

/**
 * The ARN Step Functions gives the execution `name` of a state machine: known before it starts, so a
 * start that finds the name taken (ExecutionAlreadyExists) and a look-up by name both answer it.
 */
export function executionArn(machineArn: string, name: string): string {
  return `${machineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

function parse(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `client` needs only `send`. */
export function executionsApi(client: Pick<SFNClient, 'send'>): ExecutionsApi {
  return {
    async start(stateMachineArn, name, input) {
      try {
        const out = await client.send(
          new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
        );
        return {
          executionArn: out.executionArn ?? executionArn(stateMachineArn, name),
          existing: false,
        };
      } catch (error) {
        // Same name, execution closed or input different: it was started before; report that one.
        if (isAwsErrorCode(error, 'ExecutionAlreadyExists'))
          return { executionArn: executionArn(stateMachineArn, name), existing: true };
        throw classifyAwsError(error);
      }
    },
    async describe(executionArn) {
      try {
        const out = await client.send(new DescribeExecutionCommand({ executionArn }));
        return {
          executionArn: out.executionArn ?? executionArn,
          ...(out.stateMachineArn ? { stateMachineArn: out.stateMachineArn } : {}),
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
    async history(executionArn) {
      const events: HistoryEvent[] = [];
      let nextToken: string | undefined;
      try {
        do {
          const page = await client.send(
            new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 200 }),
          );
          events.push(...(page.events ?? []));
          nextToken = page.nextToken;
        } while (nextToken);
      } catch (error) {
        throw classifyAwsError(error);
      }
      return events;
    },
  };
}
