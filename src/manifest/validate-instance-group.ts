import type { FieldIssue } from '../errors.js';
import { validateMixedInstancesPolicy } from '../planning/mixed-instances.js';
import { dns1123SubdomainErrors } from './content.js';
import { field, index } from './field.js';
import { intOrPercent } from './int-or-percent.js';
import { igPath } from './parse.js';
import { asArray, isObject } from './shapes.js';
import {
  type ClusterManifest,
  type InstanceGroup,
  isControlPlaneRole,
  type RollingUpdate,
} from './types.js';
import { validateCloudLabels, validateNodeLabels, validateTaints } from './validate-labels.js';

/** kOps's rules for an instance group: role, sizes, subnets, machine type, rolling update, kubelet, labels and taints. */

const ROLES = ['ControlPlane', 'APIServer', 'Node', 'Bastion'] as const;

/** kOps's `validateRollingUpdate`: no surge on the control plane, not both zero, no negatives. */
export function validateRollingUpdate(
  rollingUpdate: RollingUpdate,
  path: string,
  onControlPlane: boolean,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  let unavailable = 1;
  if (rollingUpdate.maxUnavailable !== undefined) {
    const parsed = intOrPercent(rollingUpdate.maxUnavailable, 1, false);
    if (parsed instanceof Error)
      issues.push(
        field.invalid(
          `${path}.maxUnavailable`,
          rollingUpdate.maxUnavailable,
          `Unable to parse: ${parsed.message}`,
        ),
      );
    else {
      unavailable = parsed;
      if (unavailable < 0)
        issues.push(
          field.invalid(
            `${path}.maxUnavailable`,
            rollingUpdate.maxUnavailable,
            'Cannot be negative',
          ),
        );
    }
  }
  if (rollingUpdate.maxSurge !== undefined) {
    const parsed = intOrPercent(rollingUpdate.maxSurge, 1000, true);
    if (parsed instanceof Error) {
      issues.push(
        field.invalid(
          `${path}.maxSurge`,
          rollingUpdate.maxSurge,
          `Unable to parse: ${parsed.message}`,
        ),
      );
    } else {
      if (onControlPlane && parsed !== 0)
        issues.push(
          field.forbidden(
            `${path}.maxSurge`,
            'Cannot surge instance groups with role "ControlPlane"',
          ),
        );
      else if (parsed < 0)
        issues.push(
          field.invalid(`${path}.maxSurge`, rollingUpdate.maxSurge, 'Cannot be negative'),
        );
      if (unavailable === 0 && parsed === 0)
        issues.push(
          field.forbidden(`${path}.maxSurge`, 'Cannot be zero if maxUnavailable is zero'),
        );
    }
  }
  return issues;
}

/** A kubelet's `maxPods`, when set: a whole number above zero. */
export function validateMaxPods(kubelet: unknown, path: string): FieldIssue[] {
  if (!isObject(kubelet) || kubelet.maxPods === undefined) return [];
  if (Number.isInteger(kubelet.maxPods) && (kubelet.maxPods as number) > 0) return [];
  return [
    field.invalid(`${path}.maxPods`, kubelet.maxPods, 'must be a whole number greater than zero'),
  ];
}

