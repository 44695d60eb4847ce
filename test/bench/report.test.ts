import { describe, expect, it } from 'vitest';
import { rollTimeSvg, table, type RollRow } from '../../scripts/bench/report.js';

const row = (nodes: number, modelSeconds: number | null, kopsModelSeconds: number): RollRow => ({
  nodes,
  groups: 3,
  maxSurge: '10%',
  parallelGroups: 1,
  modelSeconds,
  kopsModelSeconds,
  transitions: 1,
  maxHistoryEvents: 1,
  lambdaInvocations: 1,
  awsCalls: 1,
  minimalAwsCalls: 1,
  costUsd: 0.5,
});

describe('table', () => {
  it('prints a header and one line per row, nulls as a dash and integers with separators', () => {
    const text = table('roll', ['nodes', 'modelSeconds'], [{ nodes: 1000, modelSeconds: null }]);

    expect(text.split('\n')).toEqual(['roll', 'nodes  modelSeconds', '1,000             -']);
  });
});

describe('rollTimeSvg', () => {
  it('draws one polyline per measured series with a point per row', () => {
    const svg = rollTimeSvg([row(30, 600, 6000), row(300, 900, 6375)]);

    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg.match(/<circle/g)).toHaveLength(4);
  });

  it('names a series without measurements as not measured instead of drawing it at zero', () => {
    const svg = rollTimeSvg([row(30, null, 6000)]);

    expect(svg.match(/<polyline/g)).toHaveLength(1);
    expect(svg).toContain('kopsless (state machines, simulated clock): not measured yet');
  });
});
