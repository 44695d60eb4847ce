import { describe, expect, it } from 'vitest';
import {
  blockerKey,
  exitZeroIfLifted,
  tally,
  verdictOf,
} from '../../scripts/kops-manifests/tally.js';
import { editManifest, readFixture } from '../helpers.js';

const minimal = readFixture('minimal-aws.yaml');

describe('the kOps manifest tally', () => {
  it('generalises list indices and instance group names so one setting counts once', () => {
    expect(blockerKey('spec.subnets[3].egress')).toBe('spec.subnets[].egress');
    expect(blockerKey('instanceGroups[nodes-us-test-1a].spec.warmPool')).toBe(
      'instanceGroups[*].spec.warmPool',
    );
    expect(blockerKey('instanceGroups[a].spec.nodeLabels.node-role.kubernetes.io/x')).toBe(
      'instanceGroups[*].spec.nodeLabels',
    );
  });

  it('counts a blocker once per manifest, and as alone when nothing else blocks it', () => {
    const warm = editManifest(minimal, (_c, groups) => {
      for (const g of groups.values()) g.spec.warmPool = {};
    });
    const both = editManifest(warm, (c) => (c.spec.additionalNetworkCIDRs = ['10.1.0.0/16']));

    const result = tally([verdictOf('a', minimal), verdictOf('b', warm), verdictOf('c', both)]);

    expect(result.byExitCode).toEqual({ 0: 1, 3: 2 });
    expect(result.blockers).toEqual([
      { blocker: 'instanceGroups[*].spec.warmPool', manifests: 2, alone: 1 },
      { blocker: 'spec.additionalNetworkCIDRs', manifests: 1, alone: 0 },
    ]);
  });

  it('projects exit 0 only for manifests whose every blocker is lifted', () => {
    const warm = editManifest(minimal, (_c, groups) => {
      for (const g of groups.values()) g.spec.warmPool = {};
    });
    const both = editManifest(warm, (c) => (c.spec.additionalNetworkCIDRs = ['10.1.0.0/16']));
    const verdicts = [verdictOf('a', minimal), verdictOf('b', warm), verdictOf('c', both)];

    expect(exitZeroIfLifted(verdicts, [/warmPool/])).toBe(2);
    expect(exitZeroIfLifted(verdicts, [/warmPool/, /additionalNetworkCIDRs/])).toBe(3);
  });
});
