import { type Ec2Api, lookupInstanceTypes, resolveImages } from '../aws/ec2.js';
import { clusterZone, type DnsApi } from '../aws/route53.js';
import type { SharedNetworkApi } from '../aws/shared-network.js';
import { type FieldIssue, SpecInvalidError, SpecUnsupportedError } from '../errors.js';
import { checkManifest } from '../manifest/check.js';
import type { CompletedManifest } from '../manifest/completed.js';
import { igPath } from '../manifest/parse.js';
import { regionMismatch } from '../manifest/region.js';
import { groupInstanceTypes, listedInstanceTypes } from '../planning/mixed-instances.js';
import type { ValidateSpecInput } from './inputs.js';
import { inspectSharedNetwork } from './shared-network.js';

export interface ValidateSpecOutput {
  cluster: string;
  instanceGroups: string[];
  ignored: string[];
}

export interface ValidateSpecDeps {
  ec2: Pick<Ec2Api, 'availabilityZones' | 'describeInstanceTypes' | 'findImage'>;
  dns: Pick<DnsApi, 'listHostedZones'>;
  region: string;
  /** Reads a shared VPC and subnets; needed only for a manifest that names them. */
  network?: SharedNetworkApi;
  /** The one zone the deployment may write records in (its HostedZoneId); unset for any. */
  allowedHostedZoneId?: string;
}

/**
 * What only the cloud can tell: zones of the region, instance types offered, images found, the
 * hosted zone for the cluster's records. Checked before anything is written, so a typo in a
 * machine type or a zone the account lacks leaves nothing behind.
 */
export async function preflight(
  manifest: CompletedManifest,
  deps: ValidateSpecDeps,
): Promise<FieldIssue[]> {
  // Zones of another region are not an account's typo: say which region they need, nothing else.
  const elsewhere = regionMismatch(manifest.cluster.spec, deps.region);
  if (elsewhere) return [elsewhere];
  const issues: FieldIssue[] = [];
  const groups = manifest.instanceGroups;
  const [zones, types, images, hostedZone, shared] = await Promise.all([
    deps.ec2.availabilityZones(),
    lookupInstanceTypes(deps.ec2, groups.flatMap(groupInstanceTypes)),
    resolveImages(
      deps.ec2,
      groups.map((ig) => ig.spec.image),
    ),
    clusterZone(deps.dns, manifest, deps.allowedHostedZoneId),
    inspectSharedNetwork(manifest.cluster.spec, deps.network),
  ]);
  if (hostedZone && 'error' in hostedZone)
    issues.push({ path: 'spec.dnsZone', message: hostedZone.error });
  issues.push(...shared.issues);
  (manifest.cluster.spec.subnets ?? []).forEach((subnet, i) => {
    // A shared subnet may leave its zone to AWS (kOps looks it up); the shared check compared it.
    if (subnet.id && !subnet.zone) return;
    if (!zones.includes(subnet.zone)) {
      issues.push({
        path: `spec.subnets[${i}].zone`,
        message: `Invalid value: ${JSON.stringify(subnet.zone)}: not an availability zone of ${deps.region} (${zones.join(', ')})`,
      });
    }
  });
  for (const ig of groups) {
    if (!types.has(ig.spec.machineType)) {
      issues.push({
        path: igPath(ig.metadata.name, 'spec.machineType'),
        message: `Invalid value: ${JSON.stringify(ig.spec.machineType)}: instance type not offered in ${deps.region}`,
      });
    }
    for (const type of listedInstanceTypes(ig)) {
      if (!types.has(type)) {
        issues.push({
          path: igPath(ig.metadata.name, 'spec.mixedInstancesPolicy.instances'),
          message: `Invalid value: ${JSON.stringify(type)}: instance type not offered in ${deps.region}`,
        });
      }
    }
    if (!images.has(ig.spec.image)) {
      issues.push({
        path: igPath(ig.metadata.name, 'spec.image'),
        message: `Invalid value: ${JSON.stringify(ig.spec.image)}: image not found in ${deps.region}`,
      });
    }
  }
  return issues;
}

/**
 * Validates a manifest before anything is written. Invalid manifests and manifests that ask for
 * what kopsless does not build are both refused: building a cluster that silently drops a
 * setting is worse than not building it.
 */
export async function validateSpec(
  input: ValidateSpecInput,
  deps: ValidateSpecDeps,
): Promise<ValidateSpecOutput> {
  if (typeof input.manifest !== 'string' || input.manifest.trim() === '') {
    throw new SpecInvalidError([
      { path: 'manifest', message: 'Required value: the kOps manifest (YAML) to create' },
    ]);
  }
  const check = checkManifest(input.manifest);
  if (!check.valid || !check.completed) throw new SpecInvalidError(check.errors);
  if (check.unsupported.length > 0) throw new SpecUnsupportedError(check.unsupported);
  const cloudIssues = await preflight(check.completed, deps);
  if (cloudIssues.length > 0) throw new SpecInvalidError(cloudIssues);
  return {
    cluster: check.cluster ?? '',
    instanceGroups: check.instanceGroups,
    ignored: check.ignored.map((i) => `${i.path}: ${i.message}`),
  };
}
