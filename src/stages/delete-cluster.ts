import type { StackApi, StackState } from '../aws/cloudformation.js';
import type { Ec2Api } from '../aws/ec2.js';
import {
  type CloudResource,
  type ClusterRecords,
  DELETE_ORDER,
  type InventoryApi,
} from '../aws/inventory.js';
import { clusterZone, type DnsApi } from '../aws/route53.js';
import type { SharedNetworkApi } from '../aws/shared-network.js';
import { type StackRoleApi, whileStackRolePropagates } from '../aws/stack-role.js';
import type { ZoneVpcApi } from '../aws/zone-vpc.js';
import { now as clockNow, deadlineAfter } from '../clock.js';
import {
  AwsRequestError,
  ClusterNotFoundError,
  DeleteStuckError,
  WaitTimeoutError,
} from '../errors.js';
import { bareZoneId, clusterRecordNames } from '../planning/dns.js';
import {
  stackHeldInstanceProfiles,
  stackInstanceProfileId,
} from '../planning/instance-profiles.js';
import { fqdn, OWNER_TAG, stackName } from '../planning/names.js';
import { isOwnedBy } from '../planning/ownership.js';
import type { ClusterStore } from '../state/cluster-store.js';
import type { ObjectStore } from '../state/object-store.js';
import type { SecretVersionsApi } from '../state/secret-versions.js';
import type { DeleteInput } from './inputs.js';
import { disassociateClusterVpc } from './zone-vpc.js';

/**
 * The delete stage: everything tagged for the cluster goes, in the order dependencies allow
 * (groups and instances, leftover network interfaces, the stack, DNS, then the state store).
 * What is already gone is skipped, so a delete that stopped can simply run again.
 */

export interface DeleteDeps {
  store: ClusterStore;
  stacks: StackApi;
  ec2: Pick<Ec2Api, 'terminateInstances' | 'detachedNetworkInterfaces'>;
  inventory: InventoryApi;
  dns: Pick<DnsApi, 'listHostedZones'>;
  /** Every earlier version of the cluster's secrets (the bucket is versioned). */
  secretVersions?: SecretVersionsApi;
  /**
   * The cluster's stack role: CloudFormation deletes the stack under it, and it goes once nothing
   * of the cluster is left. Unset, CloudFormation acts with the caller's credentials.
   */
  stackRole?: StackRoleApi;
  stackTimeoutSeconds: number;
  groupsTimeoutSeconds: number;
  /** Undoes the association of the cluster's VPC with a private zone that launch made. */
  zoneVpc?: ZoneVpcApi;
  /** The state store's objects: the record of that association. */
  objects?: Pick<ObjectStore, 'get' | 'put' | 'delete'>;
  /** Untags a shared VPC and subnets once nothing of the cluster is left in them. */
  network?: Pick<SharedNetworkApi, 'untagShared' | 'detachedInterfacesOfGroups'>;
}

/**
 * The association with a private zone that launch made, undone while the VPC is still there.
 * The VPC is the cluster's own: its stack's `VpcId` output, else the one VPC tagged for it that
 * the inventory found. A refusal (the record names another VPC) is returned for the step's
 * output, so the delete goes on and says what it left.
 */
async function undoZoneAssociation(
  cluster: string,
  deps: DeleteDeps,
  resources: CloudResource[],
): Promise<{ zoneAssociationRefused: string } | Record<string, never>> {
  if (!deps.zoneVpc || !deps.objects) return {};
  const stackVpc = (await ownedStack(cluster, deps.stacks))?.stack.outputs.VpcId;
  const taggedVpcs = resources.filter((r) => r.type === 'vpc').map((r) => r.id);
  const clusterVpc = stackVpc ?? (taggedVpcs.length === 1 ? taggedVpcs[0] : undefined);
  const outcome = await disassociateClusterVpc(cluster, clusterVpc, {
    zoneVpc: deps.zoneVpc,
    objects: deps.objects,
  });
  return typeof outcome === 'object' ? { zoneAssociationRefused: outcome.refused } : {};
}

