import { describe, expect, it, vi } from 'vitest';
import type { AutoScalingApi, GroupState } from '../../src/aws/autoscaling.js';
import type { StackApi, StackState } from '../../src/aws/cloudformation.js';
import type { CloudResource, InventoryApi } from '../../src/aws/inventory.js';
import type { ZoneVpcApi } from '../../src/aws/zone-vpc.js';
import { checkManifest } from '../../src/manifest/check.js';
import { groupName, stackName } from '../../src/planning/names.js';
import { type DeleteDeps, deleteCluster, discover } from '../../src/stages/delete-cluster.js';
import { type RollingUpdateDeps, rollingUpdate } from '../../src/stages/rolling-update.js';
import { associationKey } from '../../src/stages/zone-vpc.js';
import type { ClusterStore } from '../../src/state/cluster-store.js';
import { readFixture } from '../helpers.js';
import { memoryObjects } from '../support/memory-objects.js';

// Update, roll and delete act only on resources whose KubernetesCluster tag is the cluster's own.

const cluster = 'x-y.z.example.com';
const other = 'x.y-z.example.com';

function stackState(owner: string): StackState {
  return {
    stackId: `arn:aws:cloudformation:us-east-1:123456789012:stack/${owner}/1`,
    status: 'CREATE_COMPLETE',
    outputs: { HostedZoneId: 'Z1' },
    tags: { KubernetesCluster: owner },
  };
}

function fakeStacks(byName: Record<string, StackState>): StackApi {
  return {
    describe: vi.fn(async (name: string) => byName[name]),
    create: vi.fn(),
    update: vi.fn(),
    delete: vi.fn(async () => undefined),
    template: vi.fn(),
    firstFailure: vi.fn(async () => undefined),
  };
}

function fakeInventory(resources: CloudResource[] = []): InventoryApi {
  return {
    list: vi.fn(async () => resources),
    deleteAutoScalingGroup: vi.fn(),
    deleteLaunchTemplate: vi.fn(),
    deleteNetworkInterface: vi.fn(),
    deleteResource: vi.fn(async () => 'deleted' as const),
  };
}

const noState = { exists: async () => false } as unknown as ClusterStore;
const noZones = { listHostedZones: vi.fn(async () => []) };
const registered = { exists: async () => true } as unknown as ClusterStore;

const STACK_ROLE = `arn:aws:iam::123456789012:role/kopsless/stack/${cluster}/kopsless-stack-example`;

function deleteDeps(stacks: StackApi, inventory: InventoryApi): DeleteDeps {
  return {
    store: noState,
    stacks,
    inventory,
    dns: noZones,
    ec2: { terminateInstances: vi.fn(), detachedNetworkInterfaces: vi.fn(async () => []) },
    stackRole: {
      ensure: vi.fn(async () => STACK_ROLE),
      remove: vi.fn(async () => ({ deleted: [] })),
      createdAt: vi.fn(async () => undefined),
    },
    stackTimeoutSeconds: 60,
    groupsTimeoutSeconds: 60,
  };
}

