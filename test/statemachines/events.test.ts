import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_STATE_MACHINES, FUNCTIONS } from '../../src/functions-registry.js';
import { ROOT } from '../helpers.js';

const events = readdirSync(join(ROOT, 'events')).filter((f) => f.endsWith('.json'));

describe('events/', () => {
  it('has a sample event for every function and state machine', () => {
    const targets = new Set(events.map((f) => f.split('.')[0]));

    expect(
      [...Object.values(FUNCTIONS), ...Object.values(ALL_STATE_MACHINES)].filter(
        (t) => !targets.has(t),
      ),
    ).toEqual([]);
  });

  it.each(events)('%s is JSON for a known function or state machine', (file) => {
    const target = file.split('.')[0]!;
    const event = JSON.parse(readFileSync(join(ROOT, 'events', file), 'utf8'));

    expect([
      ...Object.values(FUNCTIONS),
      ...Object.values(ALL_STATE_MACHINES),
    ] as string[]).toContain(target);
    expect(typeof event).toBe('object');
  });
});
