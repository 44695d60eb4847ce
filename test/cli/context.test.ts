import { describe, expect, it } from 'vitest';
import { localSettings } from '../../src/cli/context.js';
import type { BackendRecord } from '../../src/local/moto/backend.js';

function record(port: number, stateBucket: string): BackendRecord {
  return {
    pid: 1,
    port,
    endpoint: `http://127.0.0.1:${port}`,
    kubePid: 2,
    kubePort: port + 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    stateBucket,
    region: 'us-east-1',
  };
}

describe('local settings of the CLI', () => {
  it('gives two backends in one process their own endpoint and bucket, and writes nothing to the environment', () => {
    const env: Record<string, string | undefined> = {};

    const first = localSettings(record(5001, 'bucket-one'), env);
    const second = localSettings(record(5002, 'bucket-two'), env);

    expect([first.config.stateBucket, first.runtime?.aws?.endpoint]).toEqual([
      'bucket-one',
      'http://127.0.0.1:5001',
    ]);
    expect([second.config.stateBucket, second.runtime?.aws?.endpoint]).toEqual([
      'bucket-two',
      'http://127.0.0.1:5002',
    ]);
    expect(env).toEqual({});
  });

  it("uses the short local deadlines, quiet logs and the Lambdas' five attempts when the environment sets none", () => {
    const settings = localSettings(record(5001, 'bucket'), {});

    expect(settings.config).toMatchObject({
      stackTimeoutSeconds: 120,
      groupsTimeoutSeconds: 120,
      dnsTimeoutSeconds: 60,
      drainTimeoutSeconds: 20,
      validationTimeoutSeconds: 30,
      replacementTimeoutSeconds: 60,
    });
    expect(settings.runtime).toMatchObject({
      logLevel: 'SILENT',
      aws: { maxAttempts: 5, region: 'us-east-1' },
    });
  });

  it("lets a deadline in the environment win over the local one, but not its bucket or region over the backend's", () => {
    const settings = localSettings(record(5001, 'bucket'), {
      DRAIN_TIMEOUT_SECONDS: '90',
      STATE_BUCKET: 'elsewhere',
      AWS_REGION: 'eu-west-1',
    });

    expect([
      settings.config.drainTimeoutSeconds,
      settings.config.stateBucket,
      settings.config.region,
    ]).toEqual([90, 'bucket', 'us-east-1']);
  });

  it('refuses a malformed deadline in the environment, naming the variable', () => {
    expect(() => localSettings(record(5001, 'bucket'), { STACK_TIMEOUT_SECONDS: 'soon' })).toThrow(
      /STACK_TIMEOUT_SECONDS must be a whole number of seconds, got "soon"/,
    );
  });
});
