import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ROOT } from '../helpers.js';

/**
 * Compares rendered output with test/golden/<name>. `UPDATE_GOLDEN=1 npm test` rewrites the
 * files; review the diff before committing it.
 */
export function expectGolden(name: string, actual: string): void {
  const path = join(ROOT, 'test', 'golden', name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) {
    if (process.env.CI && !existsSync(path))
      throw new Error(`golden file ${name} is missing; run UPDATE_GOLDEN=1 npm test and commit it`);
    writeFileSync(path, actual);
  }
  expect(actual).toBe(readFileSync(path, 'utf8'));
}
