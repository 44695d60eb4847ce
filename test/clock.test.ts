import { afterEach, describe, expect, it } from 'vitest';
import { type Clock, fixedClock, now, sleep, useClock, withClock } from '../src/clock.js';
import { ClusterStore } from '../src/state/cluster-store.js';
import { memoryObjects } from './support/memory-objects.js';

afterEach(() => {
  useClock(undefined);
});

describe('clock', () => {
  it('reads the system clock when no clock is in use', () => {
    const before = Date.now();

    const at = now().getTime();

    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
  });

  it('reads the clock in use, and useClock returns the one it replaces', () => {
    const sim = fixedClock(new Date('2030-05-01T12:00:00Z'));

    const previous = useClock(sim);
    const seen = now().toISOString();
    useClock(previous);

    expect(seen).toBe('2030-05-01T12:00:00.000Z');
    expect(Math.abs(now().getTime() - Date.now())).toBeLessThan(1000);
  });

  it('dates a lock lease by the clock in use when the store is given none', async () => {
    useClock(fixedClock(new Date('2030-05-01T12:00:00Z')));
    const store = new ClusterStore(memoryObjects());

    const lease = await store.acquireLock('c.example.com', 'owner', 'update', 600);

    expect(lease).toMatchObject({
      acquiredAt: '2030-05-01T12:00:00.000Z',
      expiresAt: '2030-05-01T12:10:00.000Z',
    });
  });

  it('sleeps on the clock in use', async () => {
    const slept: number[] = [];
    const recording: Clock = { now: () => new Date(0), sleep: async (ms) => void slept.push(ms) };
    useClock(recording);

    await sleep(2000);

    expect(slept).toEqual([2000]);
  });

  it('gives each call under withClock its own time across awaits, the rest keeping the clock in use', async () => {
    useClock(fixedClock(new Date('2030-01-01T00:00:00Z')));
    const readAfterAwait = async () => {
      await Promise.resolve();
      return now().toISOString();
    };

    const [first, second] = await Promise.all([
      withClock(fixedClock(new Date('2031-01-01T00:00:00Z')), readAfterAwait),
      withClock(fixedClock(new Date('2032-01-01T00:00:00Z')), readAfterAwait),
    ]);

    expect(first).toBe('2031-01-01T00:00:00.000Z');
    expect(second).toBe('2032-01-01T00:00:00.000Z');
    expect(now().toISOString()).toBe('2030-01-01T00:00:00.000Z');
  });
});
