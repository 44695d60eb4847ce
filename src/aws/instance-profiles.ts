import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  type IAMClient,
  type InstanceProfile,
  RemoveRoleFromInstanceProfileCommand,
  type Role,
} from '@aws-sdk/client-iam';
import {
  isAwsErrorCode,
  ResourceOwnedError,
  rethrowAws,
  StackFailedError,
  TransientAwsError,
} from '../errors.js';
import { instanceProfilePath, instanceProfileTags } from '../planning/instance-profiles.js';
import {
  CLUSTER_TAG,
  type InstanceRoleKind,
  iamRoleName,
  instanceProfileName,
  OWNER_TAG,
} from '../planning/names.js';
import { isOwnedBy } from '../planning/ownership.js';

/**
 * A cluster's instance profiles over IAM (planning/instance-profiles.ts says where they live and
 * why): `iam` acts for the cluster (its launch or delete session), whose grants reach only the
 * profiles under the cluster's path.
 */
export interface InstanceProfileApi {
  /**
   * Makes the cluster's profile of each kind unless it exists, under the cluster's path and
   * tagged for it; a profile of that name that is not exactly what kopsless makes (path, tags,
   * a role other than the kind's) is refused, naming it, never adopted.
   */
  ensure(cluster: string, kinds: readonly InstanceRoleKind[]): Promise<void>;
  /**
   * {@link ensure}, then puts each kind's instance role of the cluster (made by its stack) in
   * its profile unless it is there. Returns each profile's ARN.
   */
  attachRoles(
    cluster: string,
    kinds: readonly InstanceRoleKind[],
  ): Promise<Partial<Record<InstanceRoleKind, string>>>;
  /**
   * While the stack runs: puts each kind's role in its profile once the stack has made the role
   * (tagged for the cluster), so that IAM propagates the profile before the groups need it. A
   * profile or role not made yet is left for a later call; returns the kinds whose profile holds
   * its role.
   */
  attachMadeRoles(cluster: string, kinds: readonly InstanceRoleKind[]): Promise<InstanceRoleKind[]>;
  /**
   * Takes each kind's instance role of the cluster out of the cluster's own profile, leaving the
   * profile: IAM refuses to delete a role a profile holds, so a stack that is being deleted (a
   * failed create, OnFailure DELETE) could not delete its roles. A profile that is gone, not made,
   * outside the cluster's path or not exactly the cluster's is left alone. Returns the kinds
   * whose role was taken out by this call.
   */
  detachRoles(cluster: string, kinds: readonly InstanceRoleKind[]): Promise<InstanceRoleKind[]>;
}

const ALREADY_EXISTS = ['EntityAlreadyExistsException', 'EntityAlreadyExists'];
const NO_SUCH_ENTITY = ['NoSuchEntityException', 'NoSuchEntity'];
const ACCESS_DENIED = ['AccessDenied', 'AccessDeniedException'];

/** Why a profile found under the cluster's profile name is not one kopsless made for it. */
function profileProblems(
  profile: InstanceProfile | undefined,
  kind: InstanceRoleKind,
  cluster: string,
  deployment: string,
): string[] {
  const tags = Object.fromEntries((profile?.Tags ?? []).map((t) => [t.Key, t.Value]));
  const problems: string[] = [];
  if (profile?.Path !== instanceProfilePath(cluster))
    problems.push(`its path is ${profile?.Path}, not ${instanceProfilePath(cluster)}`);
  if (tags[CLUSTER_TAG] !== cluster) problems.push(`its ${CLUSTER_TAG} tag is not ${cluster}`);
  if (tags[OWNER_TAG] !== deployment) problems.push(`its ${OWNER_TAG} tag is not ${deployment}`);
  const role = iamRoleName(kind, cluster);
  const others = (profile?.Roles ?? []).map((r) => r.RoleName).filter((name) => name !== role);
  // Whoever holds a profile is the role its instances act as: only the cluster's own.
  if (others.length > 0) problems.push(`it holds ${others.join(', ')}, not ${role}`);
  return problems;
}

/** The profile as IAM has it, undefined when there is none. */
async function readProfile(
  iam: Pick<IAMClient, 'send'>,
  name: string,
): Promise<InstanceProfile | undefined> {
  try {
    return (await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name })))
      .InstanceProfile;
  } catch (error) {
    if (isAwsErrorCode(error, ...NO_SUCH_ENTITY)) return undefined;
    return rethrowAws(error);
  }
}

/** The role as IAM has it, undefined when there is none (yet). */
async function readRole(iam: Pick<IAMClient, 'send'>, name: string): Promise<Role | undefined> {
  try {
    return (await iam.send(new GetRoleCommand({ RoleName: name }))).Role;
  } catch (error) {
    if (isAwsErrorCode(error, ...NO_SUCH_ENTITY)) return undefined;
    return rethrowAws(error);
  }
}

