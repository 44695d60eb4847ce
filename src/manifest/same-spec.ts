import type { ClusterManifest } from './types.js';
import { toManifestYaml } from './yaml.js';

/** The instance groups as kOps YAML, sorted by name (then text): every document counted. */
function groupDocuments(manifest: ClusterManifest): string[] {
  return manifest.instanceGroups
    .map((ig) => ({ name: ig.metadata.name, yaml: toManifestYaml(ig) }))
    .sort((x, y) =>
      x.name === y.name ? x.yaml.localeCompare(y.yaml) : x.name.localeCompare(y.name),
    )
    .map((g) => g.yaml);
}

/**
 * Whether two manifests hold the same spec: the same Cluster and the same instance groups,
 * compared as kOps YAML (keys sorted) in a list sorted by name, so the order of documents and
 * keys does not count but each document does: a group listed twice is not the same as a group
 * listed once and another left out.
 */
export function sameSpec(a: ClusterManifest, b: ClusterManifest): boolean {
  if (toManifestYaml(a.cluster) !== toManifestYaml(b.cluster)) return false;
  const groupsOfA = groupDocuments(a);
  const groupsOfB = groupDocuments(b);
  return groupsOfA.length === groupsOfB.length && groupsOfA.every((g, i) => g === groupsOfB[i]);
}
