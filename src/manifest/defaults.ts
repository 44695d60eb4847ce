import { formatNet, ipv4Net } from './cidr.js';
import type {
  CompletedCluster,
  CompletedInstanceGroup,
  CompletedInstanceGroupSpec,
  CompletedManifest,
} from './completed.js';
import {
  type ClusterManifest,
  type InstanceGroup,
  type InstanceGroupSpec,
  isControlPlaneRole,
} from './types.js';

/**
 * kOps's defaults, filled in the way `cluster-completed.spec` shows them. Pure and idempotent:
 * completing a completed manifest changes nothing.
 */

/** Ubuntu 24.04 LTS by Canonical's owner alias, as `kops create cluster` writes it. */
export const DEFAULT_IMAGE =
  '099720109477/ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610';

const DEFAULT_MACHINE_TYPE: Record<string, string> = {
  ControlPlane: 't3.medium',
  Node: 't3.medium',
  Bastion: 't3.micro',
};
const DEFAULT_ROOT_VOLUME_SIZE: Record<string, number> = {
  ControlPlane: 64,
  Node: 128,
  Bastion: 32,
};

function roleKey(role: string): 'ControlPlane' | 'Node' | 'Bastion' {
  if (isControlPlaneRole(role)) return 'ControlPlane';
  return role === 'Bastion' ? 'Bastion' : 'Node';
}

function completeInstanceGroup(
  ig: InstanceGroup,
  manifest: ClusterManifest,
): CompletedInstanceGroup {
  const spec: InstanceGroupSpec = structuredClone(ig.spec);
  const key = roleKey(spec.role);
  spec.machineType ??= DEFAULT_MACHINE_TYPE[key];
  spec.image ??= DEFAULT_IMAGE;
  spec.minSize ??= key === 'Node' ? 2 : 1;
  spec.maxSize ??= Math.max(spec.minSize, key === 'Node' ? 2 : 1);
  spec.rootVolumeSize ??=
    (spec.rootVolume as { size?: number } | undefined)?.size ?? DEFAULT_ROOT_VOLUME_SIZE[key];
  spec.rootVolumeType ??= (spec.rootVolume as { type?: string } | undefined)?.type ?? 'gp3';
  if (!spec.subnets || spec.subnets.length === 0) {
    // kOps places bastions in utility subnets and everything else where the workloads live.
    const wanted = key === 'Bastion' ? ['Utility', 'Public'] : ['Private', 'Public'];
    const subnets = manifest.cluster.spec.subnets ?? [];
    const type = wanted.find((t) => subnets.some((s) => s.type === t));
    spec.subnets = subnets.filter((s) => s.type === type).map((s) => s.name);
  }
  spec.nodeLabels = { 'kops.k8s.io/instancegroup': ig.metadata.name, ...(spec.nodeLabels ?? {}) };
  return {
    ...ig,
    metadata: {
      ...ig.metadata,
      labels: {
        ...(ig.metadata.labels ?? {}),
        'kops.k8s.io/cluster': manifest.cluster.metadata.name,
      },
    },
    // Every field CompletedInstanceGroupSpec requires was set above.
    spec: spec as CompletedInstanceGroupSpec,
  };
}

/**
 * Fills kOps defaults into a valid manifest: the one maker of a `CompletedManifest`. A manifest
 * read from the state store is completed by `ClusterStore.readCompletedManifest`.
 */
export function completeManifest(manifest: ClusterManifest): CompletedManifest {
  const cluster = structuredClone(manifest.cluster);
  const spec = cluster.spec;
  const name = cluster.metadata.name;
  spec.channel ??= 'stable';
  spec.masterPublicName ??= `api.${name}`;
  spec.masterInternalName ??= `api.internal.${name}`;
  // No dnsZone default here: kOps finds the zone among the account's (planning/dns.ts).
  spec.containerRuntime ??= 'containerd';
  spec.topology = { ...(spec.topology ?? {}), dns: { type: spec.topology?.dns?.type ?? 'Public' } };
  // With the VPC CNI pods take VPC addresses, so kOps sets the non-masquerade range to the VPC.
  const usesVpcCni = spec.networking?.amazonvpc !== undefined;
  spec.nonMasqueradeCIDR ??= usesVpcCni && spec.networkCIDR ? spec.networkCIDR : '100.64.0.0/10';
  if (!spec.serviceClusterIPRange) {
    const nonMasq = ipv4Net(spec.nonMasqueradeCIDR);
    // kOps carves the service range as the first /13 of a /10 non-masquerade range.
    spec.serviceClusterIPRange =
      nonMasq && nonMasq.prefix <= 13 && !usesVpcCni
        ? formatNet({ base: nonMasq.base, prefix: 13 })
        : '100.64.0.0/13';
  }
  spec.kubernetesApiAccess ??= ['0.0.0.0/0', '::/0'];
  spec.sshAccess ??= ['0.0.0.0/0', '::/0'];
  spec.kubelet = { anonymousAuth: false, ...(spec.kubelet ?? {}) };
  const instanceGroups = manifest.instanceGroups.map((ig) =>
    completeInstanceGroup(ig, { cluster, instanceGroups: manifest.instanceGroups }),
  );
  // Every field CompletedClusterSpec requires was set above; the brand is given here and nowhere else.
  return { cluster: cluster as CompletedCluster, instanceGroups } as CompletedManifest;
}
