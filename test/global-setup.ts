import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './helpers.js';

/**
 * The CLI tests run the built CLI, as a user does after `npm install`: it is built from the
 * current sources once, before any test file starts.
 */
export default function setup(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs'), '--if-stale'], {
    stdio: 'ignore',
  });
}
