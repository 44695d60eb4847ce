import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { clientConfig } from '../aws/clients.js';
import { classifyAwsError } from '../errors.js';
import { stageHandler, stageLogger } from '../lambda.js';
import type { NotifyConfig } from '../notify-config.js';
import {
  type ExecutionStatusChange,
  notificationFor,
  shouldNotify,
} from '../planning/notifications.js';
import type { HandlerRuntime } from './runtime.js';

/**
 * Execution status changes of kopsless's state machines (EventBridge) to the notification topic:
 * the cluster, the state machine, the error and a console link, one SNS message each. EventBridge
 * delivers at least once, so a repeated event may notify twice; it never notifies zero times
 * without an error Lambda and the rule's retries see.
 */
export function createNotifyHandler(config: NotifyConfig, runtime: HandlerRuntime = {}) {
  const sns = new SNSClient(clientConfig(runtime.aws));
  const logger = stageLogger('notify', runtime.logLevel);
  return stageHandler(logger, async (event: ExecutionStatusChange) => {
    if (!event?.detail?.executionArn || !shouldNotify(event, config.notifyOnSuccess))
      return { notified: false };
    const notification = notificationFor(event);
    try {
      const out = await sns.send(
        new PublishCommand({
          TopicArn: config.topicArn,
          Subject: notification.subject,
          Message: notification.message,
          MessageAttributes: {
            status: { DataType: 'String', StringValue: event.detail.status },
            ...(notification.cluster
              ? { cluster: { DataType: 'String', StringValue: notification.cluster } }
              : {}),
          },
        }),
      );
      logger.info('notified', { subject: notification.subject, messageId: out.MessageId });
      return { notified: true, messageId: out.MessageId ?? '', ...notification };
    } catch (error) {
      throw classifyAwsError(error);
    }
  });
}
