import { ResourceOwnedError } from '../errors.js';
import { CLUSTER_TAG } from './names.js';

/**
 * Ownership before every mutation: a resource belongs to the cluster its `KubernetesCluster` tag
 * names, never to the one its name suggests. Create refuses what another cluster owns; update,
 * roll, watcher and delete touch only what the cluster owns.
 */

type TagList = ReadonlyArray<{ Key?: string | undefined; Value?: string | undefined }>;
export type Tags = Readonly<Record<string, string>> | TagList | undefined;

/** The cluster a resource is tagged for, if any. */
export function ownerOf(tags: Tags): string | undefined {
  if (!tags) return undefined;
  if (Array.isArray(tags)) return (tags as TagList).find((t) => t.Key === CLUSTER_TAG)?.Value;
  return (tags as Record<string, string>)[CLUSTER_TAG];
}

/** True when the resource is tagged for exactly this cluster. */
export function isOwnedBy(tags: Tags, cluster: string): boolean {
  return ownerOf(tags) === cluster;
}

/**
 * Throws unless the resource is tagged for this cluster. `resource` names it for the message,
 * e.g. `Auto Scaling group kopsless-nodes.a.example.com-0123456789abcdef`.
 */
export function requireOwned(resource: string, tags: Tags, cluster: string): void {
  const owner = ownerOf(tags);
  if (owner === cluster) return;
  if (owner !== undefined) {
    throw new ResourceOwnedError(
      `${resource} is owned by cluster ${owner}, not ${cluster}: kopsless changes only resources tagged ${CLUSTER_TAG}=${cluster}`,
    );
  }
  throw new ResourceOwnedError(
    `${resource} exists but is not tagged ${CLUSTER_TAG}=${cluster}: kopsless leaves resources it does not own alone`,
  );
}