/** After this many stack deletes that freed nothing, delete stops and lists what is left. */
const MAX_STACK_ATTEMPTS = 4;

/**
 * The cluster's records: its API names in the zone its stack wrote them to, else (the stack gone)
 * in the zone its spec finds. Without the stack and the spec nothing says which zone holds this
 * cluster's records, and none is touched. The zone itself is the user's and is never deleted.
 */
async function clusterRecords(
  cluster: string,
  deps: Pick<DeleteDeps, 'store' | 'stacks' | 'dns'>,
): Promise<ClusterRecords | undefined> {
  const manifest = (await deps.store.exists(cluster))
    ? await deps.store.readCompletedManifest(cluster)
    : undefined;
  const names = manifest
    ? clusterRecordNames(manifest)
    : [fqdn(`api.${cluster}`), fqdn(`api.internal.${cluster}`)];
  const stackZone = (await ownedStack(cluster, deps.stacks))?.stack.outputs.HostedZoneId;
  if (stackZone) return { zoneId: bareZoneId(stackZone), names };
  if (!manifest) return undefined;
  const choice = await clusterZone(deps.dns, manifest);
  return choice && 'zone' in choice ? { zoneId: choice.zone.id, names } : undefined;
}

/**
 * The cluster's stack: the one of its name whose `KubernetesCluster` tag is the cluster. A stack
 * that merely has the name is not the cluster's and is never touched. The cluster's sessions
 * reach no stack whose name ends with another hash (`kopsless.io/cluster-hash`), so none is
 * looked for.
 */
export async function ownedStack(
  cluster: string,
  stacks: Pick<StackApi, 'describe'>,
): Promise<{ name: string; stack: StackState } | undefined> {
  const name = stackName(cluster);
  const stack = await stacks.describe(name);
  return stack && isOwnedBy(stack.tags, cluster) ? { name, stack } : undefined;
}

/** Everything that exists for the cluster, the stack included, in kOps's TYPE NAME ID form. */
export async function discover(
  cluster: string,
  deps: Pick<DeleteDeps, 'store' | 'stacks' | 'inventory' | 'dns'>,
): Promise<CloudResource[]> {
  const resources = (
    await deps.inventory.list(cluster, await clusterRecords(cluster, deps))
  ).filter(
    // Not the delete's to remove: the leftovers step names it, and it holds nothing up.
    (r) => !r.leftForOwner,
  );
  const owned = await ownedStack(cluster, deps.stacks);
  if (owned)
    resources.push({ type: 'cloudformation-stack', name: owned.name, id: owned.stack.stackId });
  return resources;
}

/** Why a cluster the state store does not hold is not deleted, as `kopsless delete` says it. */
export function unregisteredDetail(taggedResources: number): string {
  return taggedResources === 0
    ? ': nothing in the state store and no resource tagged for it'
    : ` in the state store: ${taggedResources} resource(s) carry its tag, but kopsless deletes only clusters it holds`;
}

function describeRemaining(resources: CloudResource[]): string {
  return resources.map((r) => `${r.type} ${r.name} ${r.id}`).join('; ');
}

async function deleteLeftoverInterfaces(
  cluster: string,
  deps: DeleteDeps,
  resources: CloudResource[],
): Promise<string[]> {
  const inOwnVpcs = await deps.ec2.detachedNetworkInterfaces(
    cluster,
    resources.filter((r) => r.type === 'vpc').map((r) => r.id),
  );
  // In a shared VPC only those holding the cluster's security groups are the cluster's.
  const ofGroups =
    (await deps.network?.detachedInterfacesOfGroups(
      cluster,
      resources.filter((r) => r.type === 'security-group').map((r) => r.id),
    )) ?? [];
  const available = [...new Set([...inOwnVpcs, ...ofGroups])];
  // What the VPC CNI leaves behind when nodes go: detached ENIs that block subnet and VPC deletion.
  for (const id of available) await deps.inventory.deleteNetworkInterface(id);
  return available;
}

