import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkExitCode, checkManifest } from '../../src/manifest/check.js';
import { mutatedManifest } from '../support/manifest-mutations.js';

// Fuzzing the manifest check over mutations of real manifests: it answers, never throws.
// FUZZ_RUNS=5000 for a longer search; a failure prints the seed and the shrunk case to replay.
describe('the manifest check over mutated manifests', () => {
  it('always returns exit 0, 1 or 3 with {path, message} errors, and never throws', () => {
    fc.assert(
      fc.property(mutatedManifest(), ({ text }) => {
        const check = checkManifest(text);

        expect([0, 1, 3]).toContain(checkExitCode(check));
        for (const issue of [...check.errors, ...check.unsupported]) {
          expect(typeof issue.path).toBe('string');
          expect(typeof issue.message).toBe('string');
        }
        if (!check.valid) expect(check.errors.length).toBeGreaterThan(0);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
    );
  }, 180_000);

  it('always returns exit 0, 1 or 3 for the same manifests given as bytes', () => {
    fc.assert(
      fc.property(
        mutatedManifest(),
        fc.uint8Array({ maxLength: 16 }),
        fc.nat(),
        ({ text }, junk, at) => {
          const bytes = Buffer.from(text);
          const damaged = Buffer.concat([
            bytes.subarray(0, at % (bytes.length + 1)),
            junk,
            bytes.subarray(at % (bytes.length + 1)),
          ]);

          expect([0, 1, 3]).toContain(checkExitCode(checkManifest(damaged)));
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 150) },
    );
  }, 180_000);
});
