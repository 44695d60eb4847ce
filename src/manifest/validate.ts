import type { FieldIssue } from '../errors.js';
import { clusterNameRecordProblems, ownedTagKey } from '../planning/names.js';
import { dns1123SubdomainErrors } from './content.js';
import { field, index } from './field.js';
import { validateKopsClusterRules, validateKopsInstanceGroupRules } from './kops-rules.js';
import {
  isKubernetesBuildLocation,
  kubernetesVersionRangeIssues,
  parseKubernetesVersion,
} from './kubernetes-version.js';
import { asArray, isObject } from './shapes.js';
import {
  type ClusterManifest,
  type InstanceGroup,
  isControlPlaneRole,
  type RollingUpdate,
} from './types.js';
import {
  validateInstanceGroup,
  validateMaxPods,
  validateRollingUpdate,
} from './validate-instance-group.js';
import { TAG_KEY_LIMIT, validateCloudLabels } from './validate-labels.js';
import {
  validateAmazonVpcEnv,
  validateCidrField,
  validateNetworking,
  validateSubnets,
} from './validate-network.js';

/**
 * kOps's validation rules that decide whether a manifest is valid, worded as kOps words them.
 * Pure: no AWS calls (instance types are checked where the cloud is reached).
 */

const DNS_TYPES = ['Public', 'Private', 'None'] as const;

export { dns1123SubdomainErrors };

/**
 * A Route 53 hosted zone ID, which kOps accepts in place of the zone's name: upper-case letters
 * and digits (AWS's begin with Z, moto's need not), never a valid lower-case DNS name, so the two
 * readings of spec.dnsZone cannot collide.
 */
export const HOSTED_ZONE_ID = /^[0-9A-Z]{1,32}$/;

// kOps's tolerant parser: `1.34`, ` 1.34.0 ` and `v1.34.0` are all Kubernetes 1.34.0.
export { parseKubernetesVersion };

function validateClusterName(name: string): FieldIssue[] {
  if (!name)
    return [
      field.required(
        'metadata.name',
        'Cluster Name is required (e.g. --name=mycluster.myzone.com)',
      ),
    ];
  const errors = dns1123SubdomainErrors(name);
  if (errors.length > 0) {
    return [
      field.invalid(
        'metadata.name',
        name,
        `Cluster Name must be a valid DNS name (e.g. --name=mycluster.myzone.com) errors: ${errors.join(', ')}`,
      ),
    ];
  }
  if (!name.includes('.'))
    return [
      field.invalid(
        'metadata.name',
        name,
        'Cluster Name must be a fully-qualified DNS name (e.g. --name=mycluster.myzone.com)',
      ),
    ];
  const records = clusterNameRecordProblems(name);
  if (records.length > 0)
    return [
      field.invalid(
        'metadata.name',
        name,
        `Cluster Name "${name}" cannot be used: ${records.join('; ')}`,
      ),
    ];
  // AWS allows 128 characters in a tag key, and every resource carries kubernetes.io/cluster/<name>:
  // a longer name is a cluster that can never be created.
  if (ownedTagKey(name).length > TAG_KEY_LIMIT) {
    return [
      field.tooLong(
        'metadata.name',
        TAG_KEY_LIMIT - ownedTagKey('').length,
        `the tag key ${ownedTagKey('<name>')} is limited to ${TAG_KEY_LIMIT} characters by AWS`,
      ),
    ];
  }
  return [];
}

