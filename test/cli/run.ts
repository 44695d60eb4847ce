import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
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

let inProcessRuns = 0;

/**
 * Runs the built CLI's `main` in this test worker instead of a new node process: the same code
 * as the binary (dist/cli), without paying a process start and the load of the CLI's modules
 * (one to several seconds a command on a busy machine). For files that test what commands do and
 * print; `kopsless` above stays the binary, which each command family still has a test of.
 *
 * main.js is loaded afresh each time (its exit code and commander's program are module state);
 * the modules it imports are loaded once. `env` is set in process.env for the command's run (as
 * `kopsless` gives it the child), console and stdout/stderr are captured, then all is put back.
 * Commands that read stdin are not for this runner: give them to `kopsless`.
 */
export async function kopslessInProcess(
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  const { main } = (await import(
    `${pathToFileURL(join(ROOT, 'dist', 'cli', 'main.js')).href}?run=${++inProcessRuns}`
  )) as { main: (argv: string[]) => Promise<number> };
  const vars = { AWS_ENDPOINT_URL: '', ...env };
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  let stdout = '';
  let stderr = '';
  const text = (chunk: unknown) =>
    typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
  // As console formats it for the binary: %s placeholders, objects inspected.
  const line = (parts: unknown[]) => `${format(...parts)}\n`;
  const { log, error, warn, info } = console;
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  console.log = (...parts: unknown[]) => void (stdout += line(parts));
  console.info = console.log;
  console.error = (...parts: unknown[]) => void (stderr += line(parts));
  console.warn = console.error;
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    stdout += text(chunk);
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    done?.();
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
    stderr += text(chunk);
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    done?.();
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    Object.assign(console, { log, error, warn, info });
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
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
