import type { Instance } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import type { AutoScalingApi, GroupState } from '../../src/aws/autoscaling.js';
import { checkManifest } from '../../src/manifest/check.js';
import { groupName } from '../../src/planning/names.js';
import { type RollingUpdateDeps, rollingUpdate } from '../../src/stages/rolling-update.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { readFixture } from '../helpers.js';
import { clockAt } from '../support/clock.js';
import { memoryObjects } from '../support/memory-objects.js';

// `rolling-update --force` killed half-way: the roll that takes its lock over replaces the
// instances the killed one had not reached, never the replacements it launched.
const CLUSTER = 'seed.example.com';
const check = checkManifest(readFixture('seed.yaml'));
const NODES = groupName('nodes-us-east-1a', CLUSTER);

/** One node group with the given members (id, launch time); the other groups are empty. */
function world(members: Array<[string, string]>): Pick<RollingUpdateDeps, 'autoscaling' | 'ec2'> {
  const groups: GroupState[] = check.completed!.instanceGroups.map((ig) => {
    const name = groupName(ig.metadata.name, CLUSTER);
    const own = name === NODES ? members : [];
    return {
      name,
      minSize: own.length,
      maxSize: own.length,
      desiredCapacity: own.length,
      subnetIds: [],
      tags: { KubernetesCluster: CLUSTER },
      instances: own.map(([instanceId]) => ({
        instanceId,
        lifecycleState: 'InService',
        healthStatus: 'Healthy',
        zone: 'us-east-1a',
      })),
    };
  });
  const instances: Instance[] = members.map(([InstanceId, at]) => ({
    InstanceId,
    LaunchTime: new Date(at),
    Tags: [{ Key: 'kops.k8s.io/instancegroup', Value: 'nodes-us-east-1a' }],
  }));
  return {
    autoscaling: {
      describeGroups: async (names: string[]) => groups.filter((g) => names.includes(g.name)),
    } as unknown as AutoScalingApi,
    ec2: { describeInstances: async () => instances, terminateInstances: async () => undefined },
  };
}

async function plan(store: ClusterStore, deps: Pick<RollingUpdateDeps, 'autoscaling' | 'ec2'>) {
  clockAt('2026-01-01T00:20:00Z');
  const out = (await rollingUpdate({ action: 'plan', cluster: CLUSTER, force: true }, {
    ...deps,
    store,
    validationTimeoutSeconds: 30,
  } as RollingUpdateDeps)) as { options: { forceIds: string[] } };
  return out.options.forceIds;
}

async function registered(time: string): Promise<ClusterStore> {
  clockAt(time);
  const store = new ClusterStore(memoryObjects());
  await store.registerCluster(check.manifest!, check.completed!);
  return store;
}

describe('a forced roll that resumes an interrupted one', () => {
  const members: Array<[string, string]> = [
    ['i-left', '2025-12-01T00:00:00Z'],
    ['i-replacement', '2026-01-01T00:05:00Z'],
  ];

  it('forces only the instances launched before the interrupted roll began', async () => {
    const store = await registered('2026-01-01T00:00:00Z');
    await store.acquireLock(CLUSTER, 'killed', 'rolling-update', 600);
    await store.takeOverLock(
      CLUSTER,
      (await store.readLockVersion(CLUSTER))!,
      'taker',
      'rolling-update',
      600,
    );

    expect(await plan(store, world(members))).toEqual(['i-left']);
  });

  it('forces every instance when it is not a resumption', async () => {
    const store = await registered('2026-01-01T00:10:00Z');
    await store.acquireLock(CLUSTER, 'fresh', 'rolling-update', 600);

    expect(await plan(store, world(members))).toEqual(['i-left', 'i-replacement']);
  });
});
