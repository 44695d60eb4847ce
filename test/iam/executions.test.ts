import { describe, expect, it } from 'vitest';
import { ALL_STATE_MACHINES, deployedStateMachineName } from '../../src/functions-registry.js';
import { readTemplate } from '../support/template.js';
import { evaluate, functionRoles, STACK_NAME } from './policies.js';

// write-state asks Step Functions whether an execution still runs: the lock holder (acquireLock's
// takeover, requireLock's parent check) and a roll child's group claim (a continued child takes
// over its ended predecessor's). The local runner never asks, so only this evaluation of
// template.yaml shows that Lambda may.
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution';
const writeState = () =>
  functionRoles(readTemplate(), { stateBucket: 'kopsless-state-example' }).get(
    'WriteStateFunction',
  )!;

describe("WriteStateFunction's DescribeExecution", () => {
  it.each(Object.values(ALL_STATE_MACHINES))('is allowed on executions of %s', async (machine) => {
    const result = await evaluate(writeState(), {
      action: 'states:DescribeExecution',
      resource: `${EXECUTION}:${deployedStateMachineName(machine, STACK_NAME)}:run-1`,
    });

    expect(result.decision).toBe('Allowed');
  });

  it("is denied on another stack's state machines", async () => {
    const result = await evaluate(writeState(), {
      action: 'states:DescribeExecution',
      resource: `${EXECUTION}:other-rolling-update-group:run-1`,
    });

    expect(result.decision).not.toBe('Allowed');
  });
});
