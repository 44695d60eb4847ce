import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../src/manifest/check.js';
import {
  bootstrapSettings,
  bootstrapSettingsFromUserData,
  kubernetesVersionFromUserData,
  renderUserData,
  type UserDataInput,
} from '../../src/planning/user-data.js';
import { readFixture } from '../helpers.js';

const seed = checkManifest(readFixture('seed.yaml')).completed!;

function input(group: string, version: string): UserDataInput {
  const cluster = structuredClone(seed.cluster);
  cluster.spec.kubernetesVersion = version;
  return {
    cluster,
    instanceGroup: structuredClone(seed.instanceGroups.find((ig) => ig.metadata.name === group)!),
    maxPods: 17,
    stateBucket: 'state-bucket',
    region: 'us-east-1',
  };
}

describe('user-data installs the requested Kubernetes version', () => {
  it.each(['control-plane-us-east-1a', 'nodes-us-east-1a'])(
    'pins the packages and the apt repository of %s to the spec version',
    (group) => {
      const script = renderUserData(input(group, 'v1.33.1'));

      expect(script).toMatch(/^readonly KUBERNETES_VERSION='1\.33\.1'$/m);
      expect(script).toMatch(/^readonly KUBERNETES_MINOR='v1\.33'$/m);
      expect(script).toContain('https://pkgs.k8s.io/core:/stable:/${KUBERNETES_MINOR}/deb/');
      expect(script).toContain(
        '"kubelet=${KUBERNETES_VERSION}-*" "kubeadm=${KUBERNETES_VERSION}-*" "kubectl=${KUBERNETES_VERSION}-*"',
      );
    },
  );

  it('gives kubeadm the spec version on the control plane', () => {
    expect(renderUserData(input('control-plane-us-east-1a', 'v1.33.1'))).toMatch(
      /^kubernetesVersion: "v1\.33\.1"$/m,
    );
  });

  it('reads the installed version back as the kubelet reports it', () => {
    expect(kubernetesVersionFromUserData(renderUserData(input('nodes-us-east-1a', '1.33.1')))).toBe(
      'v1.33.1',
    );
  });

  it('records its settings in one comment line that reads back to the same settings', () => {
    const given = input('control-plane-us-east-1a', '1.33.1');
    given.cluster.spec.networking = {
      amazonvpc: {
        env: [
          { name: 'ENABLE_PREFIX_DELEGATION', value: 'true' },
          { name: '__proto__', value: 'x\ny' },
        ],
      },
    };

    const script = renderUserData(given);

    expect(
      script.split('\n').filter((l) => l.startsWith('# kopsless-bootstrap-settings: ')),
    ).toHaveLength(1);
    expect(bootstrapSettingsFromUserData(script)).toEqual(bootstrapSettings(given));
    expect(bootstrapSettingsFromUserData(script)).toMatchObject({
      KubernetesVersion: '1.33.1',
      'aws-node env ENABLE_PREFIX_DELEGATION': 'true',
      'aws-node env __proto__': 'x\ny',
    });
  });
});
