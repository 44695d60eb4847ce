import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';

/**
 * Who holds a cluster lock when the execution runs in a local process (the CLI's in-process
 * runner): enough to tell, from the same machine, whether that process still runs. A PID alone
 * is not: PIDs are reused, so the process's start time (clock ticks since boot, from
 * /proc/<pid>/stat) and the boot it belongs to are kept with it.
 */
export const LOCK_HOLDER = z
  .object({
    pid: z.number().int().positive(),
    host: z.string(),
    /** The kernel's boot id (/proc/sys/kernel/random/boot_id); absent where there is no /proc. */
    bootId: z.string().optional(),
    /** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks after boot. */
    startTicks: z.string().optional(),
  })
  .strict();
export type LockHolder = z.output<typeof LOCK_HOLDER>;

/** What this machine can tell about a recorded holder. */
export type HolderState = 'alive' | 'gone' | 'unknown';

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** State letter and start time of a process from /proc/<pid>/stat, when /proc has it. */
export function procStat(
  pid: number,
  read: (path: string) => string | undefined = readText,
): { state: string; startTicks: string } | undefined {
  const text = read(`/proc/${pid}/stat`);
  if (!text) return undefined;
  // The command name (field 2) is in parentheses and may hold spaces or ')': split after the last ')'.
  const fields = text
    .slice(text.lastIndexOf(')') + 2)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  const state = fields[0];
  const startTicks = fields[19];
  return state && startTicks ? { state, startTicks } : undefined;
}

/** The identity of a process on this machine (this process by default). */
export function processHolder(
  pid = process.pid,
  read: (path: string) => string | undefined = readText,
): LockHolder {
  const bootId = read('/proc/sys/kernel/random/boot_id')?.trim();
  const startTicks = procStat(pid, read)?.startTicks;
  return {
    pid,
    host: hostname(),
    ...(bootId ? { bootId } : {}),
    ...(startTicks ? { startTicks } : {}),
  };
}

export interface HolderProbe {
  /** This machine as processHolder reports it (host, boot id). */
  self: LockHolder;
  read: (path: string) => string | undefined;
  /** process.kill(pid, 0): true while a process with that PID exists. */
  exists: (pid: number) => boolean;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function defaultProbe(): HolderProbe {
  return { self: processHolder(), read: readText, exists: pidExists };
}

/**
 * Whether a lock's local holder still runs. `unknown` when the holder is on another machine
 * (nothing here can see it) or when there is no way to tell a reused PID from the holder; the
 * caller then leaves the lock alone, as it must for a live holder.
 */
export function holderState(holder: LockHolder, probe: HolderProbe = defaultProbe()): HolderState {
  if (holder.host !== probe.self.host) return 'unknown';
  // Same host, another boot: every process of the old boot ended with it.
  if (holder.bootId && probe.self.bootId && holder.bootId !== probe.self.bootId) return 'gone';
  if (!probe.exists(holder.pid)) return 'gone';
  const stat = procStat(holder.pid, probe.read);
  if (!stat || !holder.startTicks) return 'unknown';
  if (stat.startTicks !== holder.startTicks) return 'gone'; // the PID was reused by another process
  // A zombie has ended; only its parent has not collected its exit status yet.
  if (stat.state === 'Z' || stat.state === 'X') return 'gone';
  return 'alive';
}
