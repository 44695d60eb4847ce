#!/usr/bin/env -S node --no-warnings
// The kopsless CLI: the build in dist/cli/ (made by `npm install`, or `npm run build:cli`), which
// starts at once; the TypeScript sources through tsx when the build is missing or older than them.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProblem } from './cli-build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const problem = process.env.KOPSLESS_FROM_SOURCE
  ? 'KOPSLESS_FROM_SOURCE is set'
  : buildProblem(root);
let main;
if (problem === undefined) ({ main } = await import(join(root, 'dist', 'cli', 'main.js')));
else {
  if (!process.env.KOPSLESS_FROM_SOURCE)
    console.error(`kopsless: ${problem}; running from the sources (slower): npm run build:cli`);
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
