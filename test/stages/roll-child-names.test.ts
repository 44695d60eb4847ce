import { describe, expect, it } from 'vitest';
import { EXECUTION_NAME_MAX_CHARS, executionNameProblem } from '../../src/aws/sfn.js';
import { childExecutionName } from '../../src/stages/roll-child-names.js';

const PARENT = 'arn:aws:states:us-east-1:123456789012:execution:kopsless-rolling-update:roll-1';

describe('childExecutionName', () => {
  it('is the same for the same parent, group and sequence, and differs when any of them does', () => {
    const name = childExecutionName(PARENT, 'nodes-us-east-1a', 1);

    expect(childExecutionName(PARENT, 'nodes-us-east-1a', 1)).toBe(name);
    expect(childExecutionName(PARENT, 'nodes-us-east-1a', 2)).not.toBe(name);
    expect(childExecutionName(PARENT, 'nodes-us-east-1b', 1)).not.toBe(name);
    expect(childExecutionName(`${PARENT}-2`, 'nodes-us-east-1a', 1)).not.toBe(name);
  });

  it("stays within 80 characters of Step Functions' alphabet for the longest group names and dots", () => {
    const groups = ['a'.repeat(63), 'nodes.with.dots', 'x'.repeat(200)];

    for (const group of groups) {
      const name = childExecutionName(PARENT, group, 999_999);
      expect(name.length).toBeLessThanOrEqual(EXECUTION_NAME_MAX_CHARS);
      expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(executionNameProblem(name)).toBeUndefined();
    }
  });

  it('tells apart groups whose names agree in their first 48 characters', () => {
    const common = 'n'.repeat(48);

    expect(childExecutionName(PARENT, `${common}-a`, 1)).not.toBe(
      childExecutionName(PARENT, `${common}-b`, 1),
    );
  });

  it('refuses a sequence that is not a whole number from 1', () => {
    expect(() => childExecutionName(PARENT, 'nodes', 0)).toThrow(RangeError);
  });
});
