import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { stopMoto } from '../src/local/moto/moto.js';
import { ROOT } from './helpers.js';
import { SHARED_MOTO_RECORD } from './support/shared-moto-record.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where each worker slot records the moto_server its test files share (test/support/moto.ts). */
    sharedMotoDir: string;
  }
}

/**
 * The CLI tests run the built CLI, as a user does after `npm install`: it is built from the
 * current sources once, before any test file starts.
 *
 * The test files that need moto share one moto_server per worker slot (test/support/moto.ts):
 * each is recorded here and stopped by its PID when the run ends.
 */
export default function setup(project: TestProject): () => void {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs'), '--if-stale'], {
    stdio: 'ignore',
  });
  const dir = mkdtempSync(join(tmpdir(), 'kopsless-test-motos-'));
  project.provide('sharedMotoDir', dir);
  return () => {
    for (const name of readdirSync(dir).filter((n) => n.endsWith(SHARED_MOTO_RECORD))) {
      const { pid } = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { pid: number };
      stopMoto(pid);
    }
    rmSync(dir, { recursive: true, force: true });
  };
}
