import type { Ec2Api } from '../aws/ec2.js';
import { compareVersions, parseKubernetesVersion } from '../manifest/kubernetes-version.js';
import { type ClusterManifest, isControlPlaneRole } from '../manifest/types.js';
import {
  CLUSTER_TAG,
  CONTROL_PLANE_ROLE_TAG,
  groupName,
  INSTANCE_GROUP_TAG,
  KUBERNETES_VERSION_TAG,
} from '../planning/names.js';
import { isOwnedBy } from '../planning/ownership.js';
import { kubernetesVersionFromUserData } from '../planning/user-data.js';

/**
 * The Kubernetes version a cluster's control plane runs, which every version change is judged
 * against: kubeadm on a new control-plane instance joins the members that run now, so a skipped
 * minor version is counted from the oldest of them, not from the spec in the state store (which
 * may hold a version that was set, or even applied, but never rolled). kOps reads the same from
 * its control-plane nodes (`checkControlPlaneRunningVersion` in cmd/kops/update_cluster.go).
 */

export interface RunningControlPlaneVersion {
  /** The version, without `v`. */
  version: string;
  /** The control-plane instance that runs it (from its version tag), or none when the version is the last one applied. */
  instanceId?: string;
  instanceGroup: string;
  /** `instance`: the oldest control-plane instance's tag; `applied`: no instance tells, so the control plane's launch template. */
  source: 'instance' | 'applied';
}

export type ControlPlaneVersionDeps = {
  ec2: Pick<Ec2Api, 'describeInstances' | 'describeLaunchTemplate' | 'latestLaunchTemplateData'>;
};

function older(
  a: RunningControlPlaneVersion | undefined,
  b: RunningControlPlaneVersion,
): RunningControlPlaneVersion {
  const pa = a ? parseKubernetesVersion(a.version) : undefined;
  const pb = parseKubernetesVersion(b.version);
  if (!pb) return a ?? b;
  return !pa || compareVersions(pb, pa) < 0 ? b : a!;
}

/**
 * The oldest version on the cluster's control-plane instances (any not terminated: a stopped one
 * comes back with its version), read from their `kopsless.io/kubernetes-version` tag. When none
 * runs or none carries the tag (launched by an older kopsless), the oldest version the control
 * plane's launch templates install: what was last applied. Undefined for a cluster never applied,
 * whose spec is not running anywhere and may take any supported version.
 */
export async function runningControlPlaneVersion(
  cluster: string,
  manifest: ClusterManifest,
  deps: ControlPlaneVersionDeps,
): Promise<RunningControlPlaneVersion | undefined> {
  const instances = await deps.ec2.describeInstances([
    { Name: `tag:${CLUSTER_TAG}`, Values: [cluster] },
    { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
  ]);
  let found: RunningControlPlaneVersion | undefined;
  for (const instance of instances) {
    const tags = Object.fromEntries((instance.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    const version = tags[KUBERNETES_VERSION_TAG];
    if (!(CONTROL_PLANE_ROLE_TAG in tags) || !version || !parseKubernetesVersion(version)) continue;
    found = older(found, {
      version: version.replace(/^v/, ''),
      instanceId: instance.InstanceId ?? '',
      instanceGroup: tags[INSTANCE_GROUP_TAG] ?? '',
      source: 'instance',
    });
  }
  if (found) return found;
  for (const ig of manifest.instanceGroups.filter((g) => isControlPlaneRole(g.spec.role))) {
    const lt = await deps.ec2.describeLaunchTemplate(groupName(ig.metadata.name, cluster));
    // A template under our name but not tagged for this cluster says nothing about it.
    if (!lt || !isOwnedBy(lt.tags, cluster)) continue;
    const data = await deps.ec2.latestLaunchTemplateData(lt.id);
    // From the boot script itself, so templates written before the version tag existed count too.
    const installed = data?.UserData
      ? kubernetesVersionFromUserData(Buffer.from(data.UserData, 'base64').toString('utf8'))
      : undefined;
    if (installed)
      found = older(found, {
        version: installed.replace(/^v/, ''),
        instanceGroup: ig.metadata.name,
        source: 'applied',
      });
  }
  return found;
}

/** Where the running version was read, for messages: `control-plane instance i-… (instance group "…")`. */
export function describeRunningVersion(running: RunningControlPlaneVersion): string {
  return running.source === 'instance'
    ? `control-plane instance ${running.instanceId} (instance group "${running.instanceGroup}") runs Kubernetes ${running.version}`
    : `no control-plane instance reports its version; the launch template of instance group "${running.instanceGroup}" (last applied) installs Kubernetes ${running.version}`;
}
