import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  costUsd,
  lambdaMemoryMb,
  lambdaTimeoutSeconds,
  maxShareOfTimeout,
  minimalCreateAwsCalls,
  minimalDeleteAwsCalls,
  minimalRollAwsCalls,
  STATE_STORE_CALLS,
} from '../../scripts/bench/cost.js';
import { ROOT } from '../helpers.js';

describe('lambdaMemoryMb', () => {
  it('reads each function its own MemorySize, or the Globals one, from template.yaml', () => {
    const memory = lambdaMemoryMb(readFileSync(join(ROOT, 'template.yaml'), 'utf8'));

    expect(memory).toMatchObject({
      WriteStateFunction: 256,
      ApiFunction: 256,
      RollingUpdateFunction: 512,
    });
  });
});

describe('lambdaTimeoutSeconds and maxShareOfTimeout', () => {
  it('reads each function its Timeout from template.yaml', () => {
    const timeouts = lambdaTimeoutSeconds(readFileSync(join(ROOT, 'template.yaml'), 'utf8'));

    expect(timeouts.RollingUpdateFunction).toBeGreaterThan(0);
    expect(Object.keys(timeouts)).toContain('WatchEniFunction');
  });

  it('finds the invocation nearest its own Timeout, not the longest one', () => {
    const worst = maxShareOfTimeout(
      [
        { functionId: 'Long', ms: 60_000 },
        { functionId: 'Short', ms: 20_000 },
      ],
      { Long: 900, Short: 30 },
    );

    expect(worst).toEqual({ share: 20 / 30, functionId: 'Short', ms: 20_000 });
  });

  it('refuses a function the template does not name, rather than leaving it out', () => {
    expect(() => maxShareOfTimeout([{ functionId: 'Gone', ms: 1 }], {})).toThrow(/Gone/);
  });
});

describe('costUsd', () => {
  it('prices 1,000 transitions at $0.025 and one second at 1,024 MB at $0.0000166667', () => {
    expect(costUsd(1000, [{ functionId: 'F', ms: 1000 }], { F: 1024 })).toBeCloseTo(
      0.025 + 0.0000166667,
      12,
    );
  });

  it('rounds each invocation up to the millisecond', () => {
    expect(costUsd(0, [{ functionId: 'F', ms: 0.2 }], { F: 1024 })).toBeCloseTo(
      0.001 * 0.0000166667,
      15,
    );
  });

  it('refuses a function with no memory size, naming it', () => {
    expect(() => costUsd(0, [{ functionId: 'Missing', ms: 1 }], {})).toThrow(/Missing/);
  });
});

describe('minimalRollAwsCalls', () => {
  it('counts one group of 3 at surge 1: detach + describe, two batches of terminate + describe, one terminate of the detached', () => {
    // 5 state store + 1 describe groups + 1 describe instances + (1 + 1) + 2 × (1 + 1) + 1
    expect(minimalRollAwsCalls([{ instances: 3, maxSurge: 1, maxUnavailable: 0 }])).toBe(
      STATE_STORE_CALLS + 2 + 2 + 4 + 1,
    );
  });

  it('needs about one call per node at 1,000 nodes in 10 groups of 100 with surge 10', () => {
    const groups = Array.from({ length: 10 }, () => ({
      instances: 100,
      maxSurge: 10,
      maxUnavailable: 0,
    }));

    // per group: 1 detach + 1 describe, 9 batches of 10 terminates + 1 describe, 1 terminate of the detached
    expect(minimalRollAwsCalls(groups)).toBe(STATE_STORE_CALLS + 1 + 1 + 10 * (2 + 9 * 11 + 1));
  });

  it('refuses a group that can replace nothing', () => {
    expect(() => minimalRollAwsCalls([{ instances: 3, maxSurge: 0, maxUnavailable: 0 }])).toThrow(
      /groups\[0\]/,
    );
  });
});

describe('minimalCreateAwsCalls and minimalDeleteAwsCalls', () => {
  it('grow per instance group (3 calls to create one, 2 to delete one), not per instance', () => {
    expect(minimalCreateAwsCalls(4) - minimalCreateAwsCalls(3)).toBe(3);
    expect(minimalDeleteAwsCalls(4, 30) - minimalDeleteAwsCalls(3, 30)).toBe(2);
  });
});
