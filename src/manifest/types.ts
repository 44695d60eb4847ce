/**
 * The subset of kOps's `kops.k8s.io/v1alpha2` API that kopsless reads. Fields kopsless does not
 * read are kept as they are (the index signatures), so a spec written back to the state store
 * loses nothing the user wrote.
 */

export const API_VERSION = 'kops.k8s.io/v1alpha2';

export interface ObjectMeta {
  name: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  [key: string]: unknown;
}

export type SubnetType = 'Public' | 'Private' | 'Utility' | 'DualStack';

export interface ClusterSubnetSpec {
  name: string;
  zone: string;
  cidr?: string;
  type: SubnetType;
  id?: string;
  egress?: string;
  [key: string]: unknown;
}

export interface EtcdMemberSpec {
  name: string;
  instanceGroup?: string;
  [key: string]: unknown;
}

export interface EtcdClusterSpec {
  name: string;
  etcdMembers: EtcdMemberSpec[];
  [key: string]: unknown;
}

export interface KubeletConfigSpec {
  maxPods?: number;
  [key: string]: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
}

export interface AmazonVpcNetworkingSpec {
  image?: string;
  env?: EnvVar[];
  [key: string]: unknown;
}

export interface NetworkingSpec {
  amazonvpc?: AmazonVpcNetworkingSpec;
  cni?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface RollingUpdate {
  maxSurge?: number | string;
  maxUnavailable?: number | string;
  drainAndTerminate?: boolean;
}

export interface ClusterSpec {
  channel?: string;
  cloudProvider?: string;
  configBase?: string;
  kubernetesVersion?: string;
  masterPublicName?: string;
  masterInternalName?: string;
  networkCIDR?: string;
  networkID?: string;
  additionalNetworkCIDRs?: string[];
  nonMasqueradeCIDR?: string;
  serviceClusterIPRange?: string;
  podCIDR?: string;
  containerRuntime?: string;
  dnsZone?: string;
  subnets?: ClusterSubnetSpec[];
  etcdClusters?: EtcdClusterSpec[];
  networking?: NetworkingSpec;
  kubelet?: KubeletConfigSpec;
  controlPlaneKubelet?: KubeletConfigSpec;
  masterKubelet?: KubeletConfigSpec;
  kubernetesApiAccess?: string[];
  sshAccess?: string[];
  /** CIDRs (or prefix lists) that reach the nodes' NodePort range, TCP and UDP. */
  nodePortAccess?: string[];
  sshKeyName?: string;
  topology?: { dns?: { type?: string }; [key: string]: unknown };
  api?: {
    dns?: Record<string, unknown>;
    loadBalancer?: Record<string, unknown>;
    [key: string]: unknown;
  };
  cloudLabels?: Record<string, string>;
  rollingUpdate?: RollingUpdate;
  [key: string]: unknown;
}

export interface Cluster {
  apiVersion: string;
  kind: 'Cluster';
  metadata: ObjectMeta;
  spec: ClusterSpec;
}

export type InstanceGroupRole = 'Master' | 'ControlPlane' | 'APIServer' | 'Node' | 'Bastion';

export interface InstanceGroupSpec {
  role: InstanceGroupRole;
  image?: string;
  machineType?: string;
  minSize?: number;
  maxSize?: number;
  subnets?: string[];
  zones?: string[];
  rootVolumeSize?: number;
  rootVolumeType?: string;
  associatePublicIp?: boolean;
  kubelet?: KubeletConfigSpec;
  nodeLabels?: Record<string, string>;
  cloudLabels?: Record<string, string>;
  taints?: string[];
  rollingUpdate?: RollingUpdate;
  [key: string]: unknown;
}

export interface InstanceGroup {
  apiVersion: string;
  kind: 'InstanceGroup';
  metadata: ObjectMeta;
  spec: InstanceGroupSpec;
}

/** One cluster as a user writes it: the Cluster document and its InstanceGroups. */
export interface ClusterManifest {
  cluster: Cluster;
  instanceGroups: InstanceGroup[];
}

/** True for the control-plane roles (kOps still accepts the legacy `Master`). */
export function isControlPlaneRole(role: string | undefined): boolean {
  return role === 'Master' || role === 'ControlPlane';
}
