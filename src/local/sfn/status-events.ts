import { randomUUID } from 'node:crypto';
import type { ExecutionStatus, ExecutionStatusChange } from '../../planning/notifications.js';
import { ACCOUNT } from './asl-definition.js';

/**
 * The local runner's stand-in for EventBridge's `aws.states` events: every execution it runs,
 * children included, announces RUNNING when it starts and its end status when it stops, in the
 * shape Step Functions sends them, so whatever a deployed stack does with those events (the
 * notification rule) can be done to them here.
 */
type Listener = (event: ExecutionStatusChange) => void | Promise<void>;

const listeners = new Set<Listener>();
const pending = new Set<Promise<unknown>>();

/** Calls `listener` with every status change from now on; returns how to stop. */
export function onExecutionStatusChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Resolves when every listener call made so far has finished (a command waits before it exits). */
export async function statusEventsDelivered(): Promise<void> {
  while (pending.size > 0) await Promise.allSettled([...pending]);
}

export interface StatusChangeFacts {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startedAt: string;
  stoppedAt?: string;
  input: unknown;
  output?: unknown;
  error?: { name: string; cause: string };
  region: string;
}

/** The event Step Functions would send for these facts. */
export function statusChangeEvent(facts: StatusChangeFacts): ExecutionStatusChange {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: ACCOUNT,
    time: (facts.stoppedAt ?? facts.startedAt).replace(/\.\d{3}Z$/, 'Z'),
    region: facts.region,
    resources: [facts.executionArn],
    detail: {
      executionArn: facts.executionArn,
      stateMachineArn: facts.stateMachineArn,
      name: facts.name,
      status: facts.status,
      startDate: Date.parse(facts.startedAt),
      stopDate: facts.stoppedAt ? Date.parse(facts.stoppedAt) : null,
      input: JSON.stringify(facts.input ?? {}),
      output: facts.output === undefined ? null : JSON.stringify(facts.output),
      ...(facts.error ? { error: facts.error.name, cause: facts.error.cause } : {}),
    },
  };
}

/** Hands the event to every listener; a listener's failure is its own and never fails the execution. */
export function emitExecutionStatusChange(facts: StatusChangeFacts): void {
  if (listeners.size === 0) return;
  const event = statusChangeEvent(facts);
  for (const listener of listeners) {
    const delivery = Promise.resolve()
      .then(() => listener(event))
      .catch(() => undefined);
    pending.add(delivery);
    void delivery.finally(() => pending.delete(delivery));
  }
}
