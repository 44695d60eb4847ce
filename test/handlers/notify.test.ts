import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createNotifyHandler } from '../../src/handlers/notify.js';
import { readNotifyConfig } from '../../src/notify-config.js';
import type { ExecutionStatusChange } from '../../src/planning/notifications.js';
import { ROOT } from '../helpers.js';
import { awsError, lambdaContext } from './support.js';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:kopsless-NotificationTopic';
const sample = (): ExecutionStatusChange =>
  JSON.parse(readFileSync(join(ROOT, 'events', 'notify.rolling-update-failed.json'), 'utf8'));
const sns = mockClient(SNSClient);

beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
});

describe('notify handler', () => {
  it('publishes a failed roll to the topic with the cluster, the error and a console link', async () => {
    const handler = createNotifyHandler(
      { topicArn: TOPIC, notifyOnSuccess: false },
      { logLevel: 'SILENT' },
    );

    const result = await handler(sample(), lambdaContext);

    expect(result).toMatchObject({ notified: true, messageId: 'm-1', cluster: 'seed.example.com' });
    const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.TopicArn).toBe(TOPIC);
    expect(input.Subject).toBe('kopsless: rolling-update FAILED for seed.example.com');
    expect(input.Message).toContain('Error:         DrainTimeoutError');
    expect(input.Message).toContain(
      'https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/arn%3Aaws%3Astates',
    );
    expect(input.MessageAttributes?.cluster?.StringValue).toBe('seed.example.com');
  });

  it('stays quiet on a success unless asked to tell of successes', async () => {
    const succeeded = { ...sample(), detail: { ...sample().detail, status: 'SUCCEEDED' as const } };
    const quiet = createNotifyHandler(
      { topicArn: TOPIC, notifyOnSuccess: false },
      { logLevel: 'SILENT' },
    );
    const told = createNotifyHandler(
      { topicArn: TOPIC, notifyOnSuccess: true },
      { logLevel: 'SILENT' },
    );

    expect(await quiet(succeeded, lambdaContext)).toEqual({ notified: false });
    expect(await told(succeeded, lambdaContext)).toMatchObject({ notified: true });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });

  it('names the cluster of a create from the manifest in its input, and cuts a long cause', async () => {
    const event = sample();
    event.detail.stateMachineArn = event.detail.stateMachineArn.replace(
      'rolling-update',
      'create-cluster',
    );
    event.detail.input = JSON.stringify({
      manifest:
        'apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: new.example.com\n',
    });
    event.detail.cause = 'x'.repeat(40_000);
    const handler = createNotifyHandler(
      { topicArn: TOPIC, notifyOnSuccess: false },
      { logLevel: 'SILENT' },
    );

    await handler(event, lambdaContext);

    const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.Subject).toBe('kopsless: create-cluster FAILED for new.example.com');
    expect(input.Message!.length).toBeLessThan(3_000);
    expect(input.Message).toContain('(40000 characters)');
  });

  it('lets a throttled publish fail the invocation so that EventBridge retries it', async () => {
    sns.on(PublishCommand).rejects(awsError('Throttled', 400));
    const handler = createNotifyHandler(
      { topicArn: TOPIC, notifyOnSuccess: false },
      { logLevel: 'SILENT' },
    );

    await expect(handler(sample(), lambdaContext)).rejects.toThrow();
  });

  it('fails at cold start naming a missing or malformed setting', () => {
    expect(() => readNotifyConfig({})).toThrow(/NOTIFICATION_TOPIC_ARN/);
    expect(() =>
      readNotifyConfig({ NOTIFICATION_TOPIC_ARN: TOPIC, NOTIFY_ON_SUCCESS: 'yes' }),
    ).toThrow(/NOTIFY_ON_SUCCESS must be true or false/);
  });
});
