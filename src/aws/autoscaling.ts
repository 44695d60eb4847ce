import {
  type AutoScalingClient,
  type AutoScalingGroup,
  CreateAutoScalingGroupCommand,
  CreateOrUpdateTagsCommand,
  DetachInstancesCommand,
  paginateDescribeAutoScalingGroups,
  SetDesiredCapacityCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { isAwsErrorCode, rethrowAws } from '../errors.js';
import type { MixedInstancesPolicy } from '../planning/mixed-instances.js';
import { allItems } from './pages.js';

export interface GroupState {
  name: string;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  launchTemplateVersion?: string;
  subnetIds: string[];
  tags: Record<string, string>;
  instances: Array<{
    instanceId: string;
    lifecycleState: string;
    healthStatus: string;
    zone: string;
  }>;
}

export interface GroupSettings {
  name: string;
  launchTemplateId: string;
  launchTemplateVersion: number;
  minSize: number;
  maxSize: number;
  subnetIds: string[];
  maxInstanceLifetimeSeconds?: number;
  /** Spot and several instance types: the launch template goes inside it (mixed-instances.ts). */
  mixedInstancesPolicy?: MixedInstancesPolicy;
  /** Target groups the group registers its instances in (set at creation only). */
  targetGroupArns?: string[];
  tags: Array<{ Key: string; Value: string; PropagateAtLaunch: boolean }>;
}

/** The Auto Scaling calls of the launch stage. */
export interface AutoScalingApi {
  describeGroups(names: string[]): Promise<GroupState[]>;
  createGroup(settings: GroupSettings): Promise<void>;
  updateGroup(settings: GroupSettings, desiredCapacity: number): Promise<void>;
  /** Detaches without lowering the desired capacity: the group launches replacements (surge). */
  detachInstances(group: string, instanceIds: string[]): Promise<void>;
  /** Sets the desired capacity (to the same value, it asks the group to make up for missing instances). */
  setDesiredCapacity(group: string, desired: number): Promise<void>;
  /** Terminates without lowering the desired capacity: the group launches a replacement. */
  terminateInstance(instanceId: string): Promise<void>;
}

/** The most instances one DetachInstances takes (the API's limit). */
export const DETACH_LIMIT = 20;

/** The settings CreateAutoScalingGroup and UpdateAutoScalingGroup share. */
function groupParameters(s: GroupSettings, desiredCapacity: number) {
  // Always a version number, never $Latest or $Default: the launch stage's IAM grant requires it
  // (autoscaling:LaunchTemplateVersionSpecified), so a later version is never launched unchecked.
  const launchTemplate = {
    LaunchTemplateId: s.launchTemplateId,
    Version: String(s.launchTemplateVersion),
  };
  const { Overrides, InstancesDistribution } = s.mixedInstancesPolicy ?? {};
  return {
    AutoScalingGroupName: s.name,
    ...(s.mixedInstancesPolicy
      ? {
          MixedInstancesPolicy: {
            LaunchTemplate: {
              LaunchTemplateSpecification: launchTemplate,
              ...(Overrides ? { Overrides } : {}),
            },
            InstancesDistribution,
          },
        }
      : { LaunchTemplate: launchTemplate }),
    MinSize: s.minSize,
    MaxSize: s.maxSize,
    DesiredCapacity: desiredCapacity,
    VPCZoneIdentifier: s.subnetIds.join(','),
    ...(s.maxInstanceLifetimeSeconds ? { MaxInstanceLifetime: s.maxInstanceLifetimeSeconds } : {}),
  };
}

/** The version a group launches: from its launch template, or its mixed instances policy's. */
function launchTemplateVersionOf(g: AutoScalingGroup): { launchTemplateVersion?: string } {
  const version =
    g.LaunchTemplate?.Version ??
    g.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification?.Version;
  return version ? { launchTemplateVersion: version } : {};
}

function groupTags(s: GroupSettings) {
  return s.tags.map((t) => ({ ...t, ResourceId: s.name, ResourceType: 'auto-scaling-group' }));
}

/** `client` is a whole SDK client: the SDK's paginators insist on one. */
export function autoScalingApi(client: AutoScalingClient): AutoScalingApi {
  /**
   * True when none of the instances is in the group any more: a retried detach whose first
   * attempt went through (only its answer was lost) is refused, and has nothing left to do.
   */
  const notMembers = async (group: string, instanceIds: string[]) => {
    const found = await allItems(
      paginateDescribeAutoScalingGroups({ client }, { AutoScalingGroupNames: [group] }),
      (p) => p.AutoScalingGroups,
    );
    const members = new Set(
      found
        .flatMap((g) => g.Instances ?? [])
        .filter((i) => i.LifecycleState !== 'Detached')
        .map((i) => i.InstanceId),
    );
    return instanceIds.every((id) => !members.has(id));
  };
  return {
    async describeGroups(names) {
      if (names.length === 0) return [];
      try {
        // Named groups still come in pages (NextToken), 50 to a page by default.
        const found = await allItems(
          paginateDescribeAutoScalingGroups({ client }, { AutoScalingGroupNames: names }),
          (p) => p.AutoScalingGroups,
        );
        return found.map((g) => ({
          name: g.AutoScalingGroupName ?? '',
          minSize: g.MinSize ?? 0,
          maxSize: g.MaxSize ?? 0,
          desiredCapacity: g.DesiredCapacity ?? 0,
          ...launchTemplateVersionOf(g),
          subnetIds: (g.VPCZoneIdentifier ?? '').split(',').filter(Boolean),
          tags: Object.fromEntries((g.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
          instances: (g.Instances ?? []).map((i) => ({
            instanceId: i.InstanceId ?? '',
            lifecycleState: i.LifecycleState ?? '',
            healthStatus: i.HealthStatus ?? '',
            zone: i.AvailabilityZone ?? '',
          })),
        }));
      } catch (error) {
        return rethrowAws(error);
      }
    },
    async createGroup(s) {
      try {
        await client.send(
          new CreateAutoScalingGroupCommand({
            ...groupParameters(s, s.minSize),
            ...(s.targetGroupArns?.length ? { TargetGroupARNs: s.targetGroupArns } : {}),
            Tags: groupTags(s),
          }),
        );
      } catch (error) {
        // A retried create whose first attempt went through.
        if (isAwsErrorCode(error, 'AlreadyExists', 'AlreadyExistsFault')) return;
        rethrowAws(error);
      }
    },
    async detachInstances(group, instanceIds) {
      // DetachInstances takes at most 20 instances: a surge of more (maxSurge 10% of 300) goes in several.
      for (let i = 0; i < instanceIds.length; i += DETACH_LIMIT) {
        const chunk = instanceIds.slice(i, i + DETACH_LIMIT);
        try {
          await client.send(
            new DetachInstancesCommand({
              AutoScalingGroupName: group,
              InstanceIds: chunk,
              ShouldDecrementDesiredCapacity: false,
            }),
          );
        } catch (error) {
          if (isAwsErrorCode(error, 'ValidationError') && (await notMembers(group, chunk)))
            continue;
          rethrowAws(error);
        }
      }
    },
    async setDesiredCapacity(group, desired) {
      try {
        await client.send(
          new SetDesiredCapacityCommand({
            AutoScalingGroupName: group,
            DesiredCapacity: desired,
            HonorCooldown: false,
          }),
        );
      } catch (error) {
        rethrowAws(error);
      }
    },
    async terminateInstance(instanceId) {
      try {
        await client.send(
          new TerminateInstanceInAutoScalingGroupCommand({
            InstanceId: instanceId,
            ShouldDecrementDesiredCapacity: false,
          }),
        );
      } catch (error) {
        // A retried terminate whose first attempt went through: the instance is no group's any more.
        if (
          isAwsErrorCode(error, 'ValidationError') &&
          /not found|not part of/i.test((error as Error).message)
        )
          return;
        rethrowAws(error);
      }
    },
    async updateGroup(s, desiredCapacity) {
      try {
        await client.send(new UpdateAutoScalingGroupCommand(groupParameters(s, desiredCapacity)));
        await client.send(new CreateOrUpdateTagsCommand({ Tags: groupTags(s) }));
      } catch (error) {
        rethrowAws(error);
      }
    },
  };
}
