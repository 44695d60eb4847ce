import { describe, expect, it } from 'vitest';
import {
  bootWait,
  DEFAULT_BOOT_ESTIMATE_SECONDS,
  MAX_BOOT_ESTIMATE_SECONDS,
  nextBootEstimate,
} from '../../src/planning/boot-estimate.js';

const T0 = new Date('2026-12-01T00:00:00.000Z');
const secondsLater = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const TIMEOUT = 900;
const POLL = 20;

describe('bootWait', () => {
  it('waits the default estimate before the roll has observed a boot', () => {
    const wait = bootWait(T0, undefined, true, TIMEOUT);

    expect(wait).toEqual({
      startedAt: T0.toISOString(),
      estimateSeconds: DEFAULT_BOOT_ESTIMATE_SECONDS,
      waitSeconds: DEFAULT_BOOT_ESTIMATE_SECONDS,
    });
  });

  it('looks at once when the step launched nothing, and keeps the estimate', () => {
    const wait = bootWait(T0, 140, false, TIMEOUT);

    expect(wait.waitSeconds).toBe(0);
    expect(wait.estimateSeconds).toBe(140);
  });

  it('never waits more than half the replacements timeout, nor past the cap', () => {
    expect(bootWait(T0, 140, true, 30).waitSeconds).toBe(15);
    expect(bootWait(T0, 5_000, true, 100_000).waitSeconds).toBe(MAX_BOOT_ESTIMATE_SECONDS);
  });
});

describe('nextBootEstimate', () => {
  it('learns the elapsed time, the shortest wait known to be enough, when the replacements needed more looks', () => {
    const wait = bootWait(T0, 60, true, TIMEOUT);

    expect(nextBootEstimate(wait, secondsLater(160), POLL)).toBe(160);
  });

  it('keeps the estimate when the first look found them ready', () => {
    const wait = bootWait(T0, 150, true, TIMEOUT);

    expect(nextBootEstimate(wait, secondsLater(151), POLL)).toBe(150);
  });

  it('never lowers the estimate after a late first look (a slow invocation)', () => {
    const wait = bootWait(T0, 150, true, TIMEOUT);

    expect(nextBootEstimate(wait, secondsLater(150 + POLL - 1), POLL)).toBe(150);
  });

  it('learns nothing from a step that launched nothing', () => {
    const wait = bootWait(T0, 150, false, TIMEOUT);

    expect(nextBootEstimate(wait, secondsLater(1), POLL)).toBe(150);
  });
});
