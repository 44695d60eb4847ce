import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `kopsless` binary, as a user would, with its own KOPSLESS_HOME. Asynchronous, so
 * the test worker stays responsive while a command runs for seconds.
 */
export function kopsless(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-warnings', join(ROOT, 'bin', 'kopsless.mjs'), ...args], {
      env: { ...process.env, AWS_ENDPOINT_URL: '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}
