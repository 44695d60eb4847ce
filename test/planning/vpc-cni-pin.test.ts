import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../src/manifest/check.js';
import { isControlPlaneRole } from '../../src/manifest/types.js';
import { renderUserData } from '../../src/planning/user-data.js';
import {
  UnpinnedVpcCniVersionError,
  VPC_CNI_VERSION,
  vpcCniManifest,
} from '../../src/planning/vpc-cni.js';
import { readFixture } from '../helpers.js';

const seed = checkManifest(readFixture('seed.yaml')).completed!;
const controlPlane = seed.instanceGroups.find((ig) => isControlPlaneRole(ig.spec.role))!;
const input = {
  cluster: seed.cluster,
  instanceGroup: controlPlane,
  maxPods: 110,
  stateBucket: 'kopsless-state-example',
  region: 'us-east-1',
};

describe('the VPC CNI manifest the control plane applies', () => {
  it('is downloaded from a commit, not a tag, and checked by its SHA-256 before kubectl applies it', () => {
    const { url, sha256 } = vpcCniManifest();
    const script = renderUserData(input);

    expect(url).toMatch(/\/amazon-vpc-cni-k8s\/[0-9a-f]{40}\/config\/master\/aws-k8s-cni\.yaml$/);
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    const download = script.indexOf(`curl -fsSL '${url}' -o /tmp/aws-k8s-cni.yaml`);
    const check = script.indexOf(
      `echo '${sha256}  /tmp/aws-k8s-cni.yaml' | sha256sum -c --quiet -`,
    );
    const apply = script.indexOf('apply -f /tmp/aws-k8s-cni.yaml');
    expect(download).toBeGreaterThan(0);
    expect(check).toBeGreaterThan(download);
    expect(apply).toBeGreaterThan(check);
  });

  it('refuses a version it has no pinned manifest for, naming it', () => {
    expect(() => renderUserData({ ...input, vpcCniVersion: '1.99.0' })).toThrow(
      new UnpinnedVpcCniVersionError(
        `VPC CNI "1.99.0" has no pinned manifest (pinned: ${VPC_CNI_VERSION})`,
      ),
    );
  });
});
