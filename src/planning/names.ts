import { createHash } from 'node:crypto';

/**
 * Names and tags of the AWS resources of a cluster.
 *
 * kOps names resources after the cluster (`<ig>.<cluster>`, `masters.<cluster>`), but AWS scopes
 * most names per account or region and allows fewer characters than a cluster name may hold, so
 * two clusters could share one name (`x.y-z.example.com` and `x-y.z.example.com` both flatten to
 * `x-y-z-example-com`; group `a.q` of `p.example.com` and group `a` of `q.p.example.com` are both
 * `a.q.p.example.com`). Every name AWS scopes per account or region is therefore
 *
 *     kopsless-<kind->?<readable>-<hash>
 *
 * - `hash`: the first 16 hex digits (64 bits) of SHA-256 of the exact cluster name, or, for the
 *   names of one instance group, of the JSON array `[instanceGroup, cluster]`. It is what makes
 *   the name unique; the readable part is only for people and is cut to fit.
 * - `readable`: the cluster name (or `<ig>.<cluster>`), characters the kind does not allow
 *   replaced by `-`, cut so the whole name fits the kind's limit.
 *
 * | resource | name | limit |
 * | --- | --- | --- |
 * | CloudFormation stack | `kopsless-<cluster, dots as dashes>-<hash(cluster)>` | 128, `[A-Za-z][A-Za-z0-9-]*` |
 * | IAM role and instance profile | `kopsless-<masters\|nodes\|bastions>-<cluster>-<hash(cluster)>`; the profile under `/kopsless/profiles/<cluster>/` (instance-profiles.ts) | 64 (role), 128 (profile) |
 * | the stack's CloudFormation role | `kopsless-stack-<cluster>-<hash(cluster)>`, under `/kopsless/stack/<cluster>/` | 64 |
 * | security group (per VPC) | `kopsless-<masters\|nodes\|bastion>-<cluster>-<hash(cluster)>` | 255 |
 * | Auto Scaling group and launch template | `kopsless-<ig>.<cluster>-<hash([ig, cluster])>` | 128, `[a-zA-Z0-9().\-/_]` |
 *
 * CONTRACT with the IAM policies (template.yaml): stack names, IAM role names and instance
 * profile names always start with `kopsless-` ({@link NAME_PREFIX}), so grants can be scoped to
 * `...:role/kopsless-*` and `...:instance-profile/kopsless-*`. Auto Scaling group names start
 * with it too (`autoScalingGroupName/kopsless-*`). Launch templates, whose ARNs carry IDs, are
 * scoped by tag. A cluster's stack, its stack role, and the roles, instance profiles and API
 * function its stack makes end with `-<hash(cluster)>`: the per-cluster sessions carry the hash
 * as a tag, and so does the stack role, so their grants (`kopsless-*-<hash>`) name only the
 * cluster's own (src/aws/cluster-credentials.ts, {@link CLUSTER_HASH_TAG}).
 *
 * The kOps names stay visible: `Name` tags (`<ig>.<cluster>`, `masters.<cluster>`), the
 * `KubernetesCluster` and `kops.k8s.io/instancegroup` tags, and the CLI's tables. Ownership is
 * never decided by a name: every mutation first checks the resource's `KubernetesCluster` tag.
 */

/** Every stack, IAM role, instance profile, Auto Scaling group and launch template name starts with this. */
export const NAME_PREFIX = 'kopsless-';
/** Hex digits of the SHA-256 kept in a name: 64 bits. */
export const NAME_HASH_LENGTH = 16;

/** AWS's limits on the names kopsless gives. */
export const NAME_LIMITS = {
  stack: 128,
  autoScalingGroup: 255,
  launchTemplate: 128,
  iamRole: 64,
  instanceProfile: 128,
  securityGroup: 255,
  lambdaFunction: 64,
} as const;

/**
 * The tag that makes a resource this deployment's: its value is the name of the kopsless
 * deployment (the SAM stack) that created it. The IAM policies let it be set only when a resource
 * is created and let a mutation act only on resources that carry it with this deployment's name,
 * so a resource made outside kopsless (a kOps cluster's) is never kopsless's, whatever its other
 * tags say.
 */
