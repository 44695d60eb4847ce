import type { FieldIssue } from '../errors.js';
import { formatIpNet, type IpNet, ipNet, netsOverlap } from './cidr.js';
import { field, index } from './field.js';
import { igPath } from './parse.js';
import { asArray, isObject, stringOf } from './shapes.js';
import type { ClusterManifest, InstanceGroup } from './types.js';

/**
 * More of kOps's own validation rules (`pkg/apis/kops/validation`), each with kOps's wording, for
 * settings whose rules kopsless had not checked. A manifest these refuse is one kOps refuses too,
 * so they are errors (exit 1) even where kopsless would not build the setting anyway. Paths are
 * those of the v1alpha2 manifest the user wrote (`spec.podCIDR`, not kOps's internal
 * `spec.networking.podCIDR`). Pure.
 */

/** kOps's `IsValidValue`: a set value must be one of these (an unset one is not checked). */
function oneOf(value: unknown, path: string, valid: readonly string[]): FieldIssue[] {
  if (value === undefined) return [];
  return typeof value === 'string' && valid.includes(value)
    ? []
    : [field.notSupported(path, value, valid)];
}

function sysctlParameters(value: unknown, path: string): FieldIssue[] {
  return asArray(value).flatMap((parameter, i) =>
    typeof parameter === 'string' && parameter.includes('=')
      ? []
      : [field.invalid(index(path, i), parameter, 'must contain a "=" character')],
  );
}

const UPDATE_POLICIES = ['Automatic', 'External'];
const DOCKER_REMOVED =
  'Docker CRI support was removed in Kubernetes 1.24: https://kubernetes.io/blog/2020/12/02/dockershim-faq';
const GOSSIP_REMOVED = 'gossip DNS support was removed in kOps 1.37';

function isIPv6Only(spec: Record<string, unknown>): boolean {
  return typeof spec.nonMasqueradeCIDR === 'string' && spec.nonMasqueradeCIDR.includes(':');
}

function dnsType(spec: Record<string, unknown>): string | undefined {
  const topology = isObject(spec.topology) ? spec.topology : {};
  const dns = isObject(topology.dns) ? topology.dns : {};
  return typeof dns.type === 'string' ? dns.type : undefined;
}

/** kOps's rules on the cluster's address ranges: the non-masquerade range and the pod range. */
function networkRanges(spec: Record<string, unknown>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const nonMasquerade = stringOf(spec.nonMasqueradeCIDR);
  if (nonMasquerade === undefined) return issues;
  if (nonMasquerade.includes(':') && nonMasquerade !== '::/0') {
    issues.push(
      field.forbidden(
        'spec.nonMasqueradeCIDR',
        'IPv6 clusters must have a nonMasqueradeCIDR of "::/0"',
      ),
    );
  }
  const nonMasqueradeNet = ipNet(nonMasquerade);
  if (!nonMasqueradeNet) return issues;
  const networking = isObject(spec.networking) ? spec.networking : {};
  const cilium = isObject(networking.cilium) ? networking.cilium : {};
  // Pods on VPC addresses (the VPC CNI, Cilium's ENI mode) share the VPC's range by design.
  const podsInVpc = networking.amazonvpc !== undefined || cilium.ipam === 'eni';
  if (!podsInVpc) {
    const network = ipNet(stringOf(spec.networkCIDR));
    if (network && netsOverlap(nonMasqueradeNet, network)) {
      issues.push(
        field.forbidden(
          'spec.nonMasqueradeCIDR',
          `nonMasqueradeCIDR ${JSON.stringify(nonMasquerade)} cannot overlap with networkCIDR ${JSON.stringify(String(spec.networkCIDR))}`,
        ),
      );
    }
    asArray(spec.additionalNetworkCIDRs).forEach((extra, i) => {
      const net = ipNet(stringOf(extra));
      if (net && netsOverlap(nonMasqueradeNet, net)) {
        issues.push(
          field.forbidden(
            'spec.nonMasqueradeCIDR',
            `nonMasqueradeCIDR ${JSON.stringify(nonMasquerade)} cannot overlap with additionalNetworkCIDRs[${i}] ${JSON.stringify(formatIpNet(net))}`,
          ),
        );
      }
    });
  }
  const pod = ipNet(stringOf(spec.podCIDR));
  if (pod && !within(nonMasqueradeNet, pod)) {
    issues.push(
      field.forbidden(
        'spec.podCIDR',
        `podCIDR ${JSON.stringify(formatIpNet(pod))} must be a subnet of nonMasqueradeCIDR ${JSON.stringify(formatIpNet(nonMasqueradeNet))}`,
      ),
    );
  }
  return issues;
}

