import { closeSync, openSync, readSync } from 'node:fs';
import { MANIFEST_LIMITS } from '../manifest/parse.js';
import { UsageError } from './format.js';

/**
 * The bytes of a manifest file (`-` for stdin), read up to one byte over the size limit: enough
 * for the check to refuse an oversized file without holding all of it. A file that cannot be
 * read is a usage error (exit 2); what the bytes hold is for the check to judge.
 */
export function readManifestBytes(filename: string): Uint8Array {
  const cap = MANIFEST_LIMITS.maxBytes + 1;
  let fd: number | undefined;
  try {
    fd = filename === '-' ? 0 : openSync(filename, 'r');
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < cap) {
      const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, cap - total));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (error) {
        // A non-blocking stdin (a pipe a parent set so) has no data yet: wait briefly and retry.
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
    }
    return Buffer.concat(chunks, total);
  } catch (error) {
    throw new UsageError(`cannot read ${filename}: ${(error as Error).message}`);
  } finally {
    if (fd !== undefined && fd !== 0) closeSync(fd);
  }
}
