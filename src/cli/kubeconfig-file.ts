import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Writes a kubeconfig whole or not at all: to a file beside it, then renamed over it, so a
 * command stopped half-way never leaves kubectl a truncated file. `mode` is the file's.
 */
export function writeKubeconfigFile(path: string, text: string, mode: number): void {
  const temporary = `${path}.kopsless-${process.pid}.tmp`;
  try {
    writeFileSync(temporary, text, { mode });
    chmodSync(temporary, mode);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
