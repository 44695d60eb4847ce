import type { StackApi, StackState } from '../aws/cloudformation.js';
import type { InstanceProfileApi } from '../aws/instance-profiles.js';
import type { InstanceRoleKind } from '../planning/names.js';
import { stackName } from '../planning/names.js';

/**
 * A cluster stack whose creation failed and that CloudFormation rolls back or deletes (OnFailure
 * DELETE), or a delete of it that failed. Not an update's rollback: that keeps the roles of the
 * instances already running, whose profiles must keep holding them.
 */
export const FAILING_STACK =
  /^(CREATE_FAILED|ROLLBACK_IN_PROGRESS|ROLLBACK_FAILED|ROLLBACK_COMPLETE|DELETE_IN_PROGRESS|DELETE_FAILED)$/;

/** Every kind of instance role a stack may have made, whatever the manifest says now. */
const ALL_KINDS: readonly InstanceRoleKind[] = ['masters', 'nodes', 'bastions'];

/**
 * What a failing stack still needs from launch before CloudFormation can delete it: IAM refuses
 * to delete a role an instance profile holds (DeleteConflict), and the profiles that launch made
 * (and filled while the stack ran) are no resource of the stack, which may not change them. So
 * the cluster's roles are taken out of the cluster's own profiles first (the profiles stay: a
 * stack created again fills them). A stack that has already ended DELETE_FAILED is deleted again
 * under its stack role; a later poll sees it deleting, then gone.
 *
 * Safe to run again: a profile already empty is left as it is, and deleting a stack that is being
 * deleted (or is gone) changes nothing. Returns the status the stack is now in.
 */
export async function releaseFailingStack(
  cluster: string,
  stack: StackState,
  deps: {
    instanceProfiles: Pick<InstanceProfileApi, 'detachRoles'>;
    stacks: Pick<StackApi, 'delete'>;
    /** Runs the delete under the cluster's stack role, as every stack operation of launch. */
    withStackRole: (operation: (role: { roleArn?: string }) => Promise<void>) => Promise<void>;
  },
): Promise<string> {
  await deps.instanceProfiles.detachRoles(cluster, ALL_KINDS);
  if (stack.status !== 'DELETE_FAILED') return stack.status;
  await deps.withStackRole(({ roleArn }) => deps.stacks.delete(stackName(cluster), roleArn));
  return 'DELETE_IN_PROGRESS';
}
