import { CLUSTER_HASH_TAG, clusterHash, clusterIamTags, stackRoleName } from './names.js';

/**
 * The CloudFormation role of one cluster's stack: a role per cluster, made by the launch stage
 * acting for that cluster, so that CloudFormation changing cluster C's stack reaches only C.
 *
 * CONTRACT with template.yaml: the role sits under {@link stackRolePath}, whose last segment is
 * the cluster's name (a DNS-1123 name holds no `/`), and is named `stackRoleName`, which ends
 * with `-<clusterHash>` (the hash tag of the launch and delete sessions), so their grants name
 * `role/kopsless/stack/${aws:PrincipalTag/kopsless.io/cluster}/kopsless-stack-*-${aws:PrincipalTag/kopsless.io/cluster-hash}`
 * and reach no other cluster's role, nor make a role of its name. It carries the boundary
 * `ClusterStackBoundary`, the managed policies `ClusterStackPolicy`, `ClusterStackRolesPolicy`
 * and `ClusterStackApiPolicy` and nothing else, and the tags `KubernetesCluster=<cluster>`, the
 * owner tag and `kopsless.io/cluster-hash`: when CloudFormation acts as the role, its tags are
 * `aws:PrincipalTag/...`, every grant of those policies requires the cluster tag of what it
 * touches to equal the role's, and the boundary lets it create only names ending with the hash.
 */

/** The IAM path every stack role sits under, the cluster's name below it. */
export const STACK_ROLE_PATH_PREFIX = '/kopsless/stack/';

/** The IAM path of the cluster's stack role: `/kopsless/stack/<cluster>/`. */
export function stackRolePath(cluster: string): string {
  return `${STACK_ROLE_PATH_PREFIX}${cluster}/`;
}

/** The tags a stack role is made with, and the only ones it may carry. */
export function stackRoleTags(
  cluster: string,
  deployment: string,
): Array<{ Key: string; Value: string }> {
  return [
    ...clusterIamTags(cluster, deployment),
    { Key: CLUSTER_HASH_TAG, Value: clusterHash(cluster) },
  ];
}

/**
 * Who may assume a stack role: CloudFormation. No `aws:SourceAccount` or `aws:SourceArn`
 * condition: AWS documents neither as sent when CloudFormation assumes a stack's service role
 * (its service role page names only the `cloudformation.amazonaws.com` principal), so such a
 * condition could refuse CloudFormation itself. It is not needed either: CloudFormation uses a
 * role only when a caller passes it (`iam:PassRole`, which reaches no other account's roles),
 * and the launch and delete sessions of the role's own cluster are the only callers allowed to
 * pass it.
 */
export const STACK_ROLE_TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Service: 'cloudformation.amazonaws.com' },
      Action: 'sts:AssumeRole',
    },
  ],
});

/** Everything CreateRole is given for the cluster's stack role. */
export function stackRoleDefinition(input: {
  cluster: string;
  deployment: string;
  boundaryArn: string;
}) {
  return {
    RoleName: stackRoleName(input.cluster),
    Path: stackRolePath(input.cluster),
    AssumeRolePolicyDocument: STACK_ROLE_TRUST_POLICY,
    PermissionsBoundary: input.boundaryArn,
    Description: `kopsless - CloudFormation's role for the stack of cluster ${input.cluster}`.slice(
      0,
      1000,
    ),
    Tags: stackRoleTags(input.cluster, input.deployment),
  };
}

/**
 * CloudFormation's answer to a stack operation given a role it cannot assume. A role IAM has just
 * made gives it for some seconds (IAM is eventually consistent), so the call is retried a while.
 */
export const ROLE_NOT_ASSUMABLE = /Role .* is invalid or cannot be assumed/;

/**
 * How long a stack role just given its cluster hash tag is left before CloudFormation uses it:
 * IAM shows a tag change everywhere within seconds, and a stack operation that saw the role
 * without it would have every role, profile and function it creates refused by the boundary.
 */
export const HASH_TAG_PROPAGATION_SECONDS = 15;

/** The waits, in seconds, between tries of a stack operation while a new role propagates: 60 s in all. */
export const ROLE_PROPAGATION_WAITS_SECONDS = [2, 4, 6, 8, 10, 10, 10, 10] as const;

/**
 * How long after its stack role was made a stack that failed for want of permission is created
 * again: IAM may not yet show CloudFormation the role's policy (AccessDenied on the first
 * resources), and the stack, made with `OnFailure: DELETE`, is gone. Past this the failure is
 * the template's or the policy's, and it stands.
 */
export const FRESH_STACK_ROLE_SECONDS = 300;

/**
 * A stack failure that a stack role's policy not yet propagated explains: a refusal by IAM, or
 * no reason at all (the events of a stack CloudFormation deleted may no longer be readable).
 */
export function isPermissionFailure(reason: string | undefined): boolean {
  return (
    reason === undefined ||
    /AccessDenied|Access Denied|not authorized to perform|is invalid or cannot be assumed/i.test(
      reason,
    )
  );
}
