import { describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { CHILD_STATE_MACHINES, STATE_MACHINES } from '../src/functions-registry.js';
import { DEPLOYMENT_NAME_LIMIT } from '../src/planning/names.js';

/** Step Functions' limit on a state machine's name. */
const STATE_MACHINE_NAME_LIMIT = 80;
const env = (deployment: string) => ({
  STATE_BUCKET: 'kopsless-state-example',
  AWS_REGION: 'us-east-1',
  KOPSLESS_DEPLOYMENT: deployment,
});

describe('the deployment name', () => {
  it("leaves room for every state machine's name", () => {
    const names = [...Object.values(STATE_MACHINES), ...Object.values(CHILD_STATE_MACHINES)].map(
      (name) => `${'k'.repeat(DEPLOYMENT_NAME_LIMIT)}-${name}`,
    );

    expect(names.filter((name) => name.length > STATE_MACHINE_NAME_LIMIT)).toEqual([]);
    expect(Math.max(...names.map((name) => name.length))).toBe(STATE_MACHINE_NAME_LIMIT);
  });

  it('is taken up to the limit', () => {
    const name = `k${'8'.repeat(DEPLOYMENT_NAME_LIMIT - 1)}`;

    expect(readConfig(env(name)).deployment).toBe(name);
  });

  it('is refused past the limit, naming the setting and the limit', () => {
    const name = 'k'.repeat(DEPLOYMENT_NAME_LIMIT + 1);

    expect(() => readConfig(env(name))).toThrow(ConfigError);
    expect(() => readConfig(env(name))).toThrow(
      `KOPSLESS_DEPLOYMENT must be a stack name of at most ${DEPLOYMENT_NAME_LIMIT} characters`,
    );
  });
});