export const OWNER_TAG = 'kopsless.io/owner';
/** The deployment name when none is configured: the stack name the local backend stands for. */
export const DEFAULT_DEPLOYMENT = 'kopsless';
/**
 * The longest deployment name: template.yaml names its state machines `<deployment>-<name>`,
 * and Step Functions takes at most 80 characters, so the longest,
 * `<deployment>-rolling-update-group`, leaves 59 (test/planning/names.test.ts holds every state
 * machine name to it).
 */
export const DEPLOYMENT_NAME_LIMIT = 59;
/** A deployment name: a CloudFormation stack name short enough for its state machines' names. */
export const DEPLOYMENT_NAME = new RegExp(`^[A-Za-z][A-Za-z0-9-]{0,${DEPLOYMENT_NAME_LIMIT - 1}}$`);

/** The owner tag of a resource this deployment creates. */
export function ownerTag(deployment: string): { Key: string; Value: string } {
  return { Key: OWNER_TAG, Value: deployment };
}

/** The tag kOps and the AWS cloud provider find a cluster's resources by. */
export const CLUSTER_TAG = 'KubernetesCluster';
export const INSTANCE_GROUP_TAG = 'kops.k8s.io/instancegroup';
/** Set on instances (through the launch template) and on their group: the group's spec hash. */
export const SPEC_HASH_TAG = 'kopsless.io/spec-hash';
/** The control-plane instance group an etcd volume belongs to (the boot script finds and tags it). */
export const ETCD_VOLUME_TAG = 'kopsless.io/etcd';
/** The Kubernetes version an instance's boot script installs: the roll keeps nodes from getting ahead of the control plane by it. */
export const KUBERNETES_VERSION_TAG = 'kopsless.io/kubernetes-version';
/** Set on control-plane instances (kOps's role tag): how a guard finds what the control plane runs. */
export const CONTROL_PLANE_ROLE_TAG = 'k8s.io/role/control-plane';
/** AWS's limit on a tag value. */
const TAG_VALUE_LIMIT = 256;

export function ownedTagKey(cluster: string): string {
  return `kubernetes.io/cluster/${cluster}`;
}

/** The two tags every resource of the cluster carries. */
export function clusterTags(cluster: string): Array<{ Key: string; Value: string }> {
  return [
    { Key: CLUSTER_TAG, Value: cluster },
    { Key: ownedTagKey(cluster), Value: 'owned' },
  ];
}

/**
 * The tags of an IAM resource kopsless makes for a cluster (a stack role, an instance profile):
 * the cluster's and the deployment's owner tag, the only keys the IAM grants let a create carry
 * (no `kubernetes.io/cluster/<name>`, which IAM grants cannot name).
 */
export function clusterIamTags(
  cluster: string,
  deployment: string,
): Array<{ Key: string; Value: string }> {
  return [
    { Key: CLUSTER_TAG, Value: cluster },
    { Key: OWNER_TAG, Value: deployment },
  ];
}

/** A `Name` tag value: the kOps name, cut to AWS's 256 characters (`<ig>.<cluster>` can be longer). */
export function nameTag(kopsName: string): { Key: 'Name'; Value: string } {
  return { Key: 'Name', Value: kopsName.slice(0, TAG_VALUE_LIMIT) };
}

function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, NAME_HASH_LENGTH);
}

/** The hash in every per-cluster name: of the exact cluster name, so no two names share it. */
export function clusterHash(cluster: string): string {
  return shortHash(cluster);
}

/**
 * The tag holding {@link clusterHash} on a cluster's stack role (and on the sessions that make
 * it). Every name the cluster stack gives a role, an instance profile or its API function ends
 * with `-<hash>`, so the stack boundary lets CloudFormation create only names ending with
 * `-${aws:PrincipalTag/kopsless.io/cluster-hash}`: never another cluster's.
 */
export const CLUSTER_HASH_TAG = 'kopsless.io/cluster-hash';

