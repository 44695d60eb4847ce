import { LOCAL_STACK_NAME } from '../functions-registry.js';

/**
 * template.yaml's managed policies of the clusters' stack roles, by logical ID, and the name each
 * has in a deployment (`<stack>-<suffix>`, under /kopsless-deployment/).
 */
export const CLUSTER_STACK_POLICIES = {
  ClusterStackPolicy: 'cluster-stack-policy',
  ClusterStackRolesPolicy: 'cluster-stack-roles',
  ClusterStackApiPolicy: 'cluster-stack-api',
  ClusterStackBoundary: 'cluster-stack-boundary',
} as const;

export type ClusterStackPolicyId = keyof typeof CLUSTER_STACK_POLICIES;

/** The local backend's account (moto's default). */
const LOCAL_ACCOUNT = '123456789012';

/** The ARN one of them has on the local backend (what `!Ref` gives on AWS). */
export function localClusterStackPolicyArn(
  id: ClusterStackPolicyId,
  stack: string = LOCAL_STACK_NAME,
): string {
  return `arn:aws:iam::${LOCAL_ACCOUNT}:policy/kopsless-deployment/${stack}-${CLUSTER_STACK_POLICIES[id]}`;
}

/** The variables template.yaml gives the launch and delete functions for them, as on the local backend. */
export function localClusterStackEnvironment(stack: string = LOCAL_STACK_NAME) {
  return {
    CLUSTER_STACK_POLICY_ARNS: (
      ['ClusterStackPolicy', 'ClusterStackRolesPolicy', 'ClusterStackApiPolicy'] as const
    )
      .map((id) => localClusterStackPolicyArn(id, stack))
      .join(','),
    CLUSTER_STACK_BOUNDARY_ARN: localClusterStackPolicyArn('ClusterStackBoundary', stack),
  };
}
