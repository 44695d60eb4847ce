import { describe, expect, it } from 'vitest';
import { progressPrinter } from '../../src/cli/progress.js';
import type { ProgressEvent } from '../../src/local/sfn/step-functions.js';

const task = (
  kind: ProgressEvent['kind'],
  state: string,
  at: number,
  execution?: string,
): ProgressEvent => ({
  kind,
  state,
  stateType: 'Task',
  at,
  ...(execution ? { execution, stateMachine: 'kopsless-rolling-update-group' } : {}),
  ...(kind === 'exited' ? { output: {} } : {}),
});

describe('progress of an execution with child executions', () => {
  it('labels each child execution and times its states apart from another child running the same states', () => {
    const lines: string[] = [];
    const print = progressPrinter((line) => lines.push(line), 0);

    print(task('entered', 'Surge', 0, 'arn:a'));
    print(task('entered', 'Surge', 1000, 'arn:b'));
    print(task('exited', 'Surge', 3000, 'arn:a'));
    print(task('exited', 'Surge', 3000, 'arn:b'));

    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/✓ rolling-update-group#1 Surge\s+3\.0s/);
    expect(lines[1]).toMatch(/✓ rolling-update-group#2 Surge\s+2\.0s/);
  });

  it("names a group execution's instance group once its first state reports it, numbering each group's executions (continue-as-new)", () => {
    const lines: string[] = [];
    const print = progressPrinter((line) => lines.push(line), 0);
    const child = (
      kind: ProgressEvent['kind'],
      state: string,
      at: number,
      execution: string,
      instanceGroup: string,
    ): ProgressEvent => ({
      ...task(kind, state, at, execution),
      ...(kind === 'exited' ? { output: { instanceGroup } } : {}),
    });

    print(child('entered', 'RequireLock', 0, 'arn:first', 'nodes-us-east-1a'));
    print(child('exited', 'RequireLock', 1000, 'arn:first', 'nodes-us-east-1a'));
    print(child('entered', 'RequireLock', 2000, 'arn:other', 'nodes-us-east-1b'));
    print(child('exited', 'RequireLock', 2500, 'arn:other', 'nodes-us-east-1b'));
    print(child('entered', 'RequireLock', 3000, 'arn:continued', 'nodes-us-east-1a'));
    print(child('exited', 'RequireLock', 3500, 'arn:continued', 'nodes-us-east-1a'));
    print(child('entered', 'Surge', 4000, 'arn:first', 'nodes-us-east-1a'));
    print(child('exited', 'Surge', 5000, 'arn:first', 'nodes-us-east-1a'));

    expect(lines.map((l) => /✓ (\S+ \S+) /.exec(l)?.[1])).toEqual([
      'rolling-update-group nodes-us-east-1a#1',
      'rolling-update-group nodes-us-east-1b#1',
      'rolling-update-group nodes-us-east-1a#2',
      'rolling-update-group nodes-us-east-1a#1',
    ]);
  });

  it('prints the states of the execution itself without a label', () => {
    const lines: string[] = [];
    const print = progressPrinter((line) => lines.push(line), 0);

    print(task('entered', 'AcquireLock', 0));
    print(task('exited', 'AcquireLock', 500));

    expect(lines[0]).toMatch(/✓ AcquireLock/);
  });
});
