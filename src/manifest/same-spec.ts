import type { ClusterManifest } from './types.js';
import { toManifestYaml } from './yaml.js';

/**
 * Whether two manifests hold the same spec: the same Cluster and the same instance groups by
 * name, compared as kOps YAML (keys sorted), so the order of documents and keys does not count.
 */
export function sameSpec(a: ClusterManifest, b: ClusterManifest): boolean {
  if (toManifestYaml(a.cluster) !== toManifestYaml(b.cluster)) return false;
  if (a.instanceGroups.length !== b.instanceGroups.length) return false;
  const groups = new Map(a.instanceGroups.map((ig) => [ig.metadata.name, toManifestYaml(ig)]));
  return b.instanceGroups.every((ig) => groups.get(ig.metadata.name) === toManifestYaml(ig));
}
