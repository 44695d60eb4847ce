import { describe, expect, it } from 'vitest';
import { kopsless, localBackendForFile } from './run.js';

const { env } = localBackendForFile('kopsless-local-events-');

describe('kopsless local events', () => {
  it('shows a failed execution and the notification a deployed stack would send for it', async () => {
    const failed = await kopsless(
      ['local', 'start-execution', 'update-cluster', '--input', '{"cluster":"absent.example.com"}'],
      env,
    );
    expect(failed.code, failed.stderr).toBe(1);

    const listed = await kopsless(['local', 'events', '-o', 'json'], env);

    expect(listed.code, listed.stderr).toBe(0);
    const entries = listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(entries.map((e) => e.kind === 'status' && e.event.detail.status)).toEqual([
      'RUNNING',
      'FAILED',
      false,
    ]);
    expect(entries[1].event).toMatchObject({
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: { error: 'ClusterNotFoundError' },
    });
    expect(entries[2]).toMatchObject({
      kind: 'notification',
      topicArn: expect.stringMatching(/:kopsless-notifications$/),
      messageId: expect.any(String),
      notification: {
        subject: 'kopsless: update-cluster FAILED for absent.example.com',
        cluster: 'absent.example.com',
      },
    });
    expect(entries[2].notification.message).toContain('Console:       https://us-east-1.console');
  });
});
