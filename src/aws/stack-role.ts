import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  type IAMClient,
  type Role,
} from '@aws-sdk/client-iam';
import { sleep } from '../clock.js';
import { isAwsErrorCode, rethrowAws, StackFailedError, TransientAwsError } from '../errors.js';
import { CLUSTER_TAG, OWNER_TAG, stackRoleName } from '../planning/names.js';
import {
  ROLE_NOT_ASSUMABLE,
  ROLE_PROPAGATION_WAITS_SECONDS,
  stackRoleDefinition,
  stackRolePath,
} from '../planning/stack-role.js';

/** The cluster's CloudFormation role: made before its stack is, deleted once the stack is gone. */
export interface StackRoleApi {
  /**
   * Makes the cluster's stack role unless it exists, gives it its policies, and returns
   * its ARN. A role of that name that is not exactly what kopsless makes (path, boundary, tags)
   * is refused, never adopted.
   */
  ensure(cluster: string): Promise<string>;
  /** Detaches its policies and deletes the role; `absent` when there was none. */
  remove(cluster: string): Promise<'deleted' | 'absent'>;
}

/** What a stack role is made with: template.yaml's two managed policies and the owner tag. */
export interface StackRoleSettings {
  /** This deployment's name: the role's owner tag. */
  deployment: string;
  /** `ClusterStackPolicy`, `ClusterStackRolesPolicy`, `ClusterStackApiPolicy`: what the role carries. */
  policyArns: readonly string[];
  /** `ClusterStackBoundary`: the role's permissions boundary. */
  boundaryArn: string;
}

const ALREADY_EXISTS = ['EntityAlreadyExistsException', 'EntityAlreadyExists'];
const NO_SUCH_ENTITY = ['NoSuchEntityException', 'NoSuchEntity'];

/** Why a role found under the stack role's name is not one kopsless made for `cluster`. */
function stackRoleProblems(role: Role | undefined, cluster: string, settings: StackRoleSettings) {
  const tags = Object.fromEntries((role?.Tags ?? []).map((t) => [t.Key, t.Value]));
  const problems: string[] = [];
  if (role?.Path !== stackRolePath(cluster))
    problems.push(`its path is ${role?.Path}, not ${stackRolePath(cluster)}`);
  if (role?.PermissionsBoundary?.PermissionsBoundaryArn !== settings.boundaryArn)
    problems.push(`its permissions boundary is not ${settings.boundaryArn}`);
  if (tags[CLUSTER_TAG] !== cluster) problems.push(`its ${CLUSTER_TAG} tag is not ${cluster}`);
  if (tags[OWNER_TAG] !== settings.deployment)
    problems.push(`its ${OWNER_TAG} tag is not ${settings.deployment}`);
  return problems;
}

/** The stack role over IAM; `iam` acts for the cluster (its launch or delete session). */
export function iamStackRoleApi(
  iam: Pick<IAMClient, 'send'>,
  settings: StackRoleSettings,
): StackRoleApi {
  return {
    async ensure(cluster) {
      const definition = stackRoleDefinition({
        cluster,
        deployment: settings.deployment,
        boundaryArn: settings.boundaryArn,
      });
      let role: Role | undefined;
      try {
        role = (await iam.send(new CreateRoleCommand(definition))).Role;
      } catch (error) {
        if (!isAwsErrorCode(error, ...ALREADY_EXISTS)) rethrowAws(error);
        // Made by an earlier run (or one whose answer was lost): it must be exactly ours.
        try {
          role = (await iam.send(new GetRoleCommand({ RoleName: definition.RoleName }))).Role;
        } catch (readError) {
          rethrowAws(readError);
        }
        const problems = stackRoleProblems(role, cluster, settings);
        if (problems.length > 0)
          throw new StackFailedError(
            `IAM role ${definition.RoleName} exists but is not the stack role kopsless makes for cluster ${cluster}: ${problems.join('; ')}`,
          );
      }
      for (const PolicyArn of settings.policyArns) {
        try {
          // Attaching a policy the role already has changes nothing.
          await iam.send(new AttachRolePolicyCommand({ RoleName: definition.RoleName, PolicyArn }));
        } catch (error) {
          rethrowAws(error);
        }
      }
      if (!role?.Arn) throw new StackFailedError(`IAM gave no ARN for ${definition.RoleName}`);
      return role.Arn;
    },
    async remove(cluster) {
      const RoleName = stackRoleName(cluster);
      for (const PolicyArn of settings.policyArns) {
        try {
          await iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn }));
        } catch (error) {
          // The role is gone, or the policy was detached by an earlier run.
          if (!isAwsErrorCode(error, ...NO_SUCH_ENTITY)) rethrowAws(error);
        }
      }
      try {
        await iam.send(new DeleteRoleCommand({ RoleName }));
        return 'deleted';
      } catch (error) {
        if (isAwsErrorCode(error, ...NO_SUCH_ENTITY)) return 'absent';
        return rethrowAws(error);
      }
    },
  };
}

/**
 * Runs a stack operation given the stack role `roleArn`, and while CloudFormation answers that it
 * cannot assume the role (a role IAM made seconds ago), tries again after each of `waits`. Still
 * refused after the last, it is a TransientAwsError: the state machine retries the task later.
 */
export async function whileStackRolePropagates<T>(
  roleArn: string,
  operation: () => Promise<T>,
  waits: readonly number[] = ROLE_PROPAGATION_WAITS_SECONDS,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!ROLE_NOT_ASSUMABLE.test((error as Error).message)) throw error;
      const wait = waits[attempt];
      if (wait === undefined)
        throw new TransientAwsError(
          `CloudFormation cannot assume the stack role ${roleArn} yet, ${waits.reduce((a, b) => a + b, 0)} s after it was made: ${(error as Error).message}`,
          { cause: error },
        );
      await sleep(wait * 1000);
    }
  }
}
