import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The order test files start in. When vitest's cache has every file's last duration (a checkout
 * that ran the tests before) it starts the longest first, as it does by default. A fresh checkout
 * (CI) has no such cache and vitest would start the largest files first, which left the longest
 * runs, the bench and whole lifecycles on the local backend, for the end, one worker running them
 * while the others were idle. Without the cache: the bench first, then the files that bring up a
 * local backend, then the rest; the largest first within each.
 */
export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const { cache, config } = this.ctx;
    const known = files.every((f) =>
      cache.getFileTestResults(`${f.project.name}:${relative(config.root, f.moduleId)}`),
    );
    if (known) return sorted;
    const rank = new Map(sorted.map((f) => [f, tier(readFileSync(f.moduleId, 'utf8'))]));
    // Array.prototype.sort is stable: the base order (largest first) holds within a tier.
    return sorted.sort((a, b) => rank.get(a)! - rank.get(b)!);
  }
}

function tier(text: string): number {
  if (/\brunBench\(/.test(text)) return 0;
  if (
    /\b(startTestEnvironment|startTestBackend|localBackendForFile|startMoto)\(|\bkopsless\(\[/.test(
      text,
    )
  )
    return 1;
  return 2;
}
