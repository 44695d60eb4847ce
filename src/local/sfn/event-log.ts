import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { clientConfig } from '../../aws/clients.js';
import {
  type ExecutionStatusChange,
  type Notification,
  shouldNotify,
} from '../../planning/notifications.js';
import { inFunction, outsideFunctions } from '../instrument/aws-calls.js';
import { type LocalSettings, lambdaContext, localHandler } from './handlers.js';
import { onExecutionStatusChange } from './status-events.js';

/** The local stand-in for the template's NotificationTopic. */
export const LOCAL_TOPIC_NAME = 'kopsless-notifications';

/** One line of the local event log: a status change as EventBridge would carry it, or what NotifyFunction sent. */
export type EventLogEntry =
  | { kind: 'status'; event: ExecutionStatusChange }
  | {
      kind: 'notification';
      executionArn: string;
      topicArn: string;
      messageId: string;
      notification: Notification;
    }
  | { kind: 'notification-failed'; executionArn: string; error: string };

/** Where the local backend keeps its event log (beside its record, under KOPSLESS_HOME). */
export function eventLogPath(home: string): string {
  return join(home, 'local', 'events.jsonl');
}

function append(path: string, entry: EventLogEntry): void {
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, `${JSON.stringify(entry)}\n`);
}

/**
 * Does locally what the deployed stack's rule does: every status change of an execution this
 * process runs goes to the event log, and those the rule matches (FAILED, TIMED_OUT, ABORTED;
 * SUCCEEDED with `notifyOnSuccess`) are handed to NotifyFunction's own handler, which publishes
 * to the local backend's topic. Returns how to stop.
 */
export function deliverStatusEvents(
  settings: LocalSettings,
  options: { logPath: string; notifyOnSuccess?: boolean },
): () => void {
  let topicArn: Promise<string> | undefined;
  const notifySettings = (arn: string): LocalSettings => ({
    ...settings,
    notify: { topicArn: arn, notifyOnSuccess: options.notifyOnSuccess ?? false },
  });
  let withTopic: LocalSettings | undefined;
  return onExecutionStatusChange(async (event) => {
    append(options.logPath, { kind: 'status', event });
    if (!shouldNotify(event, options.notifyOnSuccess ?? false)) return;
    try {
      // The topic is the stack's, not the function's: made once, outside any function's calls.
      topicArn ??= outsideFunctions(async () => {
        const sns = new SNSClient(clientConfig(settings.runtime?.aws));
        const out = await sns.send(new CreateTopicCommand({ Name: LOCAL_TOPIC_NAME }));
        return out.TopicArn!;
      });
      const arn = await topicArn;
      withTopic ??= notifySettings(arn);
      const handler = await localHandler('NotifyFunction', withTopic);
      const result = (await inFunction('NotifyFunction', () =>
        handler(event, lambdaContext('kopsless-NotifyFunction')),
      )) as { notified: boolean; messageId?: string } & Partial<Notification>;
      if (result.notified)
        append(options.logPath, {
          kind: 'notification',
          executionArn: event.detail.executionArn,
          topicArn: arn,
          messageId: result.messageId ?? '',
          notification: {
            subject: result.subject ?? '',
            message: result.message ?? '',
            ...(result.cluster ? { cluster: result.cluster } : {}),
          },
        });
    } catch (error) {
      topicArn = undefined;
      append(options.logPath, {
        kind: 'notification-failed',
        executionArn: event.detail.executionArn,
        error: (error as Error).message,
      });
    }
  });
}
