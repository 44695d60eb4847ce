import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, expect } from 'vitest';
import { stopMoto } from '../../src/local/moto/moto.js';
import { ROOT } from '../helpers.js';
import { TEST_ZONE } from '../support/moto.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `kopsless` binary, as a user would, with its own KOPSLESS_HOME. Asynchronous, so
 * the test worker stays responsive while a command runs for seconds.
 */
export function kopsless(
  args: string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--no-warnings', join(ROOT, 'bin', 'kopsless.mjs'), ...args],
      {
        env: { ...process.env, AWS_ENDPOINT_URL: '', ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** Makes a public hosted zone in the local backend at `endpoint`, as a user makes their domain's. */
export async function createZoneIn(
  endpoint: string,
  region: string,
  name: string,
): Promise<string> {
  const route53 = new Route53Client({
    endpoint,
    region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    const out = await route53.send(
      new CreateHostedZoneCommand({ Name: name, CallerReference: `test-${name}-${Date.now()}` }),
    );
    return (out.HostedZone?.Id ?? '').replace('/hostedzone/', '');
  } finally {
    route53.destroy();
  }
}

/**
 * A KOPSLESS_HOME of the calling test file's own, with the local backend brought up (the account's
 * public zone TEST_ZONE made in it) before its tests and brought down (moto stopped by its PID)
 * after them. Call at the top level of the file;
 * hooks the file adds afterwards run after the backend is up.
 */
export function localBackendForFile(prefix = 'kopsless-home-'): {
  home: string;
  env: { KOPSLESS_HOME: string };
} {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const env = { KOPSLESS_HOME: home };
  let pid = 0;
  beforeAll(async () => {
    const up = await kopsless(['local', 'up'], env);
    expect(up.code, up.stderr).toBe(0);
    const record = JSON.parse(readFileSync(join(home, 'local', 'backend.json'), 'utf8')) as {
      pid: number;
      endpoint: string;
      region: string;
    };
    pid = record.pid;
    await createZoneIn(record.endpoint, record.region, TEST_ZONE);
  }, 60_000);
  afterAll(async () => {
    await kopsless(['local', 'down'], env);
    stopMoto(pid);
    rmSync(home, { recursive: true, force: true });
  });
  return { home, env };
}