function within(outer: IpNet, inner: IpNet): boolean {
  return outer.family === inner.family && inner.prefix >= outer.prefix && netsOverlap(outer, inner);
}

/** Networking options kOps has removed, and those that cannot run an IPv6 cluster. */
function networkingOptions(spec: Record<string, unknown>): FieldIssue[] {
  const networking = isObject(spec.networking) ? spec.networking : undefined;
  if (!networking) return [];
  const issues: FieldIssue[] = [];
  const removed: Record<string, string> = {
    weave: 'Weave is no longer supported',
    canal: 'Canal is not supported for Kubernetes >= 1.28',
    lyftvpc: 'support for LyftVPC has been removed',
    external: 'external is not supported for Kubernetes >= 1.26',
  };
  for (const [option, detail] of Object.entries(removed)) {
    if (option in networking) issues.push(field.forbidden(`spec.networking.${option}`, detail));
  }
  if (isIPv6Only(spec)) {
    const noIPv6: Record<string, string> = {
      kubenet: 'Kubenet does not support IPv6',
      kopeio: 'Kopeio does not support IPv6',
      flannel: 'Flannel does not support IPv6',
      kuberouter: 'kube-router does not support IPv6',
      amazonvpc: 'amazon-vpc-routed-eni networking does not support IPv6',
    };
    for (const [option, detail] of Object.entries(noIPv6)) {
      if (option in networking) issues.push(field.forbidden(`spec.networking.${option}`, detail));
    }
  }
  return issues;
}

/** kOps's etcd rules beyond members: known cluster names, the Manager provider, etcd 3, one version. */
function etcdClusters(spec: Record<string, unknown>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const clusters = asArray(spec.etcdClusters).filter(isObject);
  const names = new Set<string>();
  clusters.forEach((etcd, i) => {
    const path = index('spec.etcdClusters', i);
    if (etcd.name !== undefined && etcd.name !== '')
      issues.push(...oneOf(etcd.name, `${path}.name`, ['cilium', 'main', 'events', 'leases']));
    if (etcd.provider !== undefined && etcd.provider !== '')
      issues.push(...oneOf(etcd.provider, `${path}.provider`, ['Manager']));
    if (stringOf(etcd.image) && !stringOf(etcd.version))
      issues.push(field.required(`${path}.version`, 'version must be set when image is set'));
    const version = stringOf(etcd.version);
    if (version !== undefined) {
      const match = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]*)?$/.exec(version);
      if (!match)
        issues.push(field.invalid(`${path}.version`, version, 'the storage version is invalid'));
      else if (match[1] !== '3')
        issues.push(
          field.invalid(
            `${path}.version`,
            version,
            'unsupported storage version, we only support major version 3',
          ),
        );
    }
    // kOps keys each cluster's backups by its name, and words a repeated name so.
    if (typeof etcd.name === 'string' && names.has(etcd.name)) {
      issues.push(
        field.forbidden(
          'spec.etcdClusters[0].backupStore',
          'the backup store must be unique for each etcd cluster',
        ),
      );
    }
    names.add(String(etcd.name ?? ''));
  });
  const first = clusters[0]?.version;
  clusters.forEach((etcd, i) => {
    if (stringOf(etcd.version) && etcd.version !== first) {
      issues.push(
        field.forbidden(
          `${index('spec.etcdClusters', i)}.version`,
          `cluster: ${JSON.stringify(String(etcd.name ?? ''))}, has a different storage version: ${JSON.stringify(etcd.version)}, both must be the same`,
        ),
      );
    }
  });
  return issues;
}