/** The cluster's instance profiles over IAM, made for `deployment` (their owner tag). */
export function iamInstanceProfileApi(
  iam: Pick<IAMClient, 'send'>,
  settings: { deployment: string },
): InstanceProfileApi {
  /** Makes the profile, or finds the one an earlier run made; refuses any other. */
  const ensureOne = async (cluster: string, kind: InstanceRoleKind): Promise<InstanceProfile> => {
    const name = instanceProfileName(kind, cluster);
    try {
      const made = await iam.send(
        new CreateInstanceProfileCommand({
          InstanceProfileName: name,
          Path: instanceProfilePath(cluster),
          Tags: instanceProfileTags(cluster, settings.deployment),
        }),
      );
      if (made.InstanceProfile) return made.InstanceProfile;
    } catch (error) {
      if (!isAwsErrorCode(error, ...ALREADY_EXISTS)) rethrowAws(error);
    }
    // Made by an earlier run (or one whose answer was lost): it must be exactly ours.
    let profile: InstanceProfile | undefined;
    try {
      profile = await readProfile(iam, name);
    } catch (error) {
      // The session may read only profiles under its cluster's path: this one is elsewhere.
      if (!isAwsErrorCode((error as Error).cause, ...ACCESS_DENIED)) throw error;
      throw new ResourceOwnedError(
        `IAM instance profile ${name} exists outside ${instanceProfilePath(cluster)}: it is not the one kopsless makes for cluster ${cluster}, and kopsless leaves it alone`,
      );
    }
    const problems = profileProblems(profile, kind, cluster, settings.deployment);
    if (!profile || problems.length > 0)
      throw new ResourceOwnedError(
        `IAM instance profile ${name} exists but is not the one kopsless makes for cluster ${cluster}: ${problems.join('; ') || 'it went while it was read'}`,
      );
    return profile;
  };

  /** Puts the kind's role in the profile; false when IAM has no such role (yet). */
  const addRole = async (profile: InstanceProfile, role: string): Promise<boolean> => {
    try {
      await iam.send(
        new AddRoleToInstanceProfileCommand({
          InstanceProfileName: profile.InstanceProfileName ?? '',
          RoleName: role,
        }),
      );
      return true;
    } catch (error) {
      if (isAwsErrorCode(error, ...NO_SUCH_ENTITY)) return false;
      return rethrowAws(error);
    }
  };
  const holds = (profile: InstanceProfile, role: string) =>
    (profile.Roles ?? []).some((r) => r.RoleName === role);

  return {
    async ensure(cluster, kinds) {
      for (const kind of kinds) await ensureOne(cluster, kind);
    },
    async attachRoles(cluster, kinds) {
      const arns: Partial<Record<InstanceRoleKind, string>> = {};
      for (const kind of kinds) {
        const profile = await ensureOne(cluster, kind);
        const role = iamRoleName(kind, cluster);
        // A profile holds one role at most: adding it again would be refused as over the limit.
        if (!holds(profile, role) && !(await addRole(profile, role)))
          throw new StackFailedError(
            `IAM role ${role} of cluster ${cluster} does not exist: its stack should have made it`,
          );
        arns[kind] = profile.Arn ?? '';
      }
      return arns;
    },
    async attachMadeRoles(cluster, kinds) {
      const filled: InstanceRoleKind[] = [];
      for (const kind of kinds) {
        const role = iamRoleName(kind, cluster);
        let profile: InstanceProfile | undefined;
        try {
          profile = await readProfile(iam, instanceProfileName(kind, cluster));
        } catch (error) {
          // Outside the session's path, or not made yet (IAM may refuse, not answer NoSuchEntity).
          if (isAwsErrorCode((error as Error).cause, ...ACCESS_DENIED)) continue;
          throw error;
        }
        // Made by ensure before the stack; one that is not exactly ours waits for attachRoles,
        // which refuses it by name.
        if (!profile || profileProblems(profile, kind, cluster, settings.deployment).length > 0)
          continue;
        if (holds(profile, role)) {
          filled.push(kind);
          continue;
        }
        const made = await readRole(iam, role);
        if (!made || !isOwnedBy(made.Tags, cluster)) continue;
        if (await addRole(profile, role)) filled.push(kind);
      }
      return filled;
    },
    async detachRoles(cluster, kinds) {
      const emptied: InstanceRoleKind[] = [];
      for (const kind of kinds) {
        const role = iamRoleName(kind, cluster);
        const name = instanceProfileName(kind, cluster);
        let profile: InstanceProfile | undefined;
        try {
          profile = await readProfile(iam, name);
        } catch (error) {
          // Outside the session's path: not this cluster's profile, never touched.
          if (isAwsErrorCode((error as Error).cause, ...ACCESS_DENIED)) continue;
          throw error;
        }
        // Only the cluster's own profile, tagged for it; `profileProblems` also refuses one that
        // holds a role other than the kind's, which is then not ours to change either.
        if (!profile || profileProblems(profile, kind, cluster, settings.deployment).length > 0)
          continue;
        if (!holds(profile, role)) continue;
        try {
          await iam.send(
            new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: name, RoleName: role }),
          );
          emptied.push(kind);
        } catch (error) {
          // Taken out (or the role deleted) since it was read, by an earlier attempt or the stack.
          if (!isAwsErrorCode(error, ...NO_SUCH_ENTITY)) rethrowAws(error);
        }
      }
      return emptied;
    },
  };
}

/**
 * What Auto Scaling answers while an instance profile made seconds ago has not reached it
 * (IAM is eventually consistent): a ValidationError naming the profile as invalid. kOps retries
 * its groups on the same text.
 */
export const PROFILE_NOT_PROPAGATED = /Invalid IAM Instance Profile/i;

/**
 * Runs `operation` (a call that launches instances with a new profile); when AWS answers that
 * the profile is not valid yet, the answer becomes a TransientAwsError, which the state machine
 * retries with backoff (TASK_RETRY): the task waits for IAM between attempts, not inside one.
 * Any other error passes as it is.
 */
export async function whileInstanceProfilePropagates<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (!PROFILE_NOT_PROPAGATED.test((error as Error).message)) throw error;
    throw new TransientAwsError(
      `Auto Scaling does not accept the instance profile yet (IAM is still propagating it); tried again later: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
