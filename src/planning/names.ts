import { createHash } from 'node:crypto';

/** Names and tags of the AWS resources of a cluster; kOps's where kOps has them. */

/** The tag kOps and the AWS cloud provider find a cluster's resources by. */
export const CLUSTER_TAG = 'KubernetesCluster';
export const INSTANCE_GROUP_TAG = 'kops.k8s.io/instancegroup';
/** Set on instances (through the launch template) and on their group: the group's spec hash. */
export const SPEC_HASH_TAG = 'kopsless.io/spec-hash';

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

/** CloudFormation stack names allow letters, digits and dashes only. */
export function stackName(cluster: string): string {
  return `kopsless-${cluster.replace(/[^A-Za-z0-9-]/g, '-')}`;
}

/** kOps names an instance group's Auto Scaling group and launch template `<ig>.<cluster>`. */
export function groupName(instanceGroup: string, cluster: string): string {
  return `${instanceGroup}.${cluster}`;
}

/** A CloudFormation logical ID from free text: PascalCase of its alphanumeric runs. */
export function logicalId(prefix: string, name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return prefix + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
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

/** kOps's placeholder address for API records not yet pointed at the control plane. */
export const PLACEHOLDER_IP = '203.0.113.123';
