import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ListHostedZonesCommand, Route53Client } from '@aws-sdk/client-route-53';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { Retry } from '@smithy/core/retry';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { classifyAwsError } from '../../src/errors.js';
import {
  FaultPlan,
  FaultSettingsError,
  installFaults,
  isWrite,
  parseFaultSettings,
  removeFaults,
  SDK_PAUSE_DIVISOR,
  withinHandler,
} from '../../src/local/instrument/faults.js';
import { HANDLER_MAX_ATTEMPTS } from '../../src/local/sfn/handlers.js';
import { ROOT } from '../helpers.js';
import { readTemplate } from '../support/template.js';

// Fault injection under the real SDK: its deserializer reads the injected answers and its retry
// sees each one; a server on 127.0.0.1 counts what actually reached the "service".
let server: Server;
let endpoint = '';
let received = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    received++;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { ETag: '"e"', 'x-amz-request-id': 'r' });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  removeFaults();
  received = 0;
});

const config = () => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 2,
  forcePathStyle: true,
});
const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: Error & { $metadata?: { httpStatusCode?: number; attempts?: number } }) => e,
  );

describe('KOPSLESS_FAULTS settings', () => {
  it('reads every knob', () => {
    expect(parseFaultSettings('throttle=0.2,5xx=0.05,latency=50ms,seed=7')).toEqual({
      throttle: 0.2,
      serverError: 0.05,
      lost: 0.05,
      latencyMs: 50,
      seed: 7,
    });
  });

  it('names an unknown knob', () => {
    expect(() => parseFaultSettings('throttle=0.2,errors=0.1')).toThrow(
      new FaultSettingsError(
        'KOPSLESS_FAULTS: unknown knob "errors" (knobs: throttle=SHARE, 5xx=SHARE, lost=SHARE, latency=MS[ms], seed=INT)',
      ),
    );
  });

  it('names a share out of range', () => {
    expect(() => parseFaultSettings('5xx=1.5')).toThrow(
      'KOPSLESS_FAULTS: 5xx=1.5: must be a share between 0 and 1',
    );
  });
});

describe('fault plan', () => {
  it('gives the same faults for the same seed', () => {
    const settings = parseFaultSettings('throttle=0.2,5xx=0.05,seed=7');
    const a = new FaultPlan(settings);
    const b = new FaultPlan(settings);

    const first = Array.from({ length: 200 }, () => a.next());
    const second = Array.from({ length: 200 }, () => b.next());

    expect(second).toEqual(first);
    expect(a.injected).toBeGreaterThan(20);
    expect(a.injected).toBeLessThan(80);
  });
});

describe('which calls can lose their answer', () => {
  it('counts creates, puts and deletes as writes, describes, lists and gets not', () => {
    expect(
      [
        'EC2:CreateLaunchTemplate',
        'S3:PutObject',
        'AutoScaling:DetachInstances',
        'EC2:DeleteVpc',
      ].map(isWrite),
    ).toEqual([true, true, true, true]);
    expect(
      ['EC2:DescribeVpcs', 'S3:ListObjectsV2', 'S3:GetObject', 'S3:HeadObject'].map(isWrite),
    ).toEqual([false, false, false, false]);
  });

  it('never loses the answer of a read', async () => {
    const plan = installFaults(parseFaultSettings('lost=1'));

    await withinHandler('test', () =>
      new EC2Client(config()).send(new DescribeVpcsCommand({})),
    ).catch(() => undefined);

    expect(plan.counts.lostResponses).toBe(0);
  });
});

