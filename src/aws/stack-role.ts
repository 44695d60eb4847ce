import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  type IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  type Role,
  TagRoleCommand,
} from '@aws-sdk/client-iam';
import { sleep } from '../clock.js';
import { isAwsErrorCode, rethrowAws, StackFailedError, TransientAwsError } from '../errors.js';
import {
  CLUSTER_HASH_TAG,
  CLUSTER_TAG,
  clusterHash,
  OWNER_TAG,
  stackRoleName,
} from '../planning/names.js';
import {
  HASH_TAG_PROPAGATION_SECONDS,
  ROLE_NOT_ASSUMABLE,
  ROLE_PROPAGATION_WAITS_SECONDS,
  STACK_ROLE_TRUST_POLICY,
  stackRoleDefinition,
  stackRolePath,
} from '../planning/stack-role.js';

/** The cluster's CloudFormation role: made before its stack is, deleted once the stack is gone. */
export interface StackRoleApi {
  /**
   * Makes the cluster's stack role unless it exists, gives it its policies, and returns
   * its ARN. A role of that name that is not exactly what kopsless makes (path, boundary, tags,
   * trust policy) is refused, never adopted.
   */
  ensure(cluster: string): Promise<string>;
  /**
   * Deletes every role under the cluster's stack path (`/kopsless/stack/<cluster>/`), the stack
   * role and any other, each with its policies. When IAM refuses the listing, deletes the stack
   * role by its name and says why the others could not be looked for.
   */
  remove(cluster: string): Promise<StackRoleRemoval>;
  /** When the cluster's stack role was made; undefined when there is none. */
  createdAt(cluster: string): Promise<Date | undefined>;
}

/** What removing a cluster's stack roles did. */
export interface StackRoleRemoval {
  /** The roles deleted now; empty when none was left. */
  deleted: string[];
  /** Roles under the path that IAM did not let this session delete, and why. */
  kept?: string[];
  /** Why the roles under the path were not listed (only the stack role's own name was removed). */
  unlisted?: string;
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
const ACCESS_DENIED = ['AccessDenied', 'AccessDeniedException'];
const DELETE_CONFLICT = ['DeleteConflictException', 'DeleteConflict'];

/** A policy document as IAM returns it (URL-encoded), decoded; as it is when it is not encoded. */
function decodeSafely(document: string | undefined): string {
  try {
    return decodeURIComponent(document ?? '');
  } catch {
    return document ?? '';
  }
}

/**
 * A policy document in one spelling: IAM returns it URL-encoded, may turn a one-element list
 * into its element (or the reverse) and keeps keys in any order.
 */
function canonicalPolicy(document: string | undefined): string | undefined {
  if (document === undefined) return undefined;
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value))
      return value.length === 1 ? canonical(value[0]) : value.map(canonical).sort(byJson);
    if (value !== null && typeof value === 'object')
      return Object.fromEntries(
        Object.entries(value)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, v]) => [k, canonical(v)]),
      );
    return value;
  };
  try {
    return JSON.stringify(canonical(JSON.parse(decodeSafely(document))));
  } catch {
    return undefined;
  }
}

