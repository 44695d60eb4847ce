import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TASK_RETRY } from '../../src/errors.js';
import { ALL_STATE_MACHINES } from '../../src/functions-registry.js';
import {
  catchAll,
  lambdaTask,
  pollUntil,
  render,
  START_EXECUTION_SYNC,
  startChild,
} from '../../src/statemachines/asl.js';
import { MACHINES, renderAll } from '../../src/statemachines/index.js';
import { ROOT } from '../helpers.js';

describe('statemachines/*.asl.json', () => {
  it.each(renderAll())(
    '$file is what the builder writes (else: run npm run build:asl)',
    ({ file, text }) => {
      const onDisk = readFileSync(join(ROOT, 'statemachines', file), 'utf8');

      expect(onDisk, `statemachines/${file} is out of date: run npm run build:asl`).toBe(text);
    },
  );

  it('builds every state machine template.yaml deploys', () => {
    expect(Object.keys(MACHINES).sort()).toEqual(Object.values(ALL_STATE_MACHINES).slice().sort());
  });
});

describe('the ASL builder', () => {
  it('gives a Lambda Task the one retry policy and the failure catch', () => {
    const task = lambdaTask(
      'WriteStateFunction',
      { action: 'phase' },
      { resultPath: null, next: 'Next' },
    );

    expect(task).toEqual({
      Type: 'Task',
      Resource: '${WriteStateFunctionArn}',
      Parameters: { action: 'phase' },
      ResultPath: null,
      Retry: TASK_RETRY,
      Catch: catchAll(),
      Next: 'Next',
    });
  });

  it('leaves the Catch out when told (before the lock, or on the failure path)', () => {
    const task = lambdaTask(
      'WriteStateFunction',
      { action: 'acquireLock' },
      { next: 'Next', catch: false },
    );

    expect(task).not.toHaveProperty('Catch');
    expect(task).not.toHaveProperty('ResultPath');
  });

  it('refuses a Task with neither Next nor End', () => {
    expect(() => lambdaTask('WriteStateFunction', {}, {})).toThrow(/next or end/);
  });

  it('builds a poll as Wait -> Check -> Choice that loops back to the Wait until done', () => {
    const states = pollUntil({
      wait: 'W',
      check: 'C',
      choice: 'R',
      seconds: 20,
      fn: 'RollingUpdateFunction',
      parameters: { action: 'awaitReplacements', 'deadline.$': '$.replace.deadline' },
      resultPath: '$.r',
      until: { Variable: '$.r.ready', BooleanEquals: true },
      next: 'Done',
    });

    expect(Object.keys(states)).toEqual(['W', 'C', 'R']);
    expect(states.W).toEqual({ Type: 'Wait', Seconds: 20, Next: 'C' });
    expect(states.C).toMatchObject({ Type: 'Task', ResultPath: '$.r', Next: 'R' });
    expect(states.R).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.r.ready', BooleanEquals: true, Next: 'Done' }],
      Default: 'W',
    });
  });

  it('refuses a poll whose check has no deadline (it could loop forever)', () => {
    expect(() =>
      pollUntil({
        wait: 'W',
        check: 'C',
        choice: 'R',
        seconds: 5,
        fn: 'RollingUpdateFunction',
        parameters: { action: 'x' },
        resultPath: '$.r',
        until: {},
        next: 'Done',
      }),
    ).toThrow(/deadline/);
  });

  it('starts a child with .sync:2, named from the state, and names the parent execution in its input', () => {
    const task = startChild(
      '${ChildArn}',
      '$.reservation.name',
      { 'cluster.$': '$.cluster' },
      { resultPath: '$.child', next: 'Next' },
    );

    expect(task.Resource).toBe(START_EXECUTION_SYNC);
    expect(task.Parameters).toEqual({
      StateMachineArn: '${ChildArn}',
      'Name.$': '$.reservation.name',
      Input: {
        'cluster.$': '$.cluster',
        'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id',
      },
    });
  });

  it('writes keys in one order whatever order the builder used', () => {
    const a = render({
      StartAt: 'A',
      States: { A: { Next: 'B', Type: 'Pass' }, B: { Type: 'Succeed' } },
    });
    const b = render({
      States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Succeed' } },
      StartAt: 'A',
    });

    expect(a).toBe(b);
    expect(a.indexOf('"Type"')).toBeLessThan(a.indexOf('"Next"'));
    expect(a.endsWith('}\n')).toBe(true);
  });
});
