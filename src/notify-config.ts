import { ConfigError } from './errors.js';

/** The notification function's settings. */
export interface NotifyConfig {
  topicArn: string;
  /** Also tell of executions that SUCCEEDED (the template's NotifyOnSuccess parameter). */
  notifyOnSuccess: boolean;
}

/** Reads the notification function's settings; a missing or malformed one fails the cold start with its name. */
export function readNotifyConfig(env: Record<string, string | undefined>): NotifyConfig {
  const topicArn = env.NOTIFICATION_TOPIC_ARN;
  if (!topicArn || !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/.test(topicArn))
    throw new ConfigError(
      `NOTIFICATION_TOPIC_ARN must be the ARN of the SNS topic notifications go to, got "${topicArn ?? ''}"`,
    );
  const raw = env.NOTIFY_ON_SUCCESS ?? 'false';
  if (raw !== 'true' && raw !== 'false')
    throw new ConfigError(`NOTIFY_ON_SUCCESS must be true or false, got "${raw}"`);
  return { topicArn, notifyOnSuccess: raw === 'true' };
}
