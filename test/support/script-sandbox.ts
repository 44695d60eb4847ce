import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs a bash script where it can touch nothing but a temporary directory:
 * - PATH holds only stubs, one per command the script may call; each stub records its argv and
 *   standard input in the directory and prints `<command>-output`. No real program runs.
 * - Before each command bash runs (functions, pipelines and command substitutions included), a
 *   DEBUG trap refuses, without running it, any command named by a path (`/usr/bin/x`, `./x`),
 *   any builtin that could reach past the stubs (`exec`, `eval`, `source`, `enable`, `builtin`,
 *   `command` other than `command -v`, `cd`, `trap`, `shopt`), and any output redirection to an
 *   absolute path other than /dev/null. A refusal is recorded and ends the (sub)shell.
 * - HOME, TMPDIR and the working directory are the temporary directory; the environment is only
 *   what is listed here, so no BASH_ENV or profile is read.
 */

export interface RecordedCall {
  argv: string[];
  stdin: string;
}

export interface SandboxRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Every stub call, in the order they started. */
  calls: RecordedCall[];
  /** Commands the guard refused (should be none). */
  blocked: string[];
  /** Files the script left in the directory, relative paths (records and harness excluded). */
  files: string[];
  dir: string;
}

const SUPPORT = dirname(fileURLToPath(import.meta.url));
const HARNESS = readFileSync(join(SUPPORT, 'sandbox-harness.sh'), 'utf8');
const STUB = readFileSync(join(SUPPORT, 'sandbox-stub.sh'), 'utf8');

/** The real bash, found once on the test machine's PATH. */
export function realBash(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'bash');
    if (dir.startsWith('/') && existsSync(candidate)) return candidate;
  }
  throw new Error('bash is needed for this test');
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? listFiles(join(dir, entry.name), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`],
  );
}

/** The stub's last line: what it prints when the sandbox gives the command no answer of its own. */
const PLACEHOLDER = `printf '%s-output\\n' "\${0##*/}"`;

/**
 * Runs `script` in a fresh sandbox with stubs for `commands`; the directory is removed unless
 * `keep`. A command named in `answers` runs that bash (its arguments in `$@`, after they are
 * recorded) instead of printing `<command>-output`: for a script that reads what it is told.
 */
export function runSandboxed(
  script: string,
  commands: readonly string[],
  { keep = false, answers = {} as Record<string, string> } = {},
): SandboxRun {
  const bash = realBash();
  const dir = mkdtempSync(join(tmpdir(), 'kopsless-sandbox-'));
  const bin = join(dir, '.stubs');
  const records = join(dir, '.records');
  mkdirSync(bin);
  mkdirSync(records);
  for (const command of commands) {
    const answer = answers[command];
    if (answer !== undefined && !STUB.includes(PLACEHOLDER))
      throw new Error('sandbox-stub.sh no longer ends with the placeholder an answer replaces');
    writeFileSync(
      join(bin, command),
      `#!${bash}\n${answer === undefined ? STUB : STUB.replace(PLACEHOLDER, answer)}`,
    );
    chmodSync(join(bin, command), 0o755);
  }
  writeFileSync(join(dir, '.harness.sh'), HARNESS);
  writeFileSync(join(dir, 'user-data.sh'), script);
  const blockedLog = join(dir, '.blocked');
  try {
    const result = spawnSync(bash, ['.harness.sh'], {
      cwd: dir,
      env: {
        PATH: bin,
        HOME: dir,
        TMPDIR: dir,
        STUB_RECORDS: records,
        SANDBOX_BLOCKED: blockedLog,
        LC_ALL: 'C',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      timeout: 20_000,
    });
    const ids = [
      ...new Set(readdirSync(records).map((f) => f.replace(/\.(argv|stdin)$/, ''))),
    ].sort();
    const calls = ids.map((id) => ({
      argv: readFileSync(join(records, `${id}.argv`), 'utf8')
        .split('\0')
        .slice(0, -1),
      stdin: existsSync(join(records, `${id}.stdin`))
        ? readFileSync(join(records, `${id}.stdin`), 'utf8')
        : '',
    }));
    const blocked = existsSync(blockedLog)
      ? readFileSync(blockedLog, 'utf8').split('\n').filter(Boolean)
      : [];
    const files = listFiles(dir).filter(
      (f) =>
        !f.startsWith('.stubs/') &&
        !f.startsWith('.records/') &&
        !['.harness.sh', '.blocked', 'user-data.sh'].includes(f),
    );
    return {
      status: result.status,
      stdout: result.stdout,
      stderr: result.stderr,
      calls,
      blocked,
      files,
      dir,
    };
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}
