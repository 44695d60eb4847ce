import { beforeAll, describe, expect, it } from 'vitest';
import { runBench } from '../../scripts/bench.js';
import { LIFECYCLE_FIELDS, ROLL_FIELDS, WATCHER_FIELDS, type BenchResults } from '../../scripts/bench/report.js';
import { HISTORY_EVENT_LIMIT } from '../../src/local/history.js';

// The bench's quick mode (30 nodes; the watcher at 50 nodes of 110 pods): the sections that run
// today, on a local backend this file starts and stops. No assertion is on time: only on what
// the runs counted and on the shape of bench/results.json.
let results: BenchResults;

beforeAll(async () => {
  results = await runBench({ mode: 'quick', sections: ['roll', 'create', 'delete', 'watcher', 'watcherBurst'] });
}, 1_200_000);

describe('bench --quick: results.json', () => {
  it('has one roll, one create and one delete row of 30 nodes with exactly the fields issue 12 lists', () => {
    expect(results.roll.map((r) => Object.keys(r).sort())).toEqual([[...ROLL_FIELDS].sort()]);
    expect(results.create.map((r) => Object.keys(r).sort())).toEqual([[...LIFECYCLE_FIELDS].sort()]);
    expect(results.delete.map((r) => Object.keys(r).sort())).toEqual([[...LIFECYCLE_FIELDS].sort()]);
    expect(results.roll[0]).toMatchObject({ nodes: 30, groups: 3, maxSurge: '10%', parallelGroups: 1 });
  });

  it('has a watcher row with exactly the fields issue 12 lists', () => {
    expect(results.watcher.map((r) => Object.keys(r).sort())).toEqual([[...WATCHER_FIELDS].sort()]);
    expect(results.watcher[0]).toMatchObject({ nodes: 50, pods: 5500 });
  });
});

describe('bench --quick: the roll', () => {
  it('succeeds within the history quota', () => {
    const roll = results.roll[0]!;

    expect(results.diagnostics['roll.30']).toMatch(/^SUCCEEDED/);
    expect(roll.maxHistoryEvents).toBeLessThan(HISTORY_EVENT_LIMIT);
  });

  it('makes at most 40 transitions per replaced node', () => {
    const roll = results.roll[0]!;

    expect(roll.transitions / roll.nodes).toBeLessThanOrEqual(40);
  });

  // Issue 12's target: at most 10 AWS calls per replaced node. Today's roll re-reads the state
  // store and every group at each step (about 27 per node at 30 nodes); the fix lands with the
  // merge of the roll rework, which then drops `.fails`.
  it.fails('makes at most 10 AWS calls per replaced node', () => {
    const roll = results.roll[0]!;

    expect(roll.awsCalls / roll.nodes).toBeLessThanOrEqual(10);
  });

  it('never counts fewer AWS calls than the fewest the roll needs, and prices the run', () => {
    const roll = results.roll[0]!;

    expect(roll.awsCalls).toBeGreaterThanOrEqual(roll.minimalAwsCalls);
    expect(roll.costUsd).toBeGreaterThan(0);
  });

  it('puts kOps model time in every row', () => {
    expect(results.roll[0]!.kopsModelSeconds).toBeGreaterThan(0);
  });
});

describe('bench --quick: the watcher', () => {
  it('lists nodes and pods in pages: 1 page of nodes, 11 of pods (500 each), 1 DaemonSet read', () => {
    expect(results.watcher[0]!.kubeRequests).toBe(13);
  });

  it('stays under 256 MiB peak at 50 nodes', () => {
    expect(results.watcher[0]!.peakMiB).toBeLessThan(256);
  });
});
