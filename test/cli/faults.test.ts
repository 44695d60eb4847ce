import { describe, expect, it } from 'vitest';
import { kopsless, localBackendForFile } from './run.js';

// The CLI with KOPSLESS_FAULTS set, on its own local backend (stopped by PID at the end): the
// commands still succeed and their summary line says how many faults the handlers' calls met.
const { env } = localBackendForFile();
const faulty = { ...env, KOPSLESS_FAULTS: 'throttle=0.2,5xx=0.05,latency=50ms,seed=7' };
const flags = [
  'create',
  'cluster',
  '--name',
  'faulty.example.com',
  '--zones',
  'us-east-1a',
  '--networking',
  'amazonvpc',
  '--node-count',
  '1',
  '--node-size',
  't3.medium',
  '--master-size',
  't3.medium',
  '--yes',
];

const injected = (stdout: string) => Number(/; (\d+) faults injected/.exec(stdout)?.[1] ?? 0);

describe('kopsless CLI under KOPSLESS_FAULTS', () => {
  it('creates the cluster and says how many faults were injected', async () => {
    const result = await kopsless(flags, faulty);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /Cluster "faulty\.example\.com" is ready \(.*; \d+ faults injected \(\d+ throttles, \d+ HTTP 503, \d+ answers lost after the write\) in \d+ AWS calls\)/,
    );
    expect(injected(result.stdout)).toBeGreaterThan(0);
  }, 180_000);

  it('deletes it, with faults, and leaves nothing behind', async () => {
    const result = await kopsless(['delete', 'cluster', 'faulty.example.com', '--yes'], faulty);
    const after = await kopsless(['delete', 'cluster', 'faulty.example.com'], env);

    expect(result.code, result.stderr).toBe(0);
    expect(injected(result.stdout)).toBeGreaterThan(0);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('nothing in the state store and no resource tagged for it');
  }, 180_000);

  it('refuses a setting it does not understand, naming the knob, and runs nothing', async () => {
    const result = await kopsless(
      ['create', 'cluster', '--name', 'bad.example.com', '--zones', 'us-east-1a', '--yes'],
      { ...env, KOPSLESS_FAULTS: 'throttle=2' },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'error: KOPSLESS_FAULTS: throttle=2: must be a share between 0 and 1',
    );
    expect(result.stdout).not.toContain('Creating cluster');
  }, 60_000);
});