function byJson(a: unknown, b: unknown): number {
  const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

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
  // Absent on a role made before the tag existed: given then (ensure). Another value would let
  // the cluster's stack take another cluster's names.
  if (tags[CLUSTER_HASH_TAG] !== undefined && tags[CLUSTER_HASH_TAG] !== clusterHash(cluster))
    problems.push(`its ${CLUSTER_HASH_TAG} tag is not ${clusterHash(cluster)}`);
  // A role that trusts anyone besides CloudFormation would hand ClusterStackPolicy to them.
  const trust = canonicalPolicy(role?.AssumeRolePolicyDocument);
  if (trust === undefined || trust !== canonicalPolicy(STACK_ROLE_TRUST_POLICY))
    problems.push(
      `its trust policy is not the stack role's (only cloudformation.amazonaws.com may assume it): ${decodeSafely(role?.AssumeRolePolicyDocument).slice(0, 500)}`,
    );
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
        // A stack role made before it carried its cluster's hash: without the tag the stack
        // boundary lets its stack create no role, instance profile or function at all.
        if (!role?.Tags?.some((t) => t.Key === CLUSTER_HASH_TAG)) {
          try {
            await iam.send(
              new TagRoleCommand({ RoleName: definition.RoleName, Tags: definition.Tags }),
            );
          } catch (error) {
            rethrowAws(error);
          }
          await sleep(HASH_TAG_PROPAGATION_SECONDS * 1000);
        }
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
    async createdAt(cluster) {
      try {
        const out = await iam.send(new GetRoleCommand({ RoleName: stackRoleName(cluster) }));
        return out.Role?.CreateDate;
      } catch (error) {
        if (isAwsErrorCode(error, ...NO_SUCH_ENTITY)) return undefined;
        return rethrowAws(error);
      }
    },
    async remove(cluster) {
      const own = stackRoleName(cluster);
      let names: string[];
      let unlisted: string | undefined;
      try {
        names = await rolesUnder(iam, stackRolePath(cluster));
        if (!names.includes(own)) names.push(own);
      } catch (error) {
        if (!isAwsErrorCode(error, ...ACCESS_DENIED)) rethrowAws(error);
        unlisted = `IAM refused to list the roles under ${stackRolePath(cluster)} (iam:ListRoles): only ${own} was looked for: ${(error as Error).message}`;
        names = [own];
      }
      const deleted: string[] = [];
      const kept: string[] = [];
      for (const name of names) {
        try {
          if (await deleteRole(iam, name, settings.policyArns)) deleted.push(name);
        } catch (error) {
          // A role kopsless did not make, with what this session may not undo: said, not fatal.
          if (name === own || !isAwsErrorCode(error, ...ACCESS_DENIED, ...DELETE_CONFLICT))
            throw error;
          kept.push(`${name}: ${(error as Error).message}`);
        }
      }
      return {
        deleted,
        ...(kept.length > 0 ? { kept } : {}),
        ...(unlisted ? { unlisted } : {}),
      };
    },
  };
}

/** The names of the roles under `path`, every page. */
async function rolesUnder(iam: Pick<IAMClient, 'send'>, path: string): Promise<string[]> {
  const names: string[] = [];
  let Marker: string | undefined;
  do {
    const page = await iam.send(new ListRolesCommand({ PathPrefix: path, Marker }));
    // The path ends in `/`: `/kopsless/stack/a.b/` is no prefix of another cluster's path, and
    // a role below it (`.../a.b/x/`) is within the cluster's grants (`role/kopsless/stack/a.b/*`).
    for (const role of page.Roles ?? [])
      if (role.Path?.startsWith(path) && role.RoleName) names.push(role.RoleName);
    Marker = page.IsTruncated ? page.Marker : undefined;
  } while (Marker);
  return names;
}

/**
 * Detaches every managed policy of the role, deletes its inline policies and then the role:
 * false when there was no such role. A role or policy already gone (an earlier run) is fine.
 */
async function deleteRole(
  iam: Pick<IAMClient, 'send'>,
  RoleName: string,
  stackPolicyArns: readonly string[],
): Promise<boolean> {
  /** Makes the call; false when what it names is gone already. */
  const unlessGone = async (call: () => Promise<unknown>) => {
    try {
      await call();
      return true;
    } catch (error) {
      if (isAwsErrorCode(error, ...NO_SUCH_ENTITY)) return false;
      return rethrowAws(error);
    }
  };
  let attached: string[] = [];
  let inline: string[] = [];
  try {
    attached = await attachedPolicies(iam, RoleName);
    inline = await inlinePolicies(iam, RoleName);
  } catch (error) {
    // Not allowed to list: ClusterStackPolicy, detached by name, is all a stack role carries.
    if (!isAwsErrorCode(error, ...NO_SUCH_ENTITY, ...ACCESS_DENIED)) rethrowAws(error);
  }
  // The stack role's policies by name too: what a stack role is ever given.
  for (const PolicyArn of new Set([...stackPolicyArns, ...attached]))
    await unlessGone(() => iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn })));
  for (const PolicyName of inline)
    await unlessGone(() => iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName })));
  return unlessGone(() => iam.send(new DeleteRoleCommand({ RoleName })));
}

async function attachedPolicies(iam: Pick<IAMClient, 'send'>, RoleName: string) {
  const arns: string[] = [];
  let Marker: string | undefined;
  do {
    const page = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName, Marker }));
    for (const p of page.AttachedPolicies ?? []) if (p.PolicyArn) arns.push(p.PolicyArn);
    Marker = page.IsTruncated ? page.Marker : undefined;
  } while (Marker);
  return arns;
}

async function inlinePolicies(iam: Pick<IAMClient, 'send'>, RoleName: string) {
  const names: string[] = [];
  let Marker: string | undefined;
  do {
    const page = await iam.send(new ListRolePoliciesCommand({ RoleName, Marker }));
    names.push(...(page.PolicyNames ?? []));
    Marker = page.IsTruncated ? page.Marker : undefined;
  } while (Marker);
  return names;
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
