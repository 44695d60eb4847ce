import { parseAllDocuments } from 'yaml';

/**
 * What EventBridge delivers when an execution of a state machine changes status
 * (`source: aws.states`, `detail-type: Step Functions Execution Status Change`): the fields the
 * notification reads. `input` and `output` are the execution's JSON as text, as AWS sends them.
 */
export interface ExecutionStatusChange {
  version: '0';
  id: string;
  'detail-type': 'Step Functions Execution Status Change';
  source: 'aws.states';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: {
    executionArn: string;
    stateMachineArn: string;
    name: string;
    status: ExecutionStatus;
    /** Milliseconds since the epoch. */
    startDate: number;
    stopDate: number | null;
    input: string;
    output: string | null;
    error?: string | null;
    cause?: string | null;
  };
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** The statuses someone is told about; SUCCEEDED only when the deployer asks for it. */
export const FAILURE_STATUSES: readonly ExecutionStatus[] = ['FAILED', 'TIMED_OUT', 'ABORTED'];

export interface Notification {
  /** At most 100 characters, SNS's limit for an email subject. */
  subject: string;
  message: string;
  cluster?: string;
}

/** SNS refuses a subject over 100 characters. */
const SUBJECT_LIMIT = 100;
/** Enough of a cause to act on; the console link has the rest. */
const CAUSE_LIMIT = 2000;

/** The cluster an execution is about: `cluster` in its input, or the Cluster a create's manifest names. */
export function clusterOfInput(input: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(input);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object') return undefined;
  const { cluster, manifest } = parsed as { cluster?: unknown; manifest?: unknown };
  if (typeof cluster === 'string') return cluster;
  if (typeof manifest !== 'string') return undefined;
  for (const doc of parseAllDocuments(manifest)) {
    if (!('toJS' in doc)) continue;
    const value = doc.toJS({ maxAliasCount: 0 }) as {
      kind?: unknown;
      metadata?: { name?: unknown };
    };
    if (value?.kind === 'Cluster' && typeof value.metadata?.name === 'string')
      return value.metadata.name;
  }
  return undefined;
}

/** The kopsless state machine an ARN names (`kopsless-rolling-update` -> `rolling-update`). */
function machineName(stateMachineArn: string): string {
  const name = stateMachineArn.split(':').pop() ?? stateMachineArn;
  return name.replace(/^kopsless-/, '');
}

/** The Step Functions console page of an execution, in its region. */
export function consoleLink(region: string, executionArn: string): string {
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(executionArn)}`;
}

/** Whether a status change is one the deployer is told about. */
export function shouldNotify(event: ExecutionStatusChange, notifyOnSuccess: boolean): boolean {
  return (
    FAILURE_STATUSES.includes(event.detail.status) ||
    (notifyOnSuccess && event.detail.status === 'SUCCEEDED')
  );
}

/**
 * The message an on-call engineer gets: which cluster, which state machine, what failed and
 * why (the cause cut to a readable length), when, and where to look.
 */
export function notificationFor(event: ExecutionStatusChange): Notification {
  const d = event.detail;
  const cluster = clusterOfInput(d.input);
  const machine = machineName(d.stateMachineArn);
  const subject = `kopsless: ${machine} ${d.status}${cluster ? ` for ${cluster}` : ''}`.slice(
    0,
    SUBJECT_LIMIT,
  );
  const cause = d.cause ?? '';
  const lines = [
    `Cluster:       ${cluster ?? '(not in the input)'}`,
    `State machine: ${machine}`,
    `Status:        ${d.status}`,
    ...(d.error ? [`Error:         ${d.error}`] : []),
    ...(cause
      ? [
          `Cause:         ${cause.length > CAUSE_LIMIT ? `${cause.slice(0, CAUSE_LIMIT)}… (${cause.length} characters)` : cause}`,
        ]
      : []),
    `Execution:     ${d.executionArn}`,
    `Started:       ${new Date(d.startDate).toISOString()}`,
    ...(d.stopDate ? [`Stopped:       ${new Date(d.stopDate).toISOString()}`] : []),
    `Console:       ${consoleLink(event.region, d.executionArn)}`,
  ];
  return { subject, message: lines.join('\n'), ...(cluster ? { cluster } : {}) };
}