export async function deleteCluster(input: DeleteInput, deps: DeleteDeps) {
  const now = clockNow();
  switch (input.action) {
    case 'exists': {
      // Before the lock: deleting a cluster the state store does not hold says so and changes
      // nothing, even when resources carry its name in their tags (a kOps cluster's do).
      if (!(await deps.store.exists(input.cluster)))
        throw new ClusterNotFoundError(
          input.cluster,
          unregisteredDetail((await discover(input.cluster, deps)).length),
        );
      return { registered: true };
    }
    case 'discover': {
      const resources = await discover(input.cluster, deps);
      return { resources, count: resources.length };
    }
    case 'deleteGroups': {
      // Groups and instances only: the records wait until the stack is gone.
      const resources = await deps.inventory.list(input.cluster);
      for (const g of resources.filter((r) => r.type === 'autoscaling-group'))
        await deps.inventory.deleteAutoScalingGroup(g.id);
      // Instances outside any group (detached during a surge) go too.
      await deps.ec2.terminateInstances(
        resources.filter((r) => r.type === 'instance').map((r) => r.id),
      );
      for (const t of resources.filter((r) => r.type === 'autoscaling-config'))
        await deps.inventory.deleteLaunchTemplate(t.id);
      return {
        deleted: resources.filter((r) =>
          ['autoscaling-group', 'instance', 'autoscaling-config'].includes(r.type),
        ).length,
        deadline: deadlineAfter(now, deps.groupsTimeoutSeconds),
      };
    }
    case 'awaitInstances': {
      const resources = await deps.inventory.list(input.cluster);
      const remaining = resources.filter(
        (r) => r.type === 'instance' || r.type === 'autoscaling-group',
      );
      if (remaining.length > 0 && now > new Date(input.deadline))
        throw new WaitTimeoutError(
          `instances still running at the deadline ${input.deadline}: ${describeRemaining(remaining)}`,
        );
      return { ready: remaining.length === 0, remaining: remaining.length };
    }
    case 'deleteStack': {
      const attempt = input.attempt ?? 0;
      const resources = await discover(input.cluster, deps);
      if (attempt > 0 && input.remaining !== undefined && resources.length >= input.remaining) {
        throw new DeleteStuckError(
          `delete of cluster ${input.cluster} made no progress after ${attempt} attempt(s); still there: ${describeRemaining(resources)}`,
        );
      }
      if (attempt >= MAX_STACK_ATTEMPTS)
        throw new DeleteStuckError(
          `delete of cluster ${input.cluster} did not finish after ${attempt} attempts; still there: ${describeRemaining(resources)}`,
        );
      const interfaces = await deleteLeftoverInterfaces(input.cluster, deps, resources);
      const owned = await ownedStack(input.cluster, deps.stacks);
      let refused: string | undefined;
      let zone = {};
      if (owned && owned.stack.status !== 'DELETE_IN_PROGRESS') {
        // The stack retains the API records and is what says which zone holds them (the state
        // may already be gone): they go now, while it is there to say so.
        for (const record of resources.filter((r) => r.type === 'dns-record'))
          await deps.inventory.deleteResource(record);
        zone = await undoZoneAssociation(input.cluster, deps, resources);
        // IAM refuses to delete a role an instance profile holds, and no stack holds the
        // cluster's profiles (or it retains those it made before): they go first, by this session.
        for (const profile of resources.filter((r) => r.type === 'iam-instance-profile'))
          await deps.inventory.deleteResource(profile);
        // A stack made before profiles left it, and not updated since, still deletes its own:
        // its role may not, so once that has failed the stack leaves them (gone already).
        const retain =
          owned.stack.status === 'DELETE_FAILED'
            ? stackHeldInstanceProfiles(owned.stack.outputs).map(stackInstanceProfileId)
            : [];
        try {
          if (deps.stackRole) {
            // Made again if it is missing (a stack made before clusters had their own role).
            const roleArn = await deps.stackRole.ensure(input.cluster);
            await whileStackRolePropagates(roleArn, () =>
              deps.stacks.delete(owned.name, roleArn, retain),
            );
          } else await deps.stacks.delete(owned.name, undefined, retain);
        } catch (error) {
          // moto deletes a stack synchronously and can fail part-way (AWS reports DELETE_FAILED
          // later instead); either way what is left is deleted directly in the next step.
          if (!(error instanceof AwsRequestError)) throw error;
          refused = (error as Error).message;
        }
      }
      return {
        attempt: attempt + 1,
        remaining: resources.length,
        networkInterfacesDeleted: interfaces,
        ...(refused ? { refused } : {}),
        ...zone,
        deadline: deadlineAfter(now, deps.stackTimeoutSeconds),
      };
    }
    case 'awaitStack': {
      const owned = await ownedStack(input.cluster, deps.stacks);
      if (!owned)
        return {
          done: true,
          failed: false,
          attempt: input.attempt,
          remaining: input.remaining,
          deadline: input.deadline,
        };
      const { name, stack } = owned;
      if (stack.status === 'DELETE_FAILED') {
        const reason = (await deps.stacks.firstFailure(name)) ?? stack.statusReason ?? '';
        return {
          done: false,
          failed: true,
          reason,
          attempt: input.attempt,
          remaining: input.remaining,
          deadline: input.deadline,
        };
      }
      if (now > new Date(input.deadline))
        throw new WaitTimeoutError(
          `stack ${name} still ${stack.status} at the deadline ${input.deadline}`,
        );
      return {
        done: false,
        failed: false,
        attempt: input.attempt,
        remaining: input.remaining,
        deadline: input.deadline,
      };
    }
    case 'deleteLeftovers': {
      // What the stack delete left (the API records, which it retains; what a DELETE_FAILED
      // stack could not delete): deleted directly, dependents first, as kOps does.
      const resources = await deps.inventory.list(
        input.cluster,
        await clusterRecords(input.cluster, deps),
      );
      const deleted: string[] = [];
      const blocked: string[] = [];
      for (const type of DELETE_ORDER) {
        if (type === 'network-interface') {
          // Only the interfaces the VPC CNI left for this cluster (its tag) are the cluster's to
          // delete; any other in its VPC waits for whoever made it, and blocks the VPC till then.
          const ours = await deleteLeftoverInterfaces(input.cluster, deps, resources);
          deleted.push(...ours.map((id) => `${type} ${id}`));
          for (const eni of resources.filter((r) => r.type === type && !ours.includes(r.id)))
            blocked.push(`${eni.type} ${eni.id}`);
          continue;
        }
        for (const resource of resources.filter((r) => r.type === type)) {
          if (resource.leftForOwner) {
            blocked.push(
              `${resource.type} ${resource.id} (without the ${OWNER_TAG} tag: left for its owner to delete by hand)`,
            );
            continue;
          }
          const outcome = await deps.inventory.deleteResource(resource);
          (outcome === 'deleted' ? deleted : blocked).push(`${resource.type} ${resource.id}`);
        }
      }
      const zone = await undoZoneAssociation(input.cluster, deps, resources);
      const left = await discover(input.cluster, deps);
      return {
        deleted,
        blocked,
        ...zone,
        remaining: left.length,
        stackExists: left.some((r) => r.type === 'cloudformation-stack'),
      };
    }
    case 'verify': {
      const resources = await discover(input.cluster, deps);
      if (resources.length > 0)
        throw new DeleteStuckError(
          `resources of cluster ${input.cluster} still exist after delete: ${describeRemaining(resources)}`,
        );
      // Only now: a delete that stopped early leaves the VPC marked as still in use, which it is.
      const untagged = (await deps.network?.untagShared(input.cluster)) ?? [];
      // The stack is gone, and with it the only use of its role.
      const stackRoles = await deps.stackRole?.remove(input.cluster);
      return {
        remaining: 0,
        ...(untagged.length > 0 ? { untagged } : {}),
        ...(stackRoles ? { stackRoles } : {}),
      };
    }
    case 'deleteState': {
      const objectsDeleted = await deps.store.deleteCluster(input.cluster);
      // After the current objects: their delete markers and every earlier version of a secret go too.
      const secretVersionsDeleted = (await deps.secretVersions?.deleteAll(input.cluster)) ?? 0;
      return { objectsDeleted, secretVersionsDeleted };
    }
  }
}
