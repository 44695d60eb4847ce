import type { Filter, Instance } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import type { KubeEvent, KubeNode, KubePort } from '../../src/kube/port.js';
import { checkManifest } from '../../src/manifest/check.js';
import { stackName } from '../../src/planning/names.js';
import type { RollStep } from '../../src/planning/rolling-update.js';
import { type RollingUpdateDeps, rollingUpdate } from '../../src/stages/rolling-update.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { haManifest } from '../support/ha-manifest.js';
import { memoryObjects } from '../support/memory-objects.js';

// A child's compensation after its drain or terminate failed: UncordonAfterFailure.
const CLUSTER = 'seed.example.com';
const PARENT = 'arn:aws:states:us-east-1:123456789012:execution:kopsless-rolling-update:roll-1';
const CHILD =
  'arn:aws:states:us-east-1:123456789012:execution:kopsless-rolling-update-group:child-1';
const STEP = {
  kind: 'replace',
  instanceGroup: 'nodes-us-east-1a',
  asgName: 'nodes-us-east-1a.seed.example.com',
  instanceIds: ['i-1', 'i-2', 'i-3'],
  detachedIds: [],
  controlPlane: false,
} as unknown as RollStep;

/**
 * Nodes i-1..i-4, all cordoned by the roll; instance i-3 is already shutting down (terminated by
 * the step). The nodes in `adminCordoned` were cordoned by an admin before the roll instead.
 */
async function world(adminCordoned: string[] = []) {
  const store = new ClusterStore(memoryObjects());
  await store.acquireLock(CLUSTER, PARENT, 'rolling-update');
  await store.beginWave(CLUSTER, PARENT, ['nodes-us-east-1a'], 'digest');
  await store.reserveChild(CLUSTER, PARENT, 'nodes-us-east-1a', 'child-1');
  await store.claimGroup(
    CLUSTER,
    PARENT,
    { instanceGroup: 'nodes-us-east-1a', claimant: CHILD, planDigest: 'digest' },
    async () => true,
  );
  const nodes: KubeNode[] = ['i-1', 'i-2', 'i-3', 'i-4'].map((id) => ({
    name: `node-${id}`,
    providerId: `aws:///us-east-1a/${id}`,
    instanceId: id,
    role: 'node',
    ready: true,
    unschedulable: true,
    cordonedByRoll: !adminCordoned.includes(id),
    allocatablePods: 110,
  }));
  const events: KubeEvent[] = [];
  const kube = {
    listNodes: async () => nodes.map((n) => ({ ...n })),
    uncordon: async (name: string) => {
      Object.assign(nodes.find((n) => n.name === name)!, {
        unschedulable: false,
        cordonedByRoll: false,
      });
    },
    recordEvent: async (e: KubeEvent) => void events.push(e),
  } as unknown as KubePort;
  const states: Record<string, string> = {
    'i-1': 'running',
    'i-2': 'running',
    'i-3': 'shutting-down',
    'i-4': 'running',
  };
  const deps = {
    store,
    ec2: {
      describeInstances: async (filters: Filter[]): Promise<Instance[]> => {
        const ids = filters.find((f) => f.Name === 'instance-id')?.Values ?? [];
        const wanted = filters.find((f) => f.Name === 'instance-state-name')?.Values;
        return ids
          .filter((id) => !wanted || wanted.includes(states[id] ?? ''))
          .map((id) => ({ InstanceId: id }));
      },
      terminateInstances: async () => undefined,
    },
    kube: async () => kube,
  } as unknown as RollingUpdateDeps;
  return { store, deps, nodes, events };
}

/** The child's compensation for STEP, as the rolling-update-group machine asks for it. */
function uncordonStep(deps: RollingUpdateDeps, step: RollStep = STEP) {
  return rollingUpdate(
    { action: 'uncordon', cluster: CLUSTER, step, claim: { owner: PARENT, execution: CHILD } },
    deps,
  );
}

describe('uncordon after a failed roll step', () => {
  it("uncordons the step's nodes whose instances still run, and says why on each node", async () => {
    const { deps, nodes, events } = await world();

    const out = await uncordonStep(deps);

    expect(out).toEqual({ uncordoned: ['node-i-1', 'node-i-2'] });
    expect(nodes.filter((n) => !n.unschedulable).map((n) => n.instanceId)).toEqual(['i-1', 'i-2']);
    expect(events.map((e) => [e.regarding.name, e.reason])).toEqual([
      ['node-i-1', 'RollingUpdateFailed'],
      ['node-i-2', 'RollingUpdateFailed'],
    ]);
  });

  it('leaves cordoned a node an admin had cordoned before the roll', async () => {
    const { deps, nodes, events } = await world(['i-2']);

    const out = await uncordonStep(deps);

    expect(out).toEqual({ uncordoned: ['node-i-1'] });
    expect(nodes.filter((n) => !n.unschedulable).map((n) => n.instanceId)).toEqual(['i-1']);
    expect(events.map((e) => e.regarding.name)).toEqual(['node-i-1']);
  });

  it('leaves the nodes alone when another execution now holds the group', async () => {
    const { store, deps, nodes } = await world();
    const other = `${CHILD}-other`;
    await store.reserveChild(CLUSTER, PARENT, 'nodes-us-east-1a', 'child-1-other');
    await store.claimGroup(
      CLUSTER,
      PARENT,
      { instanceGroup: 'nodes-us-east-1a', claimant: other, planDigest: 'digest' },
      async () => true,
    );

    const out = await uncordonStep(deps);

    expect(out).toMatchObject({ uncordoned: [], skipped: expect.stringContaining(other) });
    expect(nodes.every((n) => n.unschedulable)).toBe(true);
  });

  it('uncordons when the roll ended and released the lock', async () => {
    const { store, deps, nodes } = await world();
    await store.releaseLock(CLUSTER, PARENT);

    await uncordonStep(deps);

    expect(nodes.filter((n) => !n.unschedulable)).toHaveLength(2);
  });

  it('puts a control-plane instance still running back into the API target group', async () => {
    const { store, deps } = await world();
    const check = checkManifest(
      haManifest(CLUSTER)
        .replace(
          '  api:\n    dns: {}\n',
          '  api:\n    loadBalancer:\n      class: Network\n      type: Public\n',
        )
        .replace('    dns:\n      type: Public\n', '    dns:\n      type: None\n'),
    );
    await store.writeSpecs(check.manifest!, check.completed!);
    const targetGroup = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tcp-1/1';
    const registered: Array<[string, string[]]> = [];
    const withLoadBalancer = {
      ...deps,
      stacks: {
        describe: async (name: string) =>
          name === stackName(CLUSTER)
            ? {
                tags: [{ Key: 'KubernetesCluster', Value: CLUSTER }],
                outputs: { ApiTargetGroupArn: targetGroup },
              }
            : undefined,
      },
      loadBalancing: {
        registerTargets: async (arn: string, ids: string[]) => void registered.push([arn, ids]),
        deregisterTargets: async () => undefined,
        deregistrationDelaySeconds: async () => 30,
      },
    } as unknown as RollingUpdateDeps;

    const out = await uncordonStep(withLoadBalancer, { ...STEP, controlPlane: true } as RollStep);

    expect(out).toMatchObject({ reregistered: ['i-1', 'i-2'] });
    expect(registered).toEqual([[targetGroup, ['i-1', 'i-2']]]);
  });
});
