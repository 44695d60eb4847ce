import { afterEach, describe, expect, it } from 'vitest';
import { now, useClock } from '../src/clock.js';
import { SimClock } from '../src/local/sfn/sim-clock.js';
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
    const sim = new SimClock('2030-05-01T12:00:00Z');

    const previous = useClock(sim);
    const seen = now().toISOString();
    useClock(previous);

    expect(seen).toBe('2030-05-01T12:00:00.000Z');
    expect(Math.abs(now().getTime() - Date.now())).toBeLessThan(1000);
  });

  it('dates a lock lease by the clock in use when the store is given none', async () => {
    useClock(new SimClock('2030-05-01T12:00:00Z'));
    const store = new ClusterStore(memoryObjects());

    const lease = await store.acquireLock('c.example.com', 'owner', 'update', 600);

    expect(lease).toMatchObject({
      acquiredAt: '2030-05-01T12:00:00.000Z',
      expiresAt: '2030-05-01T12:10:00.000Z',
    });
  });
});