/** Cluster-wide kOps rules kopsless had not checked. */
export function validateKopsClusterRules(manifest: ClusterManifest): FieldIssue[] {
  const spec = manifest.cluster.spec as Record<string, unknown>;
  const name = manifest.cluster.metadata.name;
  const issues: FieldIssue[] = [];
  for (const key of ['gossipConfig', 'dnsControllerGossipConfig']) {
    if (spec[key] !== undefined)
      issues.push(
        field.forbidden(
          `spec.${key}`,
          `${GOSSIP_REMOVED}; remove this field from the cluster spec`,
        ),
      );
  }
  if (dnsType(spec) !== 'None' && name.replace(/\.$/, '').endsWith('.k8s.local')) {
    issues.push(
      field.forbidden(
        'spec.topology.dns.type',
        `${GOSSIP_REMOVED}; migrate the cluster to dns=none or a hosted DNS zone using kOps 1.36 before upgrading (see https://kops.sigs.k8s.io/gossip/)`,
      ),
    );
  }
  issues.push(...oneOf(spec.updatePolicy, 'spec.updatePolicy', UPDATE_POLICIES));
  if (spec.nodeAuthorization !== undefined) {
    issues.push(
      field.forbidden(
        'spec.nodeAuthorization',
        'NodeAuthorization must be empty. The functionality has been reimplemented and is enabled on kubernetes >= 1.19.0.',
      ),
    );
  }
  issues.push(...sysctlParameters(spec.sysctlParameters, 'spec.sysctlParameters'));
  if (spec.containerRuntime !== undefined && spec.containerRuntime !== '') {
    issues.push(...oneOf(spec.containerRuntime, 'spec.containerRuntime', ['containerd', 'docker']));
    if (spec.containerRuntime === 'docker')
      issues.push(field.forbidden('spec.containerRuntime', DOCKER_REMOVED));
  }
  if (spec.docker !== undefined) issues.push(field.forbidden('spec.docker', DOCKER_REMOVED));
  const iam = isObject(spec.iam) ? spec.iam : {};
  if (iam.legacy === true)
    issues.push(
      field.forbidden('spec.iam.legacy', 'legacy IAM permissions are no longer supported'),
    );
  const api = isObject(spec.api) ? spec.api : {};
  const loadBalancer = isObject(api.loadBalancer) ? api.loadBalancer : undefined;
  if (loadBalancer) {
    if (loadBalancer.class === 'Classic') {
      issues.push(
        field.forbidden(
          'spec.api.loadBalancer.class',
          'AWS Classic Load Balancer for API is no longer supported; migrate to a Network Load Balancer using kOps 1.36 or earlier. See https://github.com/kubernetes/kops/blob/master/permalinks/acm_nlb.md',
        ),
      );
    } else if (loadBalancer.class !== undefined && loadBalancer.class !== '')
      issues.push(...oneOf(loadBalancer.class, 'spec.api.loadBalancer.class', ['Network']));
    if (
      loadBalancer.type === 'Internal' &&
      !asArray(spec.subnets).some((s) => isObject(s) && s.type === 'Private')
    ) {
      issues.push(
        field.forbidden(
          'spec.api.loadBalancer.type',
          'Internal LoadBalancers must have at least one subnet of type Private',
        ),
      );
    }
  }
  issues.push(...networkRanges(spec));
  issues.push(...networkingOptions(spec));
  issues.push(...etcdClusters(spec));
  return issues;
}

const TENANCIES = ['default', 'dedicated', 'host'];
const ROOT_VOLUME_TYPES = ['standard', 'gp3', 'gp2', 'io1', 'io2'];
const USER_DATA_TYPES = [
  'text/x-include-once-url',
  'text/x-include-url',
  'text/cloud-config-archive',
  'text/upstart-job',
  'text/cloud-config',
  'text/part-handler',
  'text/x-shellscript',
  'text/cloud-boothook',
];

