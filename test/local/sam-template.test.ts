import { describe, expect, it } from 'vitest';
import { stateMachineArn } from '../../src/aws/sfn.js';
import { readConfig } from '../../src/config.js';
import { deployedStateMachineName } from '../../src/functions-registry.js';
import { ACCOUNT } from '../../src/local/sfn/asl-definition.js';
import { lambdaEnvironment } from '../../src/local/sfn/bundles.js';
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

  it('tells the functions that choose and write the zone the HostedZoneId parameter, its default or the value given', () => {
    const functions = templateFunctions();
    const zoneOf = (parameters?: Record<string, string>) =>
      (['ValidateSpecFunction', 'LaunchClusterFunction'] as const).map(
        (id) =>
          resolvedEnvironment(functions[id], {
            ...deployment,
            ...(parameters ? { parameters } : {}),
          }).ALLOWED_HOSTED_ZONE_ID,
      );

    expect(zoneOf()).toEqual(['*', '*']);
    expect(zoneOf({ HostedZoneId: 'Z0123456789ABC' })).toEqual([
      'Z0123456789ABC',
      'Z0123456789ABC',
    ]);
    expect(
      readConfig({
        ...resolvedEnvironment(functions.ValidateSpecFunction, deployment),
        AWS_REGION: 'us-east-1',
      }).allowedHostedZoneId,
    ).toBeUndefined();
    expect(
      readConfig({
        ...resolvedEnvironment(functions.LaunchClusterFunction, {
          ...deployment,
          parameters: { HostedZoneId: 'Z0123456789ABC' },
        }),
        AWS_REGION: 'us-east-1',
      }).allowedHostedZoneId,
    ).toBe('Z0123456789ABC');
  });

  it("gives a bundle the runner's ALLOWED_HOSTED_ZONE_ID as the HostedZoneId parameter", () => {
    const config = readConfig({
      STATE_BUCKET: deployment.stateBucket,
      AWS_REGION: deployment.region,
      ALLOWED_HOSTED_ZONE_ID: 'Z0123456789ABC',
    });

    const env = lambdaEnvironment(
      templateFunctions().ValidateSpecFunction,
      { dir: '/var/task' },
      { config },
    );

    expect(env.ALLOWED_HOSTED_ZONE_ID).toBe('Z0123456789ABC');
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
