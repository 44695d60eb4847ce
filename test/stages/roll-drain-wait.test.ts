import { describe, expect, it } from 'vitest';
import {
  DRAIN_POLL_SECONDS,
  drainWaitSeconds,
  MAX_DRAIN_WAIT_SECONDS,
} from '../../src/stages/roll-drain.js';

const NOW = new Date('2026-12-01T00:00:00.000Z');
const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000).toISOString();

describe('drainWaitSeconds', () => {
  it('polls at the interval while a pod still waits for its eviction', () => {
    const left = { count: 3, names: [], notTerminating: 1, goneBy: at(45) };

    expect(drainWaitSeconds(left, NOW)).toBe(DRAIN_POLL_SECONDS);
  });

  it('waits until the last terminating pod is gone when every pod left is terminating', () => {
    const left = { count: 3, names: [], notTerminating: 0, goneBy: at(45) };

    expect(drainWaitSeconds(left, NOW)).toBe(45);
  });

  it('keeps the wait between the poll interval and its cap', () => {
    const soon = { count: 1, names: [], notTerminating: 0, goneBy: at(2) };
    const late = { count: 1, names: [], notTerminating: 0, goneBy: at(600) };

    expect(drainWaitSeconds(soon, NOW)).toBe(DRAIN_POLL_SECONDS);
    expect(drainWaitSeconds(late, NOW)).toBe(MAX_DRAIN_WAIT_SECONDS);
  });
});