describe('injected answers as the SDK reads them', () => {
  it('throttles EC2 with its RequestLimitExceeded, retried by the SDK, never reaching the service', async () => {
    const plan = installFaults(parseFaultSettings('throttle=1'));

    const error = await errorOf(
      withinHandler('test', () => new EC2Client(config()).send(new DescribeVpcsCommand({}))),
    );

    expect(error?.name).toBe('RequestLimitExceeded');
    expect(error?.$metadata?.attempts).toBe(2);
    expect(plan.counts.throttles).toBe(2);
    expect(received).toBe(0);
    expect(classifyAwsError(error).name).toBe('TransientAwsError');
  });

  it('throttles the query APIs with Throttling, Route53 too, S3 with SlowDown and the JSON APIs with ThrottlingException', async () => {
    installFaults(parseFaultSettings('throttle=1'));

    const names = await withinHandler('test', async () => [
      (
        await errorOf(
          new AutoScalingClient(config()).send(new DescribeAutoScalingGroupsCommand({})),
        )
      )?.name,
      (await errorOf(new Route53Client(config()).send(new ListHostedZonesCommand({}))))?.name,
      (
        await errorOf(
          new S3Client(config()).send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' })),
        )
      )?.name,
      (
        await errorOf(
          new SFNClient(config()).send(
            new DescribeExecutionCommand({
              executionArn: 'arn:aws:states:us-east-1:123456789012:execution:m:e',
            }),
          ),
        )
      )?.name,
    ]);

    expect(names).toEqual(['Throttling', 'Throttling', 'SlowDown', 'ThrottlingException']);
  });

  it('answers 503 before the call reaches the service', async () => {
    installFaults(parseFaultSettings('5xx=1,lost=0'));

    const error = await errorOf(
      withinHandler('test', () =>
        new S3Client(config()).send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' })),
      ),
    );

    expect(error?.$metadata?.httpStatusCode).toBe(503);
    expect(received).toBe(0);
  });

  it('loses the answer of a write that took effect: the service got every attempt, the caller saw 503s', async () => {
    const plan = installFaults(parseFaultSettings('lost=1'));

    const error = await errorOf(
      withinHandler('test', () =>
        new S3Client(config()).send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' })),
      ),
    );

    expect(error?.$metadata?.httpStatusCode).toBe(503);
    expect(received).toBe(2);
    expect(plan.counts.lostResponses).toBe(2);
  });

  it('leaves calls made outside a handler invocation alone', async () => {
    const plan = installFaults(parseFaultSettings('throttle=1'));

    await new S3Client(config()).send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }));

    expect(received).toBe(1);
    expect(plan.counts.calls).toBe(0);
  });
});

describe("the SDK's own retries", () => {
  it('are as many in the local runner as template.yaml gives the deployed functions', () => {
    const globals = (
      readTemplate() as unknown as {
        Globals: { Function: { Environment: { Variables: Record<string, string> } } };
      }
    ).Globals;

    expect(globals.Function.Environment.Variables.AWS_MAX_ATTEMPTS).toBe(
      String(HANDLER_MAX_ATTEMPTS),
    );
  });
});

describe("the SDK's pauses between attempts", () => {
  it('are shortened for the clients the sources run', () => {
    installFaults(parseFaultSettings('throttle=0'));

    expect(Retry.throttlingDelay()).toBe(1000 / SDK_PAUSE_DIVISOR);
    expect(Retry.delay()).toBe(Math.round(50 / SDK_PAUSE_DIVISOR));
  });

  // The CLI's build bundles its own copy of the SDK (scripts/build-cli.mjs: the packages' ES
  // module builds): the copy its clients use must be the one shortened.
  it("are shortened for the clients of a bundle built as the CLI's is", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kopsless-faults-bundle-'));
    try {
      const entry = join(dir, 'entry.ts');
      writeFileSync(
        entry,
        [
          `export { installFaults, parseFaultSettings } from ${JSON.stringify(join(ROOT, 'src', 'local', 'instrument', 'faults.ts'))};`,
          "export { Retry } from '@smithy/core/retry';",
        ].join('\n'),
      );
      await build({
        entryPoints: [entry],
        outfile: join(dir, 'bundle.mjs'),
        bundle: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        mainFields: ['module', 'main'],
        nodePaths: [join(ROOT, 'node_modules')],
        banner: {
          js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);",
        },
        logLevel: 'silent',
      });
      const bundle = (await import(pathToFileURL(join(dir, 'bundle.mjs')).href)) as {
        installFaults: typeof installFaults;
        parseFaultSettings: typeof parseFaultSettings;
        Retry: typeof Retry;
      };

      expect(bundle.Retry).not.toBe(Retry);
      expect(bundle.Retry.throttlingDelay()).toBe(1000);
      bundle.installFaults(bundle.parseFaultSettings('throttle=0'));
      expect(bundle.Retry.throttlingDelay()).toBe(1000 / SDK_PAUSE_DIVISOR);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
