import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../src/manifest/check.js';
import { sameSpec } from '../../src/manifest/same-spec.js';
import type { ClusterManifest } from '../../src/manifest/types.js';
import { readFixture } from '../helpers.js';

// Two manifests are the same spec when their Cluster and their instance groups are, each
// document counted, whatever the order of documents.
const seed = checkManifest(readFixture('seed.yaml')).manifest!;

function withGroups(groups: ClusterManifest['instanceGroups']): ClusterManifest {
  return { cluster: seed.cluster, instanceGroups: groups };
}

describe('sameSpec', () => {
  it('holds for the same documents in another order', () => {
    const reversed = withGroups([...seed.instanceGroups].reverse());

    expect(sameSpec(seed, reversed)).toBe(true);
  });

  it('does not hold when one group is listed twice and another left out', () => {
    const [first, , third] = seed.instanceGroups;
    const duplicated = withGroups([first!, first!, third!]);

    expect(sameSpec(seed, duplicated)).toBe(false);
    expect(sameSpec(duplicated, seed)).toBe(false);
  });

  it('does not hold when a group is left out', () => {
    expect(sameSpec(seed, withGroups(seed.instanceGroups.slice(1)))).toBe(false);
  });
});