describe('delete acts only on what the cluster owns', () => {
  it('does not discover a stack of its name that another cluster owns', async () => {
    const stacks = fakeStacks({ [stackName(cluster)]: stackState(other) });

    expect(
      await discover(cluster, { store: noState, stacks, dns: noZones, inventory: fakeInventory() }),
    ).toEqual([]);
  });

  it('never deletes a stack of its name tagged for another cluster', async () => {
    const stacks = fakeStacks({
      [stackName(cluster)]: stackState(other),
    });
    const inventory = fakeInventory();

    await deleteCluster({ action: 'deleteStack', cluster }, deleteDeps(stacks, inventory));

    expect(stacks.delete).not.toHaveBeenCalled();
  });

  it('deletes its own stack under the service role', async () => {
    const stacks = fakeStacks({ [stackName(cluster)]: stackState(cluster) });
    const inventory = fakeInventory();

    await deleteCluster({ action: 'deleteStack', cluster }, deleteDeps(stacks, inventory));

    expect(stacks.delete).toHaveBeenCalledWith(stackName(cluster), STACK_ROLE, []);
  });

  it("deletes the cluster's instance profiles before its stack, which would not delete its roles", async () => {
    const stacks = fakeStacks({ [stackName(cluster)]: stackState(cluster) });
    const profile = { type: 'iam-instance-profile', name: 'kopsless-nodes-x', id: 'AIPA1' };
    const inventory = fakeInventory([profile]);

    await deleteCluster({ action: 'deleteStack', cluster }, deleteDeps(stacks, inventory));

    expect(inventory.deleteResource).toHaveBeenCalledWith(profile);
    expect(vi.mocked(inventory.deleteResource).mock.invocationCallOrder[0]).toBeLessThan(
      vi.mocked(stacks.delete).mock.invocationCallOrder[0]!,
    );
  });

  it('retains the profiles a stack made before once deleting them has failed', async () => {
    const failed = {
      ...stackState(cluster),
      status: 'DELETE_FAILED',
      outputs: { MastersInstanceProfileArn: 'arn:m', NodesInstanceProfileArn: 'arn:n' },
    };
    const stacks = fakeStacks({ [stackName(cluster)]: failed });

    await deleteCluster({ action: 'deleteStack', cluster }, deleteDeps(stacks, fakeInventory()));

    expect(stacks.delete).toHaveBeenCalledWith(stackName(cluster), STACK_ROLE, [
      'MastersInstanceProfile',
      'NodesInstanceProfile',
    ]);
  });

  it('refuses a cluster with no state and nothing tagged for it, naming it', async () => {
    const attempt = deleteCluster(
      { action: 'exists', cluster },
      deleteDeps(fakeStacks({ [stackName(cluster)]: stackState(other) }), fakeInventory()),
    );

    await expect(attempt).rejects.toMatchObject({
      name: 'ClusterNotFoundError',
      message: `cluster "${cluster}" not found: nothing in the state store and no resource tagged for it`,
    });
  });

  it('refuses a cluster the state store does not hold even when resources carry its tag', async () => {
    const inventory = fakeInventory([{ type: 'vpc', name: cluster, id: 'vpc-1' }]);

    const attempt = deleteCluster(
      { action: 'exists', cluster },
      deleteDeps(fakeStacks({}), inventory),
    );

    await expect(attempt).rejects.toMatchObject({
      name: 'ClusterNotFoundError',
      message: `cluster "${cluster}" not found in the state store: 1 resource(s) carry its tag, but kopsless deletes only clusters it holds`,
    });
    expect(inventory.deleteResource).not.toHaveBeenCalled();
  });

  it('lets a registered cluster through, whatever is left of it', async () => {
    const deps = { ...deleteDeps(fakeStacks({}), fakeInventory()), store: registered };

    expect(await deleteCluster({ action: 'exists', cluster }, deps)).toEqual({ registered: true });
  });
});

describe('delete sweeps only the interfaces the VPC CNI left for the cluster', () => {
  it("deletes the cluster's leftover interfaces by their own call and reports any other of its VPC as blocked", async () => {
    const inventory = fakeInventory([
      { type: 'vpc', name: cluster, id: 'vpc-1' },
      { type: 'network-interface', name: 'aws-K8S-i-1', id: 'eni-ours' },
      { type: 'network-interface', name: 'made by hand', id: 'eni-untagged' },
    ]);
    const deps = deleteDeps(fakeStacks({}), inventory);
    deps.ec2.detachedNetworkInterfaces = vi.fn(async () => ['eni-ours']);

    const out = await deleteCluster({ action: 'deleteLeftovers', cluster }, deps);

    expect(deps.ec2.detachedNetworkInterfaces).toHaveBeenCalledWith(cluster, ['vpc-1']);
    expect(inventory.deleteNetworkInterface).toHaveBeenCalledTimes(1);
    expect(inventory.deleteNetworkInterface).toHaveBeenCalledWith('eni-ours');
    expect(inventory.deleteResource).not.toHaveBeenCalledWith(
      expect.objectContaining({ type: 'network-interface' }),
    );
    expect(out).toMatchObject({
      deleted: expect.arrayContaining(['network-interface eni-ours']),
      blocked: ['network-interface eni-untagged'],
    });
  });
});

describe("delete disassociates only the cluster's own VPC from a private zone", () => {
  it("refuses a record naming another cluster's VPC, reporting it, and disassociates nothing", async () => {
    const stack = { ...stackState(cluster), outputs: { HostedZoneId: 'Z1', VpcId: 'vpc-own' } };
    const deps = deleteDeps(fakeStacks({ [stackName(cluster)]: stack }), fakeInventory());
    const objects = memoryObjects();
    await objects.put(
      associationKey(cluster),
      JSON.stringify({ zoneId: 'Z1', vpcId: 'vpc-of-b', region: 'us-east-1' }),
    );
    const zoneVpc: ZoneVpcApi = {
      zoneVpcs: vi.fn(async () => ({
        private: true,
        vpcs: [
          { vpcId: 'vpc-own', region: 'us-east-1' },
          { vpcId: 'vpc-of-b', region: 'us-east-1' },
        ],
      })),
      associate: vi.fn(),
      disassociate: vi.fn(async () => 'disassociated' as const),
    };

    const out = await deleteCluster(
      { action: 'deleteStack', cluster },
      { ...deps, objects, zoneVpc },
    );

    expect(zoneVpc.disassociate).not.toHaveBeenCalled();
    expect(out).toMatchObject({
      zoneAssociationRefused: expect.stringContaining(
        `names VPC vpc-of-b, but cluster ${cluster}'s VPC is vpc-own`,
      ),
    });
  });
});

