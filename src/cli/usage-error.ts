/** Bad flags or arguments: exit code 2, one line, and the help of the command that was typed. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Where a command writes: stdout for results, stderr for progress and errors. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}
