import { describe, expect, it } from 'vitest';
import { previewLines } from '../../src/cli/update.js';
import { checkManifest } from '../../src/manifest/check.js';
import {
  bootstrapSettings,
  renderUserData,
  type UserDataInput,
} from '../../src/planning/user-data.js';
import { type UpdatePreview, userDataChanges } from '../../src/stages/update-preview.js';
import { readFixture } from '../helpers.js';

const seed = checkManifest(readFixture('seed.yaml')).completed!;
const groupNamed = (name: string) =>
  structuredClone(seed.instanceGroups.find((ig) => ig.metadata.name === name)!);

function input(group: string, edit: (i: UserDataInput) => void = () => {}): UserDataInput {
  const i: UserDataInput = {
    cluster: structuredClone(seed.cluster),
    instanceGroup: groupNamed(group),
    maxPods: 17,
    stateBucket: 'state-bucket',
    region: 'us-east-1',
  };
  edit(i);
  return i;
}

/** What the preview says between a launch template rendered from `before` and the plan rendered from `after`. */
const changesBetween = (before: UserDataInput, after: UserDataInput) =>
  userDataChanges(renderUserData(before), renderUserData(after), bootstrapSettings(after));

describe('update preview of the bootstrap script', () => {
  it('names a Kubernetes version change', () => {
    const changes = changesBetween(
      input('nodes-us-east-1a'),
      input('nodes-us-east-1a', (i) => (i.cluster.spec.kubernetesVersion = 'v1.33.1')),
    );

    expect(changes).toEqual([
      { field: 'KubernetesVersion', from: '1.32.0', to: '1.33.1', section: 'UserData' },
    ]);
  });

  it('names a maxPods change', () => {
    const changes = changesBetween(
      input('nodes-us-east-1a'),
      input('nodes-us-east-1a', (i) => (i.maxPods = 110)),
    );

    expect(changes).toEqual([{ field: 'maxPods', from: '17', to: '110', section: 'UserData' }]);
  });

  it('names a CNI env var the control plane sets on aws-node, unset before', () => {
    const amazonvpc = (env: Array<{ name: string; value: string }>) => (i: UserDataInput) =>
      (i.cluster.spec.networking = { amazonvpc: { env } });

    const changes = changesBetween(
      input('control-plane-us-east-1a', amazonvpc([])),
      input(
        'control-plane-us-east-1a',
        amazonvpc([{ name: 'ENABLE_PREFIX_DELEGATION', value: 'true' }]),
      ),
    );

    expect(changes).toEqual([
      {
        field: 'aws-node env ENABLE_PREFIX_DELEGATION',
        from: 'unset',
        to: 'true',
        section: 'UserData',
      },
    ]);
  });

  it('has no change for the same script', () => {
    expect(changesBetween(input('nodes-us-east-1a'), input('nodes-us-east-1a'))).toEqual([]);
  });

  it('shows a change outside the recorded settings as one UserData line', () => {
    const changes = changesBetween(
      input('nodes-us-east-1a'),
      input(
        'nodes-us-east-1a',
        (i) => (i.cluster.spec.masterInternalName = 'api.other.example.com'),
      ),
    );

    expect(changes).toEqual([
      { field: 'UserData', from: '(bootstrap script)', to: '(changed bootstrap script)' },
    ]);
  });

  it('reads version and maxPods back from a script rendered before settings were recorded', () => {
    const legacy = renderUserData(input('nodes-us-east-1a')).replace(
      /^# kopsless-bootstrap-settings: .*\n/m,
      '',
    );
    const after = input('nodes-us-east-1a', (i) => {
      i.cluster.spec.kubernetesVersion = '1.33.1';
      i.maxPods = 110;
    });

    const changes = userDataChanges(legacy, renderUserData(after), bootstrapSettings(after));

    expect(changes.map((c) => `${c.field} ${c.from} -> ${c.to}`)).toEqual([
      'KubernetesVersion 1.32.0 -> 1.33.1',
      'maxPods 17 -> 110',
    ]);
  });

  it('prints the settings under the launch template, one line each', () => {
    const preview: UpdatePreview = {
      cluster: 'seed.example.com',
      stack: { changed: false, added: [], removed: [], modified: [] },
      groups: [
        {
          instanceGroup: 'nodes-us-east-1a',
          name: 'nodes-us-east-1a.seed.example.com',
          create: false,
          launchTemplate: [
            { field: 'KubernetesVersion', from: '1.32.0', to: '1.33.1', section: 'UserData' },
            { field: 'maxPods', from: '17', to: '110', section: 'UserData' },
          ],
          group: [],
        },
      ],
      hasChanges: true,
      versionIssues: [],
    };

    const lines = previewLines(preview);

    expect(lines).toEqual([
      'Will modify resources:',
      '  LaunchTemplate/nodes-us-east-1a.seed.example.com (new version)',
      '  \tUserData (bootstrap script)',
      '  \t  KubernetesVersion         1.32.0 -> 1.33.1',
      '  \t  maxPods                   17 -> 110',
    ]);
  });
});
