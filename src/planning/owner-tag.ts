import type { GroupPlan } from './launch-plan.js';
import { DEFAULT_DEPLOYMENT, OWNER_TAG, ownerTag } from './names.js';

/**
 * The owner tag on what an instance group launches. It is added to a plan after its spec hash is
 * taken: which deployment owns an instance says nothing about whether it is out of date.
 */

/** The deployment a stage acts for: the configured one, or the local backend's. */
export function deploymentOf(deps: { deployment?: string | undefined }): string {
  return deps.deployment ?? DEFAULT_DEPLOYMENT;
}

/** The plan with the owner tag on its launch template's instances, volumes and interfaces and on its group. */
export function withOwnerTag(plan: GroupPlan, deployment: string): GroupPlan {
  const tag = ownerTag(deployment);
  const without = <T extends { Key?: string }>(tags: T[]) =>
    tags.filter((t) => t.Key !== OWNER_TAG);
  return {
    ...plan,
    launchTemplate: {
      ...plan.launchTemplate,
      TagSpecifications: plan.launchTemplate.TagSpecifications.map((spec) => ({
        ...spec,
        Tags: [...without(spec.Tags), tag],
      })),
    },
    groupTags: [...without(plan.groupTags), { ...tag, PropagateAtLaunch: true }],
  };
}
