import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type CommandResult,
  ensureMotoPython,
  LocalBackendError,
  motoVenv,
} from '../../src/local/moto/moto.js';

/**
 * A recording stand-in for running commands: each call is answered by `answer`, never run. Which
 * interpreters "import moto" is the test's to say.
 */
function fakeRun(answer: (command: string, args: string[]) => CommandResult) {
  const calls: string[] = [];
  const run = async (command: string, args: string[]) => {
    calls.push(`${command} ${args.join(' ')}`);
    return answer(command, args);
  };
  return { run, calls };
}

const ok: CommandResult = { code: 0, output: '' };
const noMoto: CommandResult = { code: 1, output: "ModuleNotFoundError: No module named 'moto'\n" };
const importsMoto = (args: string[]) => args[0] === '-c' && args[1] === 'import moto.server';

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'kopsless-home-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

/** Makes the virtualenv's python file, as `python3 -m venv` would. */
function makeVenvPython(): string {
  const { python } = motoVenv(home);
  mkdirSync(join(python, '..'), { recursive: true });
  writeFileSync(python, '');
  return python;
}

describe('the Python that runs moto', () => {
  it('is the interpreter itself when it imports moto, and nothing is installed', async () => {
    const { run, calls } = fakeRun(() => ok);

    const python = await ensureMotoPython({ home, python: 'python3', log: () => {}, run });

    expect(python).toBe('python3');
    expect(calls).toEqual(['python3 -c import moto.server']);
  });

  it('is an existing virtualenv under KOPSLESS_HOME that imports moto, with no install', async () => {
    const venvPython = makeVenvPython();
    const { run, calls } = fakeRun((command, args) =>
      command === venvPython && importsMoto(args) ? ok : noMoto,
    );
    const log: string[] = [];

    const python = await ensureMotoPython({
      home,
      python: 'python3',
      log: (l) => log.push(l),
      run,
    });

    expect(python).toBe(venvPython);
    expect(calls).toEqual(['python3 -c import moto.server', `${venvPython} -c import moto.server`]);
    expect(log).toEqual([]);
  });

  it('makes a virtualenv and installs moto[server] into it when the interpreter has no moto, saying so', async () => {
    const { python: venvPython, dir } = motoVenv(home);
    let installed = false;
    const { run, calls } = fakeRun((command, args) => {
      if (args[0] === '-m' && args[1] === 'venv') return (makeVenvPython(), ok);
      if (args.includes('pip')) return ((installed = true), ok);
      return command === venvPython && installed ? ok : noMoto;
    });
    const log: string[] = [];

    const python = await ensureMotoPython({
      home,
      python: 'python3',
      log: (l) => log.push(l),
      run,
    });

    expect(python).toBe(venvPython);
    expect(calls).toEqual([
      'python3 -c import moto.server',
      `python3 -m venv ${dir}`,
      `${venvPython} -m pip install --disable-pip-version-check --quiet --retries 1 --timeout 20 moto[server]`,
      `${venvPython} -c import moto.server`,
    ]);
    expect(log.join('\n')).toContain(`making a virtualenv for it in ${dir}`);
    expect(log.join('\n')).toContain('installing moto[server]');
  });

  it('fails with one line naming what pip said and how to install moto when pip cannot install it', async () => {
    const { run } = fakeRun((_command, args) => {
      if (args[1] === 'venv') return (makeVenvPython(), ok);
      if (args.includes('pip'))
        return {
          code: 1,
          output: 'WARNING: Retrying...\nERROR: No matching distribution found for moto[server]\n',
        };
      return noMoto;
    });

    const failure = await ensureMotoPython({ home, python: 'python3', log: () => {}, run }).catch(
      (e: unknown) => e,
    );

    expect(failure).toBeInstanceOf(LocalBackendError);
    expect((failure as Error).message).toBe(
      `python3 cannot import moto and installing moto[server] into ${motoVenv(home).dir} failed (ERROR: No matching distribution found for moto[server]); install it with: python3 -m pip install 'moto[server]'`,
    );
  });

  it('fails with one line when the virtualenv cannot be made', async () => {
    const { run } = fakeRun((_command, args) =>
      args[1] === 'venv'
        ? {
            code: 1,
            output:
              'The virtual environment was not created successfully because ensurepip is not available.\n',
          }
        : noMoto,
    );

    const failure = await ensureMotoPython({ home, python: 'python3', log: () => {}, run }).catch(
      (e: unknown) => e,
    );

    expect((failure as Error).message).toMatch(
      /^python3 cannot import moto and making a virtualenv in .* failed \(The virtual environment was not created successfully because ensurepip is not available\.\); install it with: python3 -m pip install 'moto\[server\]'$/,
    );
    expect((failure as Error).message).not.toContain('\n');
  });

  it('fails with one line when no python3 can be run at all', async () => {
    const missing = join(home, 'no-such-python');

    const failure = await ensureMotoPython({ home, python: missing, log: () => {} }).catch(
      (e: unknown) => e,
    );

    expect(failure).toBeInstanceOf(LocalBackendError);
    expect((failure as Error).message).toContain(
      `${missing} cannot import moto and making a virtualenv`,
    );
    expect((failure as Error).message).not.toContain('\n');
  });
});