describe('delete leaves a volume without the owner tag to its owner', () => {
  const oldVolume = { type: 'volume', name: 'etcd', id: 'vol-old', leftForOwner: true as const };

  it('names the volume in the blocked list and never deletes it', async () => {
    const inventory = fakeInventory([oldVolume]);
    const deps = deleteDeps(fakeStacks({}), inventory);

    const out = await deleteCluster({ action: 'deleteLeftovers', cluster }, deps);

    expect(inventory.deleteResource).not.toHaveBeenCalled();
    expect(out).toMatchObject({
      blocked: [
        expect.stringMatching(
          /^volume vol-old \(without the kopsless.io\/owner tag: left for its owner/,
        ),
      ],
      remaining: 0,
    });
  });

  it('does not count it as left, so the delete completes', async () => {
    const deps = deleteDeps(fakeStacks({}), fakeInventory([oldVolume]));

    await expect(deleteCluster({ action: 'verify', cluster }, deps)).resolves.toMatchObject({
      remaining: 0,
    });
  });
});

describe('rolling update acts only on groups the cluster owns', () => {
  const manifest = checkManifest(readFixture('seed.yaml').replaceAll('seed.example.com', cluster))
    .completed!;
  const asgName = groupName('nodes-us-east-1a', cluster);

  function group(owner: string): GroupState {
    return {
      name: asgName,
      minSize: 1,
      maxSize: 1,
      desiredCapacity: 1,
      subnetIds: [],
      tags: { KubernetesCluster: owner },
      instances: [
        {
          instanceId: 'i-foreign',
          lifecycleState: 'InService',
          healthStatus: 'Healthy',
          zone: 'us-east-1a',
        },
      ],
    };
  }

  function deps(owner: string) {
    const autoscaling: AutoScalingApi = {
      describeGroups: vi.fn(async (names: string[]) =>
        names.includes(asgName) ? [group(owner)] : [],
      ),
      createGroup: vi.fn(),
      updateGroup: vi.fn(),
      detachInstances: vi.fn(),
      setDesiredCapacity: vi.fn(),
      terminateInstance: vi.fn(),
    };
    const ec2 = { describeInstances: vi.fn(async () => []), terminateInstances: vi.fn() };
    const store = {
      readManifest: async () => manifest,
      readCompletedManifest: async () => manifest,
      readLock: async () => undefined,
    } as unknown as ClusterStore;
    return {
      autoscaling,
      ec2,
      all: {
        store,
        autoscaling,
        ec2,
        stacks: { describe: vi.fn() },
        dns: { listRecords: vi.fn() },
        kube: async () => undefined,
        drainTimeoutSeconds: 1,
        validationTimeoutSeconds: 1,
        replacementTimeoutSeconds: 1,
      } as unknown as RollingUpdateDeps,
    };
  }

  it('does not count the members of a group of its name tagged for another cluster', async () => {
    const { all } = deps(other);

    const out = (await rollingUpdate(
      { action: 'plan', cluster, force: true, cloudOnly: true },
      all,
    )) as { options: { forceIds?: string[] } };

    expect(out.options.forceIds).not.toContain('i-foreign');
  });

  it('refuses to terminate in a group tagged for another cluster, naming the owner', async () => {
    const { all, autoscaling, ec2 } = deps(other);
    const step = {
      kind: 'replace' as const,
      instanceGroup: 'nodes-us-east-1a',
      asgName,
      instanceIds: ['i-foreign'],
      detachedIds: [],
      controlPlane: false,
    };

    await expect(rollingUpdate({ action: 'terminate', cluster, step }, all)).rejects.toMatchObject({
      name: 'ResourceOwnedError',
      message: expect.stringContaining(`is owned by cluster ${other}`),
    });
    expect(autoscaling.terminateInstance).not.toHaveBeenCalled();
    expect(ec2.terminateInstances).not.toHaveBeenCalled();
  });

  it('refuses to surge a group tagged for another cluster', async () => {
    const { all, autoscaling } = deps(other);
    const step = {
      kind: 'surge' as const,
      instanceGroup: 'nodes-us-east-1a',
      asgName,
      instanceIds: ['i-foreign'],
    };

    await expect(rollingUpdate({ action: 'surge', cluster, step }, all)).rejects.toMatchObject({
      name: 'ResourceOwnedError',
    });
    expect(autoscaling.detachInstances).not.toHaveBeenCalled();
    expect(autoscaling.setDesiredCapacity).not.toHaveBeenCalled();
  });

  it('terminates in its own group', async () => {
    const { all, autoscaling } = deps(cluster);
    const step = {
      kind: 'replace' as const,
      instanceGroup: 'nodes-us-east-1a',
      asgName,
      instanceIds: ['i-foreign'],
      detachedIds: [],
      controlPlane: false,
    };

    await rollingUpdate({ action: 'terminate', cluster, step }, all);

    expect(autoscaling.terminateInstance).toHaveBeenCalledWith('i-foreign');
  });
});
