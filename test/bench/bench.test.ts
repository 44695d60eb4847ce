import { beforeAll, describe, expect, it } from 'vitest';
import {
  type BenchResults,
  CREATE_FIELDS,
  LIFECYCLE_FIELDS,
  ROLL_FIELDS,
  WATCHER_FIELDS,
} from '../../scripts/bench/report.js';
import { BOOT_SECONDS, runBench } from '../../scripts/bench.js';
import { HISTORY_EVENT_LIMIT } from '../../src/local/sfn/history.js';

// The bench's quick mode (30 nodes on the simulated clock; the watcher at 50 nodes of 110 pods;
// the watcher burst), on a local backend this file starts and stops. No assertion is on time: only on what
// the runs counted and on the shape of bench/results.json.
let results: BenchResults;

beforeAll(async () => {
  results = await runBench({
    mode: 'quick',
    sections: ['roll', 'create', 'delete', 'watcher', 'watcherBurst'],
  });
}, 1_200_000);

describe('bench --quick: results.json', () => {
  it('has one roll, one create and one delete row of 30 nodes with exactly the fields the bench reports', () => {
    expect(results.roll.map((r) => Object.keys(r).sort())).toEqual([[...ROLL_FIELDS].sort()]);
    expect(results.create.map((r) => Object.keys(r).sort())).toEqual([[...CREATE_FIELDS].sort()]);
    expect(results.delete.map((r) => Object.keys(r).sort())).toEqual([
      [...LIFECYCLE_FIELDS].sort(),
    ]);
    expect(results.roll[0]).toMatchObject({
      nodes: 30,
      groups: 3,
      maxSurge: '10%',
      parallelGroups: 1,
    });
  });

  it("has a create row that waited for the simulated stack and the nodes' boot, beside kOps's model", () => {
    const create = results.create[0]!;

    // The seed stack's longest chain: the API records on the placeholder (no instance profile).
    expect(create.stackSeconds).toBe(60);
    expect(create.modelSeconds).toBeGreaterThanOrEqual(create.stackSeconds);
    // The groups wait for the stack (their instance profiles propagate while it runs), then boot.
    expect(create.simulatedSeconds).toBeGreaterThanOrEqual(create.stackSeconds + BOOT_SECONDS);
    expect(create.ratioToKops).toBeCloseTo(create.simulatedSeconds / create.kopsModelSeconds, 3);
  });

  it('has a watcher row with exactly the fields the bench reports', () => {
    // viewBytesPerPod is an object: in results.json, not a column of the printed table.
    expect(results.watcher.map((r) => Object.keys(r).sort())).toEqual([
      [...WATCHER_FIELDS, 'viewBytesPerPod'].sort(),
    ]);
    expect(results.watcher[0]).toMatchObject({ nodes: 50, pods: 5500 });
  });
});

describe('bench --quick: the roll', () => {
  it('drains full nodes (110 pods) within half of every Timeout and 64 KiB of state', () => {
    const roll = results.roll[0]!;

    expect(roll.podsPerNode).toBe(110);
    expect(roll.maxInvocationShareOfTimeout).toBeGreaterThan(0);
    expect(roll.maxInvocationShareOfTimeout).toBeLessThan(0.5);
    expect(roll.maxStateBytes).toBeGreaterThan(0);
    expect(roll.maxStateBytes).toBeLessThan(64 * 1024);
  });

  it('succeeds within the history quota in every execution', () => {
    const roll = results.roll[0]!;

    expect(results.diagnostics['roll.30']).toMatch(/^SUCCEEDED/);
    expect(roll.maxHistoryEvents).toBeLessThan(HISTORY_EVENT_LIMIT);
  });

  it('runs the groups as child executions (the parent and at least one child per node group)', () => {
    const executions = Number(
      /; (\d+) executions,/.exec(results.diagnostics['roll.30'] ?? '')?.[1],
    );

    expect(executions).toBeGreaterThanOrEqual(1 + results.roll[0]!.groups);
  });

  it('takes simulated time: at least a boot per batch of one (30 batches, one group at a time)', () => {
    const roll = results.roll[0]!;

    expect(roll.modelSeconds).toBeGreaterThanOrEqual(30 * BOOT_SECONDS);
  });

  // At 30 nodes a 10% surge replaces one node per batch, so each node pays a whole step: its
  // drain, its terminate, the look at its replacement and the validation. The targets
  // for this row: at most 20 transitions and 10 AWS calls per replaced node (measured 16.1 and
  // 9.8: one child execution per group, the look that ends a step validating and planning the
  // next, the lock read only before a change). A loop that polls more, a step that repeats or
  // re-reads the state store or every group goes past them.
  it('makes at most 20 transitions per replaced node at a surge of one', () => {
    const roll = results.roll[0]!;

    expect(roll.transitions / roll.nodes).toBeLessThanOrEqual(20);
  });

  it('makes at most 10 AWS calls per replaced node at a surge of one', () => {
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

describe('bench --quick: the watcher burst', () => {
  it('observes the cluster at most 5 times for 2,000 events in a minute', () => {
    const burst = results.watcherBurst[0]!;

    expect(burst.events).toBe(2000);
    expect(burst.observations).toBeLessThanOrEqual(5);
  });
});

describe('bench --quick: the watcher', () => {
  it('lists nodes and pod rows in pages: 1 page of nodes, 11 of rows (500 each), 1 of unscheduled pods, 1 DaemonSet read', () => {
    expect(results.watcher[0]!.kubeRequests).toBe(14);
  });

  it('reads pod rows, not pods: under 300 bytes a pod of at least 4 KB', () => {
    const row = results.watcher[0]!;

    expect(row.podBytes).toBeGreaterThanOrEqual(4096);
    expect(row.bytesRead / row.pods).toBeLessThan(300);
  });

  it('stays under 256 MiB peak at 50 nodes', () => {
    expect(results.watcher[0]!.peakMiB).toBeLessThan(256);
  });
});
