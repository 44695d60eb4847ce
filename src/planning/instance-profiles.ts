import type { CompletedManifest } from '../manifest/completed.js';
import { clusterIamTags, type InstanceRoleKind, instanceProfileName } from './names.js';

/**
 * The instance profiles of a cluster's instances: made by the launch stage through the IAM API,
 * acting for the cluster, not by its CloudFormation stack. CloudFormation cannot tag an instance
 * profile, so a stack role allowed to make profiles could also change any other cluster's; and it
 * waits two minutes after making one, which Auto Scaling, retrying while the profile propagates,
 * does not need.
 *
 * CONTRACT with template.yaml: a cluster's profiles sit under {@link instanceProfilePath}, whose
 * last segment is the cluster's name (a DNS-1123 name holds no `/`), and carry the tags
 * `KubernetesCluster=<cluster>` and the owner tag from their creation; so the launch and delete
 * sessions' grants name `instance-profile/kopsless/profiles/${aws:PrincipalTag/kopsless.io/cluster}/*`
 * and reach no other cluster's profile. A profile holds its kind's instance role of the same
 * cluster and no other.
 */

/** The IAM path every cluster's instance profiles sit under, the cluster's name below it. */
export const INSTANCE_PROFILE_PATH_PREFIX = '/kopsless/profiles/';

/** The IAM path of the cluster's instance profiles: `/kopsless/profiles/<cluster>/`. */
export function instanceProfilePath(cluster: string): string {
  return `${INSTANCE_PROFILE_PATH_PREFIX}${cluster}/`;
}

/** The tags a cluster's instance profile is made with. */
export function instanceProfileTags(
  cluster: string,
  deployment: string,
): Array<{ Key: string; Value: string }> {
  return clusterIamTags(cluster, deployment);
}

/** The ARN of the cluster's instance profile of `kind`, in the account and partition given. */
export function instanceProfileArn(
  target: { partition: string; account: string },
  kind: InstanceRoleKind,
  cluster: string,
): string {
  return `arn:${target.partition}:iam::${target.account}:instance-profile${instanceProfilePath(cluster)}${instanceProfileName(kind, cluster)}`;
}

/** The kinds of instance a manifest runs, each with a role and an instance profile. */
export function instanceRoleKinds(manifest: CompletedManifest): InstanceRoleKind[] {
  const hasBastion = manifest.instanceGroups.some((ig) => ig.spec.role === 'Bastion');
  return hasBastion ? ['masters', 'nodes', 'bastions'] : ['masters', 'nodes'];
}

/** The stack output a stack made before profiles left it gives each kind's profile ARN in. */
export const STACK_INSTANCE_PROFILE_OUTPUTS: Readonly<Record<InstanceRoleKind, string>> = {
  masters: 'MastersInstanceProfileArn',
  nodes: 'NodesInstanceProfileArn',
  bastions: 'BastionsInstanceProfileArn',
};

/**
 * The kinds whose instance profile the deployed stack itself holds (a stack made before profiles
 * left it): those stay in the stack, retained, and keep serving their instances.
 */
export function stackHeldInstanceProfiles(
  outputs: Readonly<Record<string, string | undefined>> | undefined,
): InstanceRoleKind[] {
  return (Object.keys(STACK_INSTANCE_PROFILE_OUTPUTS) as InstanceRoleKind[]).filter(
    (kind) => outputs?.[STACK_INSTANCE_PROFILE_OUTPUTS[kind]] !== undefined,
  );
}

/** The logical ID of the instance profile of `kind` in a stack that holds one (`MastersInstanceProfile`). */
export function stackInstanceProfileId(kind: InstanceRoleKind): string {
  return `${kind[0]!.toUpperCase()}${kind.slice(1)}InstanceProfile`;
}

/** The account and partition of a CloudFormation stack, from its ARN (`arn:aws:cloudformation:r:acct:stack/...`). */
export function accountOfStack(stackId: string): { partition: string; account: string } {
  const [, partition, , , account] = stackId.split(':');
  if (!partition || !account) throw new Error(`not a stack ARN: ${stackId}`);
  return { partition, account };
}
