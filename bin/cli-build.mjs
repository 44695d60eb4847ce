// Whether the built CLI in dist/cli/ can run: shared by bin/kopsless.mjs and the build script.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Why the build in `root`/dist/cli cannot be used (missing, or a source changed since), else undefined. */
export function buildProblem(root) {
  let builtAt;
  let inputs;
  try {
    builtAt = statSync(join(root, 'dist', 'cli', 'main.js')).mtimeMs;
    inputs = JSON.parse(readFileSync(join(root, 'dist', 'cli', 'inputs.json'), 'utf8'));
  } catch {
    return 'the CLI is not built';
  }
  for (const input of inputs) {
    let changedAt;
    try {
      changedAt = statSync(join(root, input)).mtimeMs;
    } catch {
      return `${input} is gone since the CLI was built`;
    }
    if (changedAt > builtAt) return `${input} changed since the CLI was built`;
  }
  return undefined;
}
