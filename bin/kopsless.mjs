#!/usr/bin/env -S node --no-warnings
// The kopsless CLI: the build in dist/cli/ (made by `npm install`, or `npm run build:cli`), which
// starts at once; the TypeScript sources through tsx when the build is missing or older than them.
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'cli', 'main.js');

/** Why the build cannot be used (missing, or a source changed since), or undefined when it can. */
function buildProblem() {
  let builtAt;
  let inputs;
  try {
    builtAt = statSync(built).mtimeMs;
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

const problem = process.env.KOPSLESS_FROM_SOURCE ? 'KOPSLESS_FROM_SOURCE is set' : buildProblem();
let main;
if (problem === undefined) ({ main } = await import(built));
else {
  if (!process.env.KOPSLESS_FROM_SOURCE)
    console.error(`kopsless: ${problem}; running from the sources (slower): npm run build:cli`);
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