/** Every kOps rule on one instance group, with its fields reported under `instanceGroups[<name>]`. */
export function validateInstanceGroup(
  ig: InstanceGroup,
  manifest: ClusterManifest,
  subnetNames: Set<string>,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const name = ig.metadata.name;
  const p = (rest: string) => igPath(name || '?', rest);
  if (!name) issues.push(field.required(p('metadata.name')));
  else
    dns1123SubdomainErrors(name).forEach((e) =>
      issues.push(field.invalid(p('metadata.name'), name, e)),
    );
  const spec = ig.spec as unknown as Record<string, unknown>;
  const role = spec.role;
  const controlPlane = isControlPlaneRole(typeof role === 'string' ? role : undefined);
  const subnets = asArray(spec.subnets);
  if (role === undefined || role === '')
    issues.push(field.required(p('spec.role'), 'Role must be set'));
  else if (!controlPlane && !ROLES.includes(role as (typeof ROLES)[number]))
    issues.push(field.notSupported(p('spec.role'), role, ROLES));
  for (const key of ['minSize', 'maxSize'] as const) {
    const value = spec[key];
    if (
      value !== undefined &&
      (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    ) {
      issues.push(field.invalid(p(`spec.${key}`), value, 'must be a whole number, zero or more'));
    }
  }
  const minSize = typeof spec.minSize === 'number' ? spec.minSize : undefined;
  const maxSize = typeof spec.maxSize === 'number' ? spec.maxSize : undefined;
  if (controlPlane) {
    if (subnets.length === 0)
      issues.push(
        field.required(
          p('spec.subnets'),
          'controlPlane InstanceGroup must specify at least one Subnet',
        ),
      );
    else if (subnets.length > 1)
      issues.push(
        field.invalid(
          p('spec.subnets'),
          subnets,
          'controlPlane InstanceGroup must be in exactly one subnet, add more InstanceGroups instead',
        ),
      );
    if (minSize !== undefined && minSize > 1)
      issues.push(
        field.invalid(
          p('spec.minSize'),
          minSize,
          'controlPlane InstanceGroup must have minSize set to 1',
        ),
      );
    if (maxSize !== undefined && maxSize > 1)
      issues.push(
        field.invalid(
          p('spec.maxSize'),
          maxSize,
          'controlPlane InstanceGroup must have maxSize set to 1, add more InstanceGroups instead',
        ),
      );
    for (const [i, etcd] of asArray(manifest.cluster.spec.etcdClusters).entries()) {
      const e = isObject(etcd) ? etcd : {};
      const members = asArray(e.etcdMembers).map((m) =>
        isObject(m) ? m.instanceGroup : undefined,
      );
      if (!members.includes(name)) {
        // kOps names the instance group of the cluster's last member, to show where they went.
        const last = String(members[members.length - 1] ?? '');
        issues.push(
          field.forbidden(
            p('metadata.name'),
            `InstanceGroup "${name}" with role ControlPlane must have a member in etcd (IG: "${last}") cluster "${String(e.name ?? i)}"`,
          ),
        );
      }
    }
  }
  if (minSize !== undefined && maxSize !== undefined && maxSize < minSize) {
    issues.push(
      field.forbidden(p('spec.maxSize'), 'maxSize must be greater than or equal to minSize.'),
    );
  }
  subnets.forEach((s, i) => {
    if (!subnetNames.has(String(s))) issues.push(field.notFound(p(index('spec.subnets', i)), s));
  });
  if (
    spec.machineType !== undefined &&
    (typeof spec.machineType !== 'string' || !/^[a-z0-9-]+\.[a-z0-9-]+$/.test(spec.machineType))
  ) {
    issues.push(
      field.invalid(
        p('spec.machineType'),
        spec.machineType,
        'not an EC2 instance type (e.g. t3.medium)',
      ),
    );
  }
  if (spec.rollingUpdate !== undefined) {
    if (isObject(spec.rollingUpdate))
      issues.push(
        ...validateRollingUpdate(
          spec.rollingUpdate as RollingUpdate,
          p('spec.rollingUpdate'),
          controlPlane,
        ),
      );
    else
      issues.push(field.invalid(p('spec.rollingUpdate'), spec.rollingUpdate, 'must be a mapping'));
  }
  issues.push(...validateMaxPods(spec.kubelet, p('spec.kubelet')));
  issues.push(...validateNodeLabels(spec.nodeLabels, p('spec.nodeLabels')));
  issues.push(...validateTaints(spec.taints, p('spec.taints')));
  issues.push(...validateCloudLabels(spec.cloudLabels, p('spec.cloudLabels'), name));
  issues.push(...validateMixedInstancesPolicy(ig));
  return issues;
}
