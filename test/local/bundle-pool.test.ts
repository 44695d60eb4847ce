import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import {
  LAMBDA_EXIT_ERROR,
  LAMBDA_OUT_OF_MEMORY_ERROR,
  LAMBDA_TIMEOUT_ERROR,
} from '../../src/errors.js';
import type { FunctionLogicalId } from '../../src/functions-registry.js';
import { BundlePool, BundleSettingsError, bundleMode } from '../../src/local/sfn/bundles.js';
import type { BuiltBundle } from '../../src/local/sfn/sam-build.js';
import type { TemplateFunction } from '../../src/local/sfn/sam-template.js';
import { runDefinition } from '../../src/local/sfn/step-functions.js';

// A bundle that does what its event asks: answer, wait, fail, exit or eat memory.
const BUNDLE = `
export const handler = async (event, context) => {
  if (event.waitMs) await new Promise((resolve) => setTimeout(resolve, event.waitMs));
  if (event.fail) throw Object.assign(new Error(event.fail), { name: 'InvalidInputError' });
  if (event.exit !== undefined) process.exit(event.exit);
  if (event.eat) { const kept = []; for (;;) kept.push(new Array(1e6).fill(Math.random())); }
  return {
    pid: process.pid,
    env: process.env,
    remainingMs: context.getRemainingTimeInMillis(),
    heapLimitMb: process.execArgv.join(' '),
  };
};
`;

const dir = mkdtempSync(join(tmpdir(), 'kopsless-bundle-pool-'));
mkdirSync(join(dir, 'Fixture'));
writeFileSync(join(dir, 'Fixture', 'fixture.mjs'), BUNDLE);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const id = 'Fixture' as FunctionLogicalId;
const settings = {
  config: readConfig({ STATE_BUCKET: 'fixture-bucket', AWS_REGION: 'us-east-1' }),
  runtime: {
    aws: {
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    },
  },
};

function pool(timeout = 30, memorySize = 256): BundlePool {
  const fn: TemplateFunction = {
    logicalId: id,
    buildMethod: 'esbuild',
    buildProperties: {},
    handler: 'fixture.handler',
    runtime: 'nodejs22.x',
    memorySize,
    timeout,
    environment: { STATE_BUCKET: { Ref: 'StateBucket' }, POWERTOOLS_LOG_LEVEL: 'INFO' },
  };
  const bundle: BuiltBundle = {
    logicalId: id,
    dir: join(dir, 'Fixture'),
    module: join(dir, 'Fixture', 'fixture.mjs'),
    exportName: 'handler',
  };
  const created = new BundlePool({ [id]: fn } as never, { [id]: bundle } as never, settings);
  pools.push(created);
  return created;
}
const pools: BundlePool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.stop()));
});

type Answer = {
  pid: number;
  env: Record<string, string>;
  remainingMs: number;
  heapLimitMb: string;
};

describe('KOPSLESS_BUNDLES', () => {
  it('is on for 1, off when unset, empty or 0, and refused otherwise', () => {
    expect(bundleMode({ KOPSLESS_BUNDLES: '1' })).toBe(true);
    expect(bundleMode({})).toBe(false);
    expect(bundleMode({ KOPSLESS_BUNDLES: '0' })).toBe(false);
    expect(() => bundleMode({ KOPSLESS_BUNDLES: 'yes' })).toThrow(/KOPSLESS_BUNDLES must be 1/);
  });

  it('is refused beside KOPSLESS_FAULTS, whose faults only the sources in this process would see', () => {
    expect(() => bundleMode({ KOPSLESS_BUNDLES: '1', KOPSLESS_FAULTS: 'throttle=0.1' })).toThrow(
      BundleSettingsError,
    );
  });
});