/** The hash in an instance group's names: of the pair, so moving a dot between the two changes it. */
export function groupHash(instanceGroup: string, cluster: string): string {
  return shortHash(JSON.stringify([instanceGroup, cluster]));
}

/**
 * `kopsless-<kind->?<readable>-<hash>` within `limit` characters: characters outside `allowed`
 * become `-`, and the readable part is cut (never the hash, which is what keeps names apart).
 */
function composeName(
  kind: string,
  readable: string,
  hash: string,
  limit: number,
  allowed: RegExp,
): string {
  const head = `${NAME_PREFIX}${kind ? `${kind}-` : ''}`;
  const room = limit - head.length - 1 - hash.length;
  const cleaned = [...readable]
    .map((c) => (allowed.test(c) ? c : '-'))
    .join('')
    .slice(0, Math.max(room, 0));
  return `${head}${cleaned}-${hash}`;
}

const STACK_CHARS = /^[A-Za-z0-9-]$/;
const IAM_CHARS = /^[A-Za-z0-9+=,.@_-]$/;
const LAUNCH_TEMPLATE_CHARS = /^[A-Za-z0-9()./_-]$/;
/** Security group names allow more, but a dash for anything unusual keeps them plain. */
const SECURITY_GROUP_CHARS = /^[A-Za-z0-9._-]$/;

/** The cluster's CloudFormation stack. */
export function stackName(cluster: string): string {
  return composeName('', cluster, clusterHash(cluster), NAME_LIMITS.stack, STACK_CHARS);
}

/** The kinds of instance a cluster has a role (made by its stack) and an instance profile for. */
export type InstanceRoleKind = 'masters' | 'nodes' | 'bastions';

/** An IAM role of the cluster stack; its instance profile (made by the launch stage) has the same name. */
export function iamRoleName(kind: InstanceRoleKind, cluster: string): string {
  return composeName(kind, cluster, clusterHash(cluster), NAME_LIMITS.iamRole, IAM_CHARS);
}

/** The instance profile of a role: the role's name (it fits both limits). */
export function instanceProfileName(kind: InstanceRoleKind, cluster: string): string {
  return iamRoleName(kind, cluster);
}

/** kOps's name of a role (`masters.<cluster>`): its `Name` tag. */
export function kopsRoleName(kind: InstanceRoleKind, cluster: string): string {
  return `${kind}.${cluster}`;
}

export type SecurityGroupKind = 'masters' | 'nodes' | 'bastion';

/** A security group's name (unique per VPC only, but a cluster's VPC may be shared one day). */
export function securityGroupName(kind: SecurityGroupKind, cluster: string): string {
  return composeName(
    kind,
    cluster,
    clusterHash(cluster),
    NAME_LIMITS.securityGroup,
    SECURITY_GROUP_CHARS,
  );
}

/** kOps's name of an instance group's Auto Scaling group and launch template: their `Name` tag. */
export function kopsGroupName(instanceGroup: string, cluster: string): string {
  return `${instanceGroup}.${cluster}`;
}

/** An instance group's Auto Scaling group and launch template (one name fits both). */
export function groupName(instanceGroup: string, cluster: string): string {
  return composeName(
    '',
    kopsGroupName(instanceGroup, cluster),
    groupHash(instanceGroup, cluster),
    NAME_LIMITS.launchTemplate,
    LAUNCH_TEMPLATE_CHARS,
  );
}