function warmPoolSizes(warmPool: unknown, path: string): FieldIssue[] {
  if (!isObject(warmPool)) return [];
  const issues: FieldIssue[] = [];
  const minSize = typeof warmPool.minSize === 'number' ? warmPool.minSize : 0;
  if (typeof warmPool.maxSize === 'number') {
    if (warmPool.maxSize < 0)
      issues.push(
        field.invalid(`${path}.maxSize`, warmPool.maxSize, 'warm pool maxSize cannot be negative'),
      );
    else if (minSize > warmPool.maxSize)
      issues.push(
        field.invalid(
          `${path}.maxSize`,
          warmPool.maxSize,
          'warm pool maxSize cannot be set to lower than minSize',
        ),
      );
  }
  if (minSize < 0)
    issues.push(field.invalid(`${path}.minSize`, minSize, 'warm pool minSize cannot be negative'));
  return issues;
}

/** Instance-group kOps rules kopsless had not checked. */
export function validateKopsInstanceGroupRules(
  ig: InstanceGroup,
  manifest: ClusterManifest,
): FieldIssue[] {
  const spec = ig.spec as unknown as Record<string, unknown>;
  const p = (rest: string) => igPath(ig.metadata.name || '?', rest);
  const issues: FieldIssue[] = [];
  issues.push(...oneOf(spec.tenancy, p('spec.tenancy'), TENANCIES));
  issues.push(...oneOf(spec.updatePolicy, p('spec.updatePolicy'), UPDATE_POLICIES));
  issues.push(...sysctlParameters(spec.sysctlParameters, p('spec.sysctlParameters')));
  const rootVolume = isObject(spec.rootVolume) ? spec.rootVolume : {};
  if (typeof rootVolume.iops === 'number' && rootVolume.iops < 0)
    issues.push(
      field.invalid(p('spec.rootVolume.iops'), rootVolume.iops, 'IOPS must be greater than 0'),
    );
  if (typeof rootVolume.throughput === 'number' && rootVolume.throughput < 0) {
    issues.push(
      field.invalid(
        p('spec.rootVolume.throughput'),
        rootVolume.throughput,
        'Throughput must be greater than 0',
      ),
    );
  }
  if (manifest.cluster.spec.cloudProvider === 'aws') {
    issues.push(...oneOf(rootVolume.type, p('spec.rootVolume.type'), ROOT_VOLUME_TYPES));
    issues.push(...oneOf(spec.rootVolumeType, p('spec.rootVolumeType'), ROOT_VOLUME_TYPES));
  }
  if (
    spec.role === 'APIServer' &&
    dnsType(manifest.cluster.spec as Record<string, unknown>) === 'None'
  ) {
    issues.push(
      field.forbidden(p('spec.role'), 'APIServer cannot be used with topology.dns.type=None'),
    );
  }
  const iam = isObject(spec.iam) ? spec.iam : {};
  if (
    iam.profile !== undefined &&
    !(
      typeof iam.profile === 'string' &&
      /^arn:[^:]*:[^:]*:[^:]*:[^:]*:instance-profile\//.test(iam.profile)
    )
  ) {
    issues.push(
      field.invalid(
        p('spec.iam.profile'),
        iam.profile,
        'Instance Group IAM Instance Profile must be a valid aws arn such as arn:aws:iam::123456789012:instance-profile/KopsExampleRole',
      ),
    );
  }
  asArray(spec.additionalUserData).forEach((raw) => {
    const userData = isObject(raw) ? raw : {};
    // kOps names these fields without the list index; so do we, under the instance group.
    if (!stringOf(userData.name))
      issues.push(field.required(p('additionalUserData.name'), 'field must be set'));
    if (!stringOf(userData.content))
      issues.push(field.required(p('additionalUserData.content'), 'field must be set'));
    if (!USER_DATA_TYPES.includes(String(userData.type ?? '')))
      issues.push(
        field.notSupported(p('additionalUserData.type'), userData.type ?? '', USER_DATA_TYPES),
      );
  });
  issues.push(...warmPoolSizes(spec.warmPool, p('spec.warmPool')));
  return issues;
}
