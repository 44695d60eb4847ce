import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { KopslessError } from '../../errors.js';
import { LOCAL_IMAGES } from './images.js';

/**
 * moto_server, the AWS emulator of the local backend: started on 127.0.0.1 only, stopped by PID.
 */

/**
 * The local backend could not start (no moto, moto exits, a port never answers). Its message is
 * one line saying what to do; the CLI prints it without a stack trace.
 */
export class LocalBackendError extends KopslessError {
  override readonly name = 'LocalBackendError';
  readonly transient = false;
}

/** How to install moto by hand, for the one line printed when kopsless cannot do it. */
export const MOTO_INSTALL_HINT = "install it with: python3 -m pip install 'moto[server]'";

/** The outcome of running a command: its exit code (null when it could not start) and its output. */
export interface CommandResult {
  code: number | null;
  output: string;
}

/** Runs a command to completion with a time limit, collecting stdout and stderr. */
export function runCommand(
  command: string,
  args: string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
      timeout: timeoutMs,
    });
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', (error) => resolve({ code: null, output: `${output}${error.message}` }));
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** True when the interpreter can import what moto_server.py needs (moto and its server extras). */
export async function importsMoto(python: string, run = runCommand): Promise<boolean> {
  return (await run(python, ['-c', 'import moto.server'], 60_000)).code === 0;
}

export interface MotoPythonOptions {
  /** Where kopsless keeps its files (`KOPSLESS_HOME`); the virtualenv is made under it. */
  home: string;
  /** The interpreter to try first and to make the virtualenv with (`KOPSLESS_PYTHON`, default python3). */
  python?: string;
  /** Progress lines for the user (stderr). */
  log: (line: string) => void;
  run?: typeof runCommand;
}

/** The virtualenv kopsless makes for moto when the interpreter has none. */
export function motoVenv(home: string): { dir: string; python: string } {
  const dir = join(home, 'venv');
  return {
    dir,
    python: join(dir, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python'),
  };
}

/** The last non-empty line of a command's output: what pip or venv said went wrong. */
function lastLine(output: string): string | undefined {
  return output
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .at(-1)
    ?.trim();
}

/**
 * The Python that runs moto: the interpreter itself when it imports moto, else the virtualenv
 * under `home` (made, and `moto[server]` installed into it, the first time; said on `log`). The
 * README's first command is then the whole set-up on a machine with Python 3. When none of that
 * works, a LocalBackendError says, in one line, what failed and how to install moto by hand.
 */
export async function ensureMotoPython(options: MotoPythonOptions): Promise<string> {
  const run = options.run ?? runCommand;
  const python = options.python ?? 'python3';
  if (await importsMoto(python, run)) return python;
  const venv = motoVenv(options.home);
  if (existsSync(venv.python) && (await importsMoto(venv.python, run))) return venv.python;
  const fail = (what: string, output: string): never => {
    const said = lastLine(output);
    throw new LocalBackendError(
      `${python} cannot import moto and ${what}${said ? ` (${said})` : ''}; ${MOTO_INSTALL_HINT}`,
    );
  };
  if (!existsSync(venv.python)) {
    options.log(`${python} cannot import moto: making a virtualenv for it in ${venv.dir}`);
    const made = await run(python, ['-m', 'venv', venv.dir], 120_000);
    if (made.code !== 0) fail(`making a virtualenv in ${venv.dir} failed`, made.output);
  }
  options.log(`installing moto[server] into ${venv.dir} (once; this takes a minute)`);
  const pip = await run(
    venv.python,
    [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--quiet',
      '--retries',
      '1',
      '--timeout',
      '20',
      'moto[server]',
    ],
    600_000,
  );
  if (pip.code !== 0) fail(`installing moto[server] into ${venv.dir} failed`, pip.output);
  if (!(await importsMoto(venv.python, run)))
    fail(`the virtualenv in ${venv.dir} still cannot import it`, '');
  options.log(`moto installed in ${venv.dir}`);
  return venv.python;
}

export interface MotoProcess {
  pid: number;
  port: number;
  endpoint: string;
}

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** True when something answers HTTP on the endpoint. */
export async function isAnswering(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Starts moto_server detached (it outlives the CLI invocation that started it, which is how
 * the local backend keeps its state between commands) and waits until it answers.
 */
export async function startMoto(options: {
  dir: string;
  port?: number;
  detached?: boolean;
  python?: string;
}): Promise<MotoProcess> {
  const port = options.port ?? (await freePort());
  const amisPath = join(options.dir, 'amis.json');
  // moto knows a few 2017 AMIs only; give it the images kOps manifests name, so lookups by owner and name work.
  writeFileSync(amisPath, JSON.stringify(LOCAL_IMAGES, null, 2));
  const log = openSync(join(options.dir, 'moto.log'), 'a');
  // moto_server through our wrapper (moto_server.py: one moto bug fixed); the python must import moto.
  const wrapper = join(dirname(fileURLToPath(import.meta.url)), 'moto_server.py');
  const child = spawn(
    options.python ?? 'python3',
    [wrapper, '-H', '127.0.0.1', '-p', String(port)],
    {
      detached: options.detached ?? true,
      stdio: ['ignore', log, log],
      env: { ...process.env, MOTO_AMIS_PATH: amisPath },
    },
  );
  closeSync(log);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
  if (options.detached ?? true) child.unref();
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const early = await Promise.race([
      exited.then((c) => `moto_server exited with code ${c}`),
      spawnFailed.then((e) => `moto_server could not start: ${e.message}`),
      sleep(200).then(() => undefined),
    ]);
    if (early)
      throw new LocalBackendError(
        `${early} (see ${join(options.dir, 'moto.log')}); does ${options.python ?? 'python3'} import moto? ${MOTO_INSTALL_HINT}`,
      );
    if (await isAnswering(endpoint)) return { pid: child.pid ?? 0, port, endpoint };
  }
  stopMoto(child.pid ?? 0);
  throw new LocalBackendError(
    `moto_server did not answer on ${endpoint} within 30 s (see ${join(options.dir, 'moto.log')})`,
  );
}

/** Stops moto by PID (its whole process group: moto_server may run through a shim). */
export function stopMoto(pid: number): void {
  if (!pid) return;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