/** A CloudFormation logical ID from free text: PascalCase of its alphanumeric runs. */
export function logicalId(prefix: string, name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return prefix + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

/** CloudFormation's limit on a logical ID. */
export const LOGICAL_ID_LIMIT = 255;

/**
 * The logical IDs the stack template gives one subnet: the subnet itself (also the output key of
 * its ID) and its route table association. Distinct subnet names can share them (`us-test-1a`,
 * `us.test.1a` and `usTest1a` are all `SubnetUsTest1a`), so the support check refuses such names
 * rather than let one subnet replace another; the IDs of valid clusters never change.
 */
export function subnetLogicalIds(subnetName: string): {
  subnet: string;
  routeTableAssociation: string;
} {
  const subnet = logicalId('Subnet', subnetName);
  return { subnet, routeTableAssociation: `${subnet}RouteTableAssociation` };
}

/** A stable short hash of JSON-able data (key order does not matter). */
export function stableHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Route53 names are absolute; moto treats `a.b` and `a.b.` as two records, so always add the dot. */
export function fqdn(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

/** The prefix of a cluster's internal API record: `api.internal.<cluster>`. */
export const INTERNAL_API_PREFIX = 'api.internal.';
/** DNS's limit on a name, without the trailing dot. */
const DNS_NAME_LIMIT = 253;
/** The longest cluster name whose `api.internal.<cluster>` is still a DNS name: 240. */
export const CLUSTER_NAME_RECORD_LIMIT = DNS_NAME_LIMIT - INTERNAL_API_PREFIX.length;

/**
 * Why a (DNS-1123) cluster name cannot be a cluster's, by the records it writes: empty when it
 * can. A cluster C writes `api.C` and `api.internal.C`, and its sessions and stack role may
 * change exactly those two records. A name whose first label is `internal` would make `api.C`
 * the internal API record of the cluster named by the rest (`internal.b.example.com` writes
 * `api.internal.b.example.com`, cluster `b.example.com`'s), so it is refused; that is the only
 * way two clusters' records can meet. A name too long for `api.internal.C` is refused too.
 */
export function clusterNameRecordProblems(cluster: string): string[] {
  const problems: string[] = [];
  if (cluster.split('.')[0] === 'internal')
    problems.push(
      `its first label is "internal": its API record api.${cluster} would be the internal API record of cluster ${cluster.slice('internal.'.length)}`,
    );
  if (cluster.length > CLUSTER_NAME_RECORD_LIMIT)
    problems.push(
      `it has more than ${CLUSTER_NAME_RECORD_LIMIT} characters: its internal API record ${INTERNAL_API_PREFIX}<name> would be longer than the ${DNS_NAME_LIMIT} DNS allows`,
    );
  return problems;
}

/** kOps's placeholder address for API records not yet pointed at the control plane. */
export const PLACEHOLDER_IP = '203.0.113.123';

const LAMBDA_CHARS = /^[A-Za-z0-9_-]$/;
/** The kind in the names of a cluster's API function and its role: `kopsless-kubeapi-*` is what the shared functions may invoke. */
export const CLUSTER_API_KIND = 'kubeapi';

/**
 * The cluster's API function (`kopsless-kubeapi-<cluster>-<hash>`): the one function in the
 * cluster's VPC that dials its Kubernetes API; the shared functions invoke it by this name.
 */
export function clusterApiFunctionName(cluster: string): string {
  return composeName(
    CLUSTER_API_KIND,
    cluster,
    clusterHash(cluster),
    NAME_LIMITS.lambdaFunction,
    LAMBDA_CHARS,
  );
}

/**
 * The alias of a cluster's API function through which its etcd operations are served
 * (`function:<name>:etcd`). IAM tells an alias's ARN from the function's: only the rolling
 * update's actor role may invoke it.
 */
export const CLUSTER_API_ETCD_ALIAS = 'etcd';

/** The role of the cluster's API function (under the cluster-role path and boundary). */
export function clusterApiRoleName(cluster: string): string {
  return composeName(
    CLUSTER_API_KIND,
    cluster,
    clusterHash(cluster),
    NAME_LIMITS.iamRole,
    IAM_CHARS,
  );
}

/** The kind in the name of a cluster stack's CloudFormation role (src/planning/stack-role.ts). */
export const STACK_ROLE_KIND = 'stack';

/** The role CloudFormation makes, changes and deletes the cluster's stack under. */
export function stackRoleName(cluster: string): string {
  return composeName(
    STACK_ROLE_KIND,
    cluster,
    clusterHash(cluster),
    NAME_LIMITS.iamRole,
    IAM_CHARS,
  );
}
