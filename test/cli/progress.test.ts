import { describe, expect, it } from 'vitest';
import { progressPrinter } from '../../src/cli/progress.js';
import type { ProgressEvent } from '../../src/local/step-functions.js';

const task = (kind: ProgressEvent['kind'], state: string, at: number, execution?: string): ProgressEvent => ({
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

  it('prints the states of the execution itself without a label', () => {
    const lines: string[] = [];
    const print = progressPrinter((line) => lines.push(line), 0);

    print(task('entered', 'AcquireLock', 0));
    print(task('exited', 'AcquireLock', 500));

    expect(lines[0]).toMatch(/✓ AcquireLock/);
  });
});
