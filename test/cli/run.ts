import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `kopsless` binary, as a user would, with its own KOPSLESS_HOME. */
export function kopsless(args: string[], env: Record<string, string> = {}, input?: string): CliResult {
  const result = spawnSync(process.execPath, ['--no-warnings', join(ROOT, 'bin', 'kopsless.mjs'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, AWS_ENDPOINT_URL: '', ...env },
    ...(input !== undefined ? { input } : {}),
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
