import { describe, expect, it } from 'vitest';
import {
  type BenchResults,
  checkTargets,
  mergeResults,
  type RollRow,
  rollTimeSvg,
  table,
} from '../../scripts/bench/report.js';

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
  podsPerNode: 110,
  maxInvocationShareOfTimeout: 0.1,
  maxStateBytes: 1000,
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

/** A results.json with these roll rows and a note per row. */
const results = (rows: RollRow[], mode: BenchResults['mode'] = 'full'): BenchResults =>
  ({
    generatedAt: 'g',
    measuredAt: {},
    mode,
    machine: {},
    settings: {},
    roll: rows,
    create: [],
    delete: [],
    watcher: [],
    watcherBurst: [],
    coldStart: [],
    diagnostics: Object.fromEntries(
      rows.map((r) => [`roll.${r.nodes}`, `run of ${r.modelSeconds}`]),
    ),
  }) as unknown as BenchResults;

describe('mergeResults with --sizes', () => {
  it('replaces the rows and notes of the sizes measured and keeps the others', () => {
    const previous = results([row(30, 100, 6000), row(300, 200, 7000), row(1000, 300, 24000)]);
    const next = results([row(300, 250, 7000)]);

    const merged = mergeResults(previous, next, ['roll', 'create', 'delete'], [300]);

    expect(merged.roll.map((r) => [r.nodes, r.modelSeconds])).toEqual([
      [30, 100],
      [300, 250],
      [1000, 300],
    ]);
    expect(merged.diagnostics).toEqual({
      'roll.30': 'run of 100',
      'roll.300': 'run of 250',
      'roll.1000': 'run of 300',
    });
  });
});

describe('checkTargets', () => {
  it('counts a full bench without the 1,000-node roll row as a missed target', () => {
    const targets = checkTargets(results([row(30, 100, 6000), row(300, 200, 7000)]));

    expect(targets).toContainEqual(
      expect.objectContaining({
        target: expect.stringContaining('roll 1,000: measured'),
        met: false,
      }),
    );
  });

  it('holds the 30-node roll to 20 transitions and 10 AWS calls per node, and to kOps time', () => {
    const small = { ...row(30, 7000, 6000), transitions: 900, awsCalls: 300 };

    const targets = checkTargets(results([small]));

    expect(targets.filter((t) => t.target.startsWith('roll 30:'))).toEqual([
      expect.objectContaining({ value: 30, bound: 20, met: false }),
      expect.objectContaining({ value: 10, bound: 10, met: true }),
      expect.objectContaining({ value: 7000, bound: 6000, met: false }),
    ]);
  });

  it('holds a roll of 300 nodes at 110 pods a node to half the Timeout and 64 KiB of state', () => {
    const drained = {
      ...row(300, 200, 7000),
      maxInvocationShareOfTimeout: 0.6,
      maxStateBytes: 70_000,
    };

    const targets = checkTargets(results([drained]));

    expect(targets.filter((t) => t.target.startsWith('roll 300 (110 pods'))).toEqual([
      expect.objectContaining({ value: 0.6, bound: 0.5, met: false }),
      expect.objectContaining({ value: 70_000, bound: 65_536, met: false }),
    ]);
  });

  it('counts a full bench without a 110-pod roll of 300 nodes or more as a missed target', () => {
    const light = { ...row(300, 200, 7000), podsPerNode: 10 };

    const targets = checkTargets(results([light]));

    expect(targets).toContainEqual(
      expect.objectContaining({
        target: expect.stringContaining('110 pods per node: measured'),
        met: false,
      }),
    );
  });

  it('does not ask the quick bench for the 1,000-node row', () => {
    const targets = checkTargets(results([row(30, 100, 6000)], 'quick'));

    expect(targets.filter((t) => t.target.startsWith('roll 1,000'))).toEqual([]);
  });
});