function validateEtcd(
  spec: Record<string, unknown>,
  groups: Map<string, InstanceGroup>,
): FieldIssue[] {
  const clusters = asArray(spec.etcdClusters);
  if (clusters.length === 0) return [field.required('spec.etcdClusters')];
  const issues: FieldIssue[] = [];
  clusters.forEach((raw, i) => {
    const path = index('spec.etcdClusters', i);
    if (!isObject(raw)) {
      issues.push(field.invalid(path, raw, 'must be a mapping with name and etcdMembers'));
      return;
    }
    if (!raw.name) issues.push(field.required(`${path}.name`, 'etcdCluster did not have name'));
    const members = asArray(raw.etcdMembers);
    if (members.length === 0)
      issues.push(field.required(`${path}.etcdMembers`, 'No members defined in etcd cluster'));
    else if (members.length % 2 === 0) {
      issues.push(
        field.invalid(
          `${path}.etcdMembers`,
          members.length,
          'Should be an odd number of control-plane-zones for quorum. Use --zones and --control-plane-zones to declare node zones and control-plane zones separately',
        ),
      );
    }
    const memberNames = new Set<string>();
    members.forEach((member, j) => {
      const memberPath = index(`${path}.etcdMembers`, j);
      const m = isObject(member) ? member : {};
      if (!m.name)
        issues.push(field.required(`${memberPath}.name`, 'etcdMember did not have name'));
      else if (memberNames.has(String(m.name)))
        issues.push(field.duplicate(`${memberPath}.name`, m.name));
      memberNames.add(String(m.name ?? ''));
      if (!m.instanceGroup)
        issues.push(
          field.required(`${memberPath}.instanceGroup`, 'etcdMember did not have instanceGroup'),
        );
      else {
        const ig = groups.get(String(m.instanceGroup));
        if (!ig) issues.push(field.notFound(`${memberPath}.instanceGroup`, m.instanceGroup));
        else if (!isControlPlaneRole(ig.spec.role)) {
          issues.push(
            field.forbidden(
              `${memberPath}.instanceGroup`,
              `InstanceGroup "${String(m.instanceGroup)}" must have role ControlPlane to hold an etcd member`,
            ),
          );
        }
      }
    });
  });
  return issues;
}

/** A DNS name that is rendered into the boot script and the certificates: Kubernetes's subdomain rule. */
function validateDnsName(value: unknown, path: string, { trailingDot = false } = {}): FieldIssue[] {
  if (value === undefined) return [];
  if (typeof value !== 'string' || value === '')
    return [field.invalid(path, value, 'must be a DNS name (e.g. api.mycluster.example.com)')];
  const errors = dns1123SubdomainErrors(
    trailingDot && value.endsWith('.') ? value.slice(0, -1) : value,
  );
  return errors.length > 0 ? [field.invalid(path, value, errors.join(', '))] : [];
}

/**
 * Validates a parsed manifest. Returns every error found (kOps reports them all at once), in
 * document order: cluster fields first, then each instance group.
 */
