import { describe, expect, it } from 'vitest';
import { stateMachineArn } from '../../src/aws/sfn.js';
import { deployedStateMachineName } from '../../src/functions-registry.js';
import { ACCOUNT } from '../../src/local/sfn/asl-definition.js';
import {
  readSamTemplate,
  resolvedEnvironment,
  templateFunctions,
} from '../../src/local/sfn/sam-template.js';

const deployment = { stateBucket: 'kopsless-state-local', region: 'us-east-1' };

describe("a function's template environment in a local deployment", () => {
  it('takes the Globals, then the function, with the bucket, state machine ARNs and parameter defaults resolved', () => {
    const watcher = templateFunctions().WatchEniFunction;

    const env = resolvedEnvironment(watcher, deployment);

    expect(env).toMatchObject({
      STATE_BUCKET: 'kopsless-state-local',
      NODE_OPTIONS: '--enable-source-maps',
      AWS_MAX_ATTEMPTS: '5',
      WATCHER_DRY_RUN: 'false',
      // The ARN the local runner runs the machine under (and its children start it by).
      ROLLING_UPDATE_STATE_MACHINE_ARN: stateMachineArn(
        'us-east-1',
        ACCOUNT,
        deployedStateMachineName('rolling-update'),
      ),
    });
  });

  it("takes the function's MemorySize and Timeout over the Globals'", () => {
    const functions = templateFunctions();

    expect(functions.WriteStateFunction.memorySize).toBe(256);
    expect(functions.RollingUpdateFunction.timeout).toBe(120);
    expect(functions.ValidateSpecFunction).toMatchObject({ memorySize: 512, timeout: 60 });
  });

  it('names the variable whose intrinsic the local backend has no value for', () => {
    const template = readSamTemplate();
    const fn = {
      ...templateFunctions(template).ValidateSpecFunction,
      environment: { QUEUE_URL: { Ref: 'WatchEniQueue' } },
    };

    expect(() => resolvedEnvironment(fn, deployment, template)).toThrow(
      /ValidateSpecFunction\.Environment\.Variables\.QUEUE_URL/,
    );
  });
});
