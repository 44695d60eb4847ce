import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { motoVenv } from '../../src/local/moto/moto.js';
import { writeFakePython } from '../support/fake-python.js';
import { kopsless } from './run.js';

// `kopsless local up` on a machine whose python3 has no moto: a stand-in python3 first in PATH.
let home: string;
let bin: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'kopsless-home-'));
  bin = mkdtempSync(join(tmpdir(), 'kopsless-bin-'));
  writeFakePython(bin);
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(bin, { recursive: true, force: true });
});

const env = () => ({
  KOPSLESS_HOME: home,
  PATH: `${bin}${delimiter}${process.env.PATH}`,
  KOPSLESS_PYTHON: '',
});
const stackLines = (text: string) => text.split('\n').filter((l) => /^\s+at /.test(l));

describe('kopsless local up without moto', () => {
  it('tries a virtualenv, then fails with one line on how to install moto and no stack trace (exit 1)', async () => {
    const result = await kopsless(['local', 'up'], env());

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`making a virtualenv for it in ${motoVenv(home).dir}`);
    const last = result.stderr.trim().split('\n').at(-1)!;
    expect(last).toBe(
      `LocalBackendError: python3 cannot import moto and installing moto[server] into ${motoVenv(home).dir} failed (ERROR: No matching distribution found for moto[server]); install it with: python3 -m pip install 'moto[server]'`,
    );
    expect(stackLines(result.stderr)).toEqual([]);
  }, 60_000);

  it('runs moto from an existing virtualenv under KOPSLESS_HOME that has it', async () => {
    // The machine's own python (it has moto) stands in for a virtualenv's interpreter.
    const real = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], {
      encoding: 'utf8',
    }).stdout.trim();
    const venv = motoVenv(home);
    mkdirSync(join(venv.python, '..'), { recursive: true });
    symlinkSync(real, venv.python);

    const up = await kopsless(['local', 'up'], env());
    const down = await kopsless(['local', 'down'], env());

    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain('started: moto');
    expect(up.stderr).not.toContain('installing');
    expect(down.code).toBe(0);
  }, 120_000);
});