export function validateManifest(manifest: ClusterManifest): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const { cluster, instanceGroups } = manifest;
  const spec = cluster.spec as Record<string, unknown>;
  issues.push(...validateClusterName(cluster.metadata.name));

  if (spec.kubernetesVersion === undefined || spec.kubernetesVersion === '') {
    issues.push(field.required('spec.kubernetesVersion'));
  } else if (typeof spec.kubernetesVersion !== 'string') {
    // kOps's decoder refuses a number for this string field too (YAML reads 1.34 as a number).
    issues.push(
      field.invalid(
        'spec.kubernetesVersion',
        spec.kubernetesVersion,
        'unable to parse kubernetes version: it must be a string; write the version in quotes ("1.34.0")',
      ),
    );
  } else if (
    !parseKubernetesVersion(spec.kubernetesVersion) &&
    !isKubernetesBuildLocation(spec.kubernetesVersion)
  ) {
    issues.push(
      field.invalid(
        'spec.kubernetesVersion',
        spec.kubernetesVersion,
        'unable to parse kubernetes version',
      ),
    );
  } else {
    issues.push(...kubernetesVersionRangeIssues(spec.kubernetesVersion));
  }
  if (!spec.cloudProvider) issues.push(field.required('spec.cloudProvider'));
  if (spec.networkCIDR === undefined || spec.networkCIDR === '') {
    if (!spec.networkID)
      issues.push(
        field.required('spec.networkCIDR', 'networkCIDR must be set (e.g. 172.20.0.0/16)'),
      );
  } else issues.push(...validateCidrField(spec.networkCIDR, 'spec.networkCIDR'));
  asArray(spec.additionalNetworkCIDRs).forEach((c, i) =>
    issues.push(...validateCidrField(c, index('spec.additionalNetworkCIDRs', i))),
  );
  for (const key of ['nonMasqueradeCIDR', 'serviceClusterIPRange', 'podCIDR'] as const) {
    if (spec[key] !== undefined) issues.push(...validateCidrField(spec[key], `spec.${key}`));
  }
  asArray(spec.sshAccess).forEach((c, i) =>
    issues.push(...validateCidrField(c, index('spec.sshAccess', i), { allowPrefixList: true })),
  );
  asArray(spec.kubernetesApiAccess).forEach((c, i) =>
    issues.push(
      ...validateCidrField(c, index('spec.kubernetesApiAccess', i), { allowPrefixList: true }),
    ),
  );
  asArray(spec.nodePortAccess).forEach((c, i) =>
    issues.push(
      ...validateCidrField(c, index('spec.nodePortAccess', i), { allowPrefixList: true }),
    ),
  );

  issues.push(...validateSubnets(spec));
  issues.push(...validateNetworking(spec));
  const topology = isObject(spec.topology) ? spec.topology : undefined;
  const dns = topology && isObject(topology.dns) ? topology.dns : undefined;
  if (dns?.type !== undefined && !DNS_TYPES.includes(dns.type as (typeof DNS_TYPES)[number])) {
    issues.push(field.notSupported('spec.topology.dns.type', dns.type, DNS_TYPES));
  }
  if (spec.rollingUpdate !== undefined) {
    if (isObject(spec.rollingUpdate))
      issues.push(
        ...validateRollingUpdate(spec.rollingUpdate as RollingUpdate, 'spec.rollingUpdate', false),
      );
    else issues.push(field.invalid('spec.rollingUpdate', spec.rollingUpdate, 'must be a mapping'));
  }
  for (const key of ['kubelet', 'controlPlaneKubelet', 'masterKubelet'] as const)
    issues.push(...validateMaxPods(spec[key], `spec.${key}`));
  issues.push(...validateDnsName(spec.masterPublicName, 'spec.masterPublicName'));
  issues.push(...validateDnsName(spec.masterInternalName, 'spec.masterInternalName'));
  // A Route 53 zone ID is valid, as for kOps: the zone is then found by its ID.
  if (!(typeof spec.dnsZone === 'string' && HOSTED_ZONE_ID.test(spec.dnsZone)))
    issues.push(...validateDnsName(spec.dnsZone, 'spec.dnsZone', { trailingDot: true }));
  issues.push(...validateAmazonVpcEnv(spec.networking));
  issues.push(...validateCloudLabels(spec.cloudLabels, 'spec.cloudLabels'));
  issues.push(...validateKopsClusterRules(manifest));

  const groups = new Map<string, InstanceGroup>();
  instanceGroups.forEach((ig, i) => {
    if (groups.has(ig.metadata.name))
      issues.push(field.duplicate(`instanceGroups[${i}].metadata.name`, ig.metadata.name));
    groups.set(ig.metadata.name, ig);
  });
  issues.push(...validateEtcd(spec, groups));
  if (!instanceGroups.some((ig) => isControlPlaneRole(ig.spec.role))) {
    issues.push(
      field.required(
        'instanceGroups',
        'must have at least one InstanceGroup with role ControlPlane (or Master)',
      ),
    );
  }
  if (!instanceGroups.some((ig) => ig.spec.role === 'Node')) {
    issues.push(
      field.required('instanceGroups', 'must have at least one InstanceGroup with role Node'),
    );
  }
  const subnetNames = new Set(
    asArray(spec.subnets).map((s) => (isObject(s) ? String(s.name ?? '') : '')),
  );
  for (const ig of instanceGroups)
    issues.push(
      ...validateInstanceGroup(ig, manifest, subnetNames),
      ...validateKopsInstanceGroupRules(ig, manifest),
    );
  return issues;
}
