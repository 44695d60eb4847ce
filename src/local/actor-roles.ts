import type { Config } from '../config.js';
import type { FunctionLogicalId } from '../functions-registry.js';

/**
 * The functions that act for one cluster at a time and the role template.yaml gives each for it
 * (`CLUSTER_ACTOR_ROLE_ARN: !GetAtt <role>.Arn`; test/template.test.ts holds the two together).
 */
export const ACTOR_ROLES: Partial<Record<FunctionLogicalId, string>> = {
  WriteStateFunction: 'WriteStateActorRole',
  LaunchClusterFunction: 'LaunchClusterActorRole',
  VerifyDnsFunction: 'VerifyDnsActorRole',
  RollingUpdateFunction: 'RollingUpdateActorRole',
  DeleteClusterFunction: 'DeleteClusterActorRole',
  WatchEniFunction: 'WatchEniActorRole',
  ApiFunction: 'ApiActorRole',
};

/** The local backend's account (moto's default). */
const LOCAL_ACCOUNT = '123456789012';

/**
 * The ARN an actor role has on the local backend: under template.yaml's path, named after its
 * logical ID. moto issues credentials for it without checking that it exists, and
 * `npm run check:iam` finds the role's policies by this name.
 */
export function localActorRoleArn(roleLogicalId: string): string {
  return `arn:aws:iam::${LOCAL_ACCOUNT}:role/kopsless-deployment/kopsless-${roleLogicalId}`;
}

/** The logical ID of the actor role a local ARN names (the reverse of localActorRoleArn). */
export function actorRoleOfArn(arn: string): string | undefined {
  return /:role\/kopsless-deployment\/kopsless-(\w+ActorRole)$/.exec(arn)?.[1];
}

/** A function's configuration as the local runner gives it: with its actor role, when it has one. */
export function withActorRole<C extends Pick<Config, 'clusterActorRoleArn'>>(
  config: C,
  functionId: FunctionLogicalId,
): C {
  const role = ACTOR_ROLES[functionId];
  return role ? { ...config, clusterActorRoleArn: localActorRoleArn(role) } : config;
}
