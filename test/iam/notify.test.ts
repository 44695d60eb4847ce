import { describe, expect, it } from 'vitest';
import { readTemplate } from '../support/template.js';
import { decide, functionRoles } from './policies.js';

// The notification path evaluated as AWS does: NotifyFunction may publish to the deployment's
// topic and nothing else; no other function may publish at all.
const roles = functionRoles(readTemplate(), { stateBucket: 'kopsless-state-example' });
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:kopsless-NotificationTopic';

describe('notification permissions', () => {
  it('lets NotifyFunction publish to the notification topic', async () => {
    expect(
      await decide(roles.get('NotifyFunction')!, { action: 'sns:Publish', resource: TOPIC }),
    ).toBe('Allowed');
  });

  it('lets NotifyFunction publish to no other topic, and read no state', async () => {
    const notify = roles.get('NotifyFunction')!;
    expect(
      await decide(notify, {
        action: 'sns:Publish',
        resource: 'arn:aws:sns:us-east-1:123456789012:someone-elses-topic',
      }),
    ).not.toBe('Allowed');
    expect(
      await decide(notify, {
        action: 's3:GetObject',
        resource: 'arn:aws:s3:::kopsless-state-example/a.example.com/config',
      }),
    ).not.toBe('Allowed');
  });

  it('lets no other function publish to the topic', async () => {
    const publishers: string[] = [];
    for (const [name, role] of roles)
      if ((await decide(role, { action: 'sns:Publish', resource: TOPIC })) === 'Allowed')
        publishers.push(name);
    expect(publishers).toEqual(['NotifyFunction']);
  });
});
