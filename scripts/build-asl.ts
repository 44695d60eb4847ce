/**
 * Writes statemachines/*.asl.json from the builder in src/statemachines/ (npm run build:asl).
 * The files stay in the repo for SAM and the console; test/statemachines/build.test.ts fails
 * when one is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderAll } from '../src/statemachines/index.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'statemachines');
for (const { file, text } of renderAll()) {
  const path = join(dir, file);
  let before = '';
  try {
    before = readFileSync(path, 'utf8');
  } catch {
    // a new machine
  }
  if (before === text) continue;
  writeFileSync(path, text);
  console.log(`wrote statemachines/${file}`);
}
