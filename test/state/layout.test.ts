import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../src/manifest/check.js';
import { renderUserData } from '../../src/planning/user-data.js';
import { CLUSTER_OBJECTS, clusterFolder, storeKey } from '../../src/state/layout.js';
import { readFixture } from '../helpers.js';

const seed = checkManifest(readFixture('seed.yaml')).completed!;

/** The keys a boot script names after `${STATE_STORE}/` or passes to its state store functions. */
function keysReadOrWritten(script: string): string[] {
  const named = [
    ...script.matchAll(/\$\{STATE_STORE\}\/([^"\s]+)/g),
    // A key starts with a letter (`$1` in a function's body, `|` after its name in a list, are none).
    ...script.matchAll(/state_store_read ([a-z][^\s)"]*)/g),
    ...script.matchAll(/state_store_write(?:_secret)? ([a-z][^\s)"]*)/g),
    ...script.matchAll(/state_store_has ([a-z][^\s);"]*)/g),
  ];
  return [...new Set(named.map((m) => m[1]!))].filter((k) => k !== '$1').sort();
}

describe('state store layout', () => {
  it("keeps kOps's keys for the spec a user wrote and its completed form", () => {
    const keys = [
      storeKey.config('a.example.com'),
      storeKey.instanceGroup('a.example.com', 'nodes'),
      storeKey.completed('a.example.com'),
      storeKey.version('a.example.com'),
    ];

    expect(keys).toEqual([
      'a.example.com/config',
      'a.example.com/instancegroup/nodes',
      'a.example.com/cluster-completed.spec',
      'a.example.com/kops-version.txt',
    ]);
  });

  it('puts every key of a cluster inside that cluster’s folder', () => {
    const keys = [
      ...Object.values(CLUSTER_OBJECTS).map(
        (object) => `${clusterFolder('a.example.com')}${object}`,
      ),
      storeKey.status('a.example.com'),
      storeKey.lock('a.example.com'),
      storeKey.eniWatcherDecision('a.example.com', '2026-01-01T00:00:00Z'),
    ];

    expect(keys.filter((k) => !k.startsWith('a.example.com/'))).toEqual([]);
  });

  it('gives the boot scripts only keys the layout names', () => {
    const groups = ['control-plane-us-east-1a', 'nodes-us-east-1a'].map(
      (name) => seed.instanceGroups.find((ig) => ig.metadata.name === name)!,
    );

    const used = groups.flatMap((ig) =>
      keysReadOrWritten(
        renderUserData({
          cluster: seed.cluster,
          instanceGroup: ig,
          maxPods: 17,
          stateBucket: 'state-bucket',
          region: 'us-east-1',
        }),
      ),
    );

    expect([...new Set(used)].sort()).toEqual(
      [
        CLUSTER_OBJECTS.caCertHash,
        CLUSTER_OBJECTS.bootstrapToken,
        CLUSTER_OBJECTS.controlPlanePki,
        CLUSTER_OBJECTS.kubeconfig,
      ].sort(),
    );
  });
});
