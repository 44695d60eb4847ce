import { describe, expect, it } from 'vitest';
import {
  ALL_STATE_MACHINES,
  deployedStateMachineName,
  STATE_MACHINES,
  stateMachineArnVariable,
  stateMachineLogicalId,
  stateMachineOfDeployedName,
  stateMachineOutputKey,
} from '../../src/functions-registry.js';
import { readTemplate } from '../support/template.js';

// The registry is the one home of each state machine's names: template.yaml must say the same.
const template = readTemplate();

describe('state machine names: the registry and template.yaml agree', () => {
  it('deploys each state machine under the name the registry derives from its file', () => {
    for (const [logicalId, file] of Object.entries(ALL_STATE_MACHINES)) {
      expect(template.Resources[logicalId]?.Properties?.Name).toEqual({
        'Fn::Sub': deployedStateMachineName(file, '${AWS::StackName}'),
      });
    }
  });

  it("outputs the ARN of each state machine people start under the registry's output key", () => {
    const outputs = Object.values(STATE_MACHINES).map((file) => [
      stateMachineOutputKey(file),
      template.Outputs?.[stateMachineOutputKey(file)],
    ]);

    expect(Object.fromEntries(outputs)).toEqual(
      Object.fromEntries(
        Object.entries(STATE_MACHINES).map(([logicalId, file]) => [
          stateMachineOutputKey(file),
          { Description: expect.any(String), Value: { Ref: logicalId } },
        ]),
      ),
    );
  });

  it("gives the API each state machine's ARN under the registry's variable", () => {
    const variables = template.Resources.ApiFunction!.Properties!.Environment.Variables as Record<
      string,
      unknown
    >;

    for (const [logicalId, file] of Object.entries(STATE_MACHINES))
      expect(variables[stateMachineArnVariable(file)]).toEqual({ Ref: logicalId });
  });

  it("gives the ENI watcher the rolling-update ARN under the registry's variable", () => {
    const variables = template.Resources.WatchEniFunction!.Properties!.Environment
      .Variables as Record<string, unknown>;

    expect(variables[stateMachineArnVariable('rolling-update')]).toEqual({
      Ref: 'RollingUpdateStateMachine',
    });
  });
});

describe('state machine names: derived from the registry', () => {
  it('spells the API variable in upper snake case after the logical ID', () => {
    expect(stateMachineArnVariable('rolling-update')).toBe('ROLLING_UPDATE_STATE_MACHINE_ARN');
  });

  it('finds the state machine of each deployed name, and none of a name it does not deploy', () => {
    for (const file of Object.values(ALL_STATE_MACHINES))
      expect(stateMachineOfDeployedName(deployedStateMachineName(file))).toBe(file);
    expect(stateMachineOfDeployedName('kopsless-no-such-machine')).toBeUndefined();
    expect(
      stateMachineOfDeployedName(deployedStateMachineName('create-cluster', 'other-stack')),
    ).toBeUndefined();
  });

  it('answers the logical ID of a child state machine too', () => {
    expect(stateMachineLogicalId('rolling-update-group')).toBe('RollingUpdateGroupStateMachine');
  });
});
