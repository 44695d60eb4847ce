import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  type HolderProbe,
  holderState,
  type LockHolder,
  processHolder,
  procStat,
} from '../../src/state/holder.js';

// A stat line as Linux writes it; the command name may hold spaces and parentheses.
const stat = (pid: number, state: string, startTicks: string, comm = 'node') =>
  `${pid} (${comm}) ${state} 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 5 1 0 0 20 0 11 0 ${startTicks} 1000000 5000 18446744073709551615`;
const self: LockHolder = { pid: 1, host: 'laptop', bootId: 'boot-1', startTicks: '1' };

/** A machine where the given processes run (pid -> stat line). */
function probe(processes: Record<number, string>): HolderProbe {
  return {
    self,
    read: (path) => processes[Number(/^\/proc\/(\d+)\/stat$/.exec(path)?.[1])],
    exists: (pid) => pid in processes,
  };
}

describe('procStat', () => {
  it('reads state and start time after a command name holding ") ("', () => {
    expect(procStat(7, () => stat(7, 'S', '98765', 'a) (b c'))).toEqual({
      state: 'S',
      startTicks: '98765',
    });
  });

  it('reads this process from /proc', () => {
    const holder = processHolder();

    expect(holder.pid).toBe(process.pid);
    expect(holder.startTicks).toMatch(/^\d+$/);
    expect(holder.bootId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('holderState', () => {
  const holder: LockHolder = { pid: 300, host: 'laptop', bootId: 'boot-1', startTicks: '5000' };

  it('is alive while the same process (same PID and start time) runs', () => {
    expect(holderState(holder, probe({ 300: stat(300, 'S', '5000') }))).toBe('alive');
  });

  it('is gone when no process has the PID', () => {
    expect(holderState(holder, probe({}))).toBe('gone');
  });

  it('is gone when the PID now belongs to a process that started later', () => {
    expect(holderState(holder, probe({ 300: stat(300, 'S', '7000') }))).toBe('gone');
  });

  it('is gone when the process is a zombie its parent has not reaped', () => {
    expect(holderState(holder, probe({ 300: stat(300, 'Z', '5000') }))).toBe('gone');
  });

  it('is gone when the machine has booted since', () => {
    expect(
      holderState({ ...holder, bootId: 'boot-0' }, probe({ 300: stat(300, 'S', '5000') })),
    ).toBe('gone');
  });

  it('is unknown for a holder on another machine, even with a free PID here', () => {
    expect(holderState({ ...holder, host: 'ci-runner' }, probe({}))).toBe('unknown');
  });

  it('is unknown when a process has the PID and its start time cannot be read', () => {
    expect(holderState(holder, { ...probe({ 300: '' }), exists: () => true })).toBe('unknown');
  });

  it('tells a real killed child process from a running one', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], {
      stdio: 'ignore',
    });
    await new Promise((resolve) => child.once('spawn', resolve));
    const recorded = processHolder(child.pid!);
    expect(holderState(recorded)).toBe('alive');

    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    expect(holderState(recorded)).toBe('gone');
  });
});
