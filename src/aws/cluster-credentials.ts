import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { dns1123SubdomainErrors } from '../manifest/content.js';
import { CLUSTER_HASH_TAG, clusterHash, clusterNameRecordProblems } from '../planning/names.js';
import { type AwsClientSettings, clientConfig } from './clients.js';

/**
 * The session tag that names the one cluster a set of credentials may act for. Every actor
 * role's policy in template.yaml reads it as `${aws:PrincipalTag/kopsless.io/cluster}`: in state
 * store prefixes, in `KubernetesCluster` tag conditions, in record names.
 */
export const CLUSTER_SESSION_TAG = 'kopsless.io/cluster';

/**
 * The session tag that names the cluster's own VPC, given only to the sessions that associate it
 * with a private hosted zone or undo that (launch, delete). Their grants read it in
 * `route53:VPCs` as `VPCId=${aws:PrincipalTag/kopsless.io/vpc},VPCRegion=<region>`: a session
 * without it cannot associate any VPC, one with it only that VPC.
 */
export const VPC_SESSION_TAG = 'kopsless.io/vpc';

/**
 * The session tag holding the hash every per-cluster name ends with (`clusterHash`). It binds
 * the names no policy variable can compute from the cluster tag: every CloudFormation grant of an
 * actor role is on `stack/kopsless-*-${aws:PrincipalTag/kopsless.io/cluster-hash}/*` and the
 * stack role grants on
 * `role/kopsless/stack/${aws:PrincipalTag/kopsless.io/cluster}/kopsless-stack-*-${aws:PrincipalTag/kopsless.io/cluster-hash}`:
 * the cluster's stack name and stack role name end with `-<hash>` (`stackName`, `stackRoleName`)
 * and no other cluster's can, so a session for one cluster can neither take another's names
 * first nor read, change or delete another's stack. The launch and delete sessions may make
 * their stack role only tagged with this value, and the stack boundary reads the role's tag to
 * keep CloudFormation to names ending with it.
 */
export const CLUSTER_HASH_SESSION_TAG = CLUSTER_HASH_TAG;

/** A VPC ID as EC2 makes them; nothing else may become the VPC tag. */
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;

/** How long one per-cluster session lasts; the SDK renews it five minutes before it ends. */
export const CLUSTER_SESSION_SECONDS = 3600;

/** Per-cluster adapters kept by a warm container: enough for every cluster one watcher run walks. */
export const MAX_CACHED_CLUSTERS = 256;

/** What a handler needs to act for one cluster with that cluster's credentials only. */
export interface ClusterActor {
  /**
   * The function's actor role (`CLUSTER_ACTOR_ROLE_ARN`). Unset (the CLI acting directly with
   * its own credentials, unit tests), the clients keep the caller's own credentials.
   */
  roleArn?: string;
  /** Says which function acts in the session name (CloudTrail shows it): `write-state`, ... */
  sessionPrefix: string;
}

/**
 * The session tags of acting for `cluster`: the cluster and the hash its names end with (the
 * actor roles' policies scope every grant to them), and, given `vpcId`, the cluster's VPC. Every
 * session carries the two, whichever function assumes it, so one cluster's sessions all look
 * alike; they are derived here from the cluster alone, never passed in. Names derived from the
 * cluster (its stack's, its stack role's) are not tags: STS limits the packed size of a session's
 * tags by an unpublished measure, and the cluster name repeated in them would bring the longest
 * names close to it; the policies bind those names by the hash they end with instead.
 * Throws when `cluster` is not a name a cluster may have, or `vpcId` not a VPC ID.
 */
export function clusterSessionTags(
  cluster: string,
  vpcId?: string,
): Array<{ Key: string; Value: string }> {
  // The tag becomes a state store prefix and a tag value in every grant: only a cluster name
  // (a DNS-1123 subdomain, as kOps requires) may become one, never `*`, `/` or a path.
  const problems = dns1123SubdomainErrors(cluster);
  // A session for `internal.b` could change `api.internal.b`, cluster b's record.
  if (problems.length === 0) problems.push(...clusterNameRecordProblems(cluster));
  if (problems.length > 0)
    throw new Error(`cannot act for cluster ${JSON.stringify(cluster)}: ${problems.join('; ')}`);
  if (vpcId !== undefined && !VPC_ID.test(vpcId))
    throw new Error(
      `cannot act for cluster ${JSON.stringify(cluster)} in VPC ${JSON.stringify(vpcId)}: not a VPC ID (vpc- and 8 to 17 hexadecimal digits)`,
    );
  return [
    { Key: CLUSTER_SESSION_TAG, Value: cluster },
    { Key: CLUSTER_HASH_SESSION_TAG, Value: clusterHash(cluster) },
    ...(vpcId !== undefined ? [{ Key: VPC_SESSION_TAG, Value: vpcId }] : []),
  ];
}

/**
 * The STS AssumeRole parameters for acting as `cluster`: its session tags
 * ({@link clusterSessionTags}) and a session name that names both the function and the cluster
 * (64 characters at most, as STS allows).
 */
export function clusterSessionParams(
  roleArn: string,
  sessionPrefix: string,
  cluster: string,
  vpcId?: string,
) {
  const tags = clusterSessionTags(cluster, vpcId);
  return {
    RoleArn: roleArn,
    RoleSessionName: `${sessionPrefix}-${cluster}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64),
    DurationSeconds: CLUSTER_SESSION_SECONDS,
    Tags: tags,
  };
}

/**
 * The client settings of one cluster: the same endpoint and region as `settings`, and
 * credentials of `actor.roleArn` assumed with the cluster's session tag (and, given `vpcId`, the
 * VPC tag), from the credentials in `settings` (the function's own, on Lambda the environment's).
 */
export function clusterClientSettings(
  settings: AwsClientSettings,
  actor: ClusterActor,
  cluster: string,
  vpcId?: string,
): AwsClientSettings {
  const base = clientConfig(settings);
  if (!actor.roleArn) return base;
  const { credentials, ...sts } = base;
  return {
    ...base,
    credentials: fromTemporaryCredentials({
      params: clusterSessionParams(actor.roleArn, actor.sessionPrefix, cluster, vpcId),
      ...(credentials ? { masterCredentials: credentials } : {}),
      clientConfig: sts,
    }),
  };
}

/**
 * Builds, per cluster, what `build` makes from client settings whose credentials reach only that
 * cluster, and keeps it (a warm container reuses the clients and their session) for at most
 * MAX_CACHED_CLUSTERS clusters, the least recently used dropped first.
 */
export function perCluster<T>(
  settings: AwsClientSettings,
  actor: ClusterActor,
  build: (settings: AwsClientSettings, cluster: string) => T,
): (cluster: string) => T {
  const cache = new Map<string, T>();
  return (cluster) => {
    const known = cache.get(cluster);
    if (known !== undefined) {
      cache.delete(cluster);
      cache.set(cluster, known);
      return known;
    }
    const made = build(clusterClientSettings(settings, actor, cluster), cluster);
    cache.set(cluster, made);
    if (cache.size > MAX_CACHED_CLUSTERS) cache.delete(cache.keys().next().value as string);
    return made;
  };
}