describe('the warm process of a function', () => {
  it('is reused across invocations, as Lambda reuses a warm environment', async () => {
    const functions = pool();

    const first = (await functions.invoke(id, {})) as Answer;
    const second = (await functions.invoke(id, {})) as Answer;

    expect(second.pid).toBe(first.pid);
    expect(functions.processes).toBe(1);
    expect(functions.invocations).toBe(2);
  });

  it("has only the template's environment and Lambda's own variables, none of the runner's", async () => {
    process.env.KOPSLESS_RUNNER_ONLY = 'leak';
    try {
      const { env } = (await pool().invoke(id, {})) as Answer;

      expect(env.KOPSLESS_RUNNER_ONLY).toBeUndefined();
      expect(env).toMatchObject({
        STATE_BUCKET: 'fixture-bucket',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        AWS_REGION: 'us-east-1',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        _HANDLER: 'fixture.handler',
      });
    } finally {
      delete process.env.KOPSLESS_RUNNER_ONLY;
    }
  });

  it("counts the context's remaining time down from the Timeout and limits V8's heap by MemorySize", async () => {
    const answer = (await pool(30, 256).invoke(id, {})) as Answer;

    expect(answer.remainingMs).toBeGreaterThan(0);
    expect(answer.remainingMs).toBeLessThanOrEqual(30_000);
    expect(answer.heapLimitMb).toBe('--max-old-space-size=230');
  });

  it("passes the handler's error on with its name and message, and stays warm", async () => {
    const functions = pool();

    await expect(functions.invoke(id, { fail: 'no such field' })).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: 'no such field',
    });
    await functions.invoke(id, {});
    expect(functions.processes).toBe(1);
  });
});

describe("Lambda's limits", () => {
  it('kills an invocation past its Timeout and fails it with the timeout error; the next one starts cold', async () => {
    const functions = pool(1);
    const warm = (await functions.invoke(id, {})) as Answer;

    const timedOut = functions.invoke(id, { waitMs: 60_000 });

    await expect(timedOut).rejects.toMatchObject({
      name: LAMBDA_TIMEOUT_ERROR,
      message: expect.stringMatching(/^RequestId: \S+ Error: Task timed out after 1\.00 seconds$/),
    });
    expect(() => process.kill(warm.pid, 0)).toThrow();
    const next = (await functions.invoke(id, {})) as Answer;
    expect(next.pid).not.toBe(warm.pid);
  });

  it('fails an invocation that runs out of memory with the out-of-memory error', async () => {
    await expect(pool(30, 128).invoke(id, { eat: true })).rejects.toMatchObject({
      name: LAMBDA_OUT_OF_MEMORY_ERROR,
    });
  }, 60_000);

  it('fails an invocation whose process exits with the exit error', async () => {
    await expect(pool().invoke(id, { exit: 3 })).rejects.toMatchObject({
      name: LAMBDA_EXIT_ERROR,
      message: expect.stringContaining('Runtime exited with error: exit status 3'),
    });
  });

  it('reaches the state machine under the timeout error name, which a Catch can match', async () => {
    const functions = pool(1);
    const definition = {
      StartAt: 'Slow',
      States: {
        Slow: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-east-1:123456789012:function:kopsless-Fixture',
          Catch: [{ ErrorEquals: [LAMBDA_TIMEOUT_ERROR], Next: 'TimedOut' }],
          End: true,
        },
        TimedOut: { Type: 'Fail', Error: 'Caught', Cause: 'the Task timed out' },
      },
    };

    const result = await runDefinition(definition as never, {
      input: { waitMs: 60_000 },
      handlers: { Slow: functions.handler(id) as never },
      stateMachineName: 'fixture',
    });

    expect(result.error).toEqual({ name: 'Caught', cause: 'the Task timed out' });
  });

  it('stops every process of the run by its PID', async () => {
    const functions = pool();
    const answers = (await Promise.all([
      functions.invoke(id, { waitMs: 200 }),
      functions.invoke(id, { waitMs: 200 }),
    ])) as Answer[];
    expect(new Set(answers.map((a) => a.pid)).size).toBe(2);

    await functions.stop();

    for (const { pid } of answers) expect(() => process.kill(pid, 0)).toThrow();
  });
});
