import type {
  Cluster,
  ClusterManifest,
  ClusterSpec,
  InstanceGroup,
  InstanceGroupSpec,
  ObjectMeta,
} from './types.js';

/**
 * The manifest with kOps's defaults filled in (what `cluster-completed.spec` shows), as its own
 * type: the fields `completeManifest` always sets are required here, so the stages and renderers
 * that take it read them as they are instead of defaulting them again. Only `completeManifest`
 * (src/spec/defaults.ts) makes one; a manifest as the user wrote it is a `ClusterManifest`, which
 * does not type-check where a completed one is wanted.
 */

declare const COMPLETED: unique symbol;

/** The Cluster spec fields `completeManifest` always sets (a test holds it to this list). */
export const COMPLETED_CLUSTER_FIELDS = [
  'channel',
  'masterPublicName',
  'masterInternalName',
  'containerRuntime',
  'topology',
  'nonMasqueradeCIDR',
  'serviceClusterIPRange',
  'kubernetesApiAccess',
  'sshAccess',
  'kubelet',
] as const;

/** The InstanceGroup spec fields `completeManifest` always sets. */
export const COMPLETED_INSTANCE_GROUP_FIELDS = [
  'machineType',
  'image',
  'minSize',
  'maxSize',
  'rootVolumeSize',
  'rootVolumeType',
  'subnets',
  'nodeLabels',
] as const;

/** A Cluster spec with the fields `completeManifest` sets (the DNS topology's type among them). */
export type CompletedClusterSpec = ClusterSpec &
  Required<Pick<ClusterSpec, (typeof COMPLETED_CLUSTER_FIELDS)[number]>> & {
    topology: NonNullable<ClusterSpec['topology']> & { dns: { type: string } };
  };

/** An InstanceGroup spec with the fields `completeManifest` sets. */
export type CompletedInstanceGroupSpec = InstanceGroupSpec &
  Required<Pick<InstanceGroupSpec, (typeof COMPLETED_INSTANCE_GROUP_FIELDS)[number]>>;

/** A Cluster with its defaults filled in. */
export interface CompletedCluster extends Cluster {
  spec: CompletedClusterSpec;
}

/** An InstanceGroup with its defaults filled in (and the `kops.k8s.io/cluster` label). */
export interface CompletedInstanceGroup extends InstanceGroup {
  metadata: ObjectMeta & { labels: Record<string, string> };
  spec: CompletedInstanceGroupSpec;
}

/** One cluster with kOps's defaults filled in; made only by `completeManifest`. */
export interface CompletedManifest extends ClusterManifest {
  readonly [COMPLETED]: true;
  cluster: CompletedCluster;
  instanceGroups: CompletedInstanceGroup[];
}
