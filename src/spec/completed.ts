import type { Cluster, ClusterManifest, ClusterSpec, InstanceGroup, InstanceGroupSpec, ObjectMeta } from './types.js';

/**
 * The manifest with kOps's defaults filled in (what `cluster-completed.spec` shows), as its own
 * type: the fields `completeManifest` always sets are required here, so the stages and renderers
 * that take it read them as they are instead of defaulting them again. Only `completeManifest`
 * (src/spec/defaults.ts) makes one; a manifest as the user wrote it is a `ClusterManifest`, which
 * does not type-check where a completed one is wanted.
 */

declare const COMPLETED: unique symbol;

/** A Cluster spec with the fields `completeManifest` sets. */
export type CompletedClusterSpec = ClusterSpec &
  Required<Pick<ClusterSpec, 'channel' | 'masterPublicName' | 'masterInternalName' | 'dnsZone' | 'containerRuntime' | 'nonMasqueradeCIDR' | 'serviceClusterIPRange' | 'kubernetesApiAccess' | 'sshAccess' | 'kubelet'>> & {
    topology: NonNullable<ClusterSpec['topology']> & { dns: { type: string } };
  };

/** An InstanceGroup spec with the fields `completeManifest` sets. */
export type CompletedInstanceGroupSpec = InstanceGroupSpec &
  Required<Pick<InstanceGroupSpec, 'machineType' | 'image' | 'minSize' | 'maxSize' | 'rootVolumeSize' | 'rootVolumeType' | 'subnets' | 'nodeLabels'>>;

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
