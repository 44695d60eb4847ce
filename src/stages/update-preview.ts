import type { FieldIssue } from '../errors.js';
import { kubernetesVersionChangeIssues } from '../manifest/kubernetes-version.js';
import { isControlPlaneRole } from '../manifest/types.js';
import { SPEC_HASH_TAG, stackName } from '../planning/names.js';
import {
  bootstrapSettingsFromUserData,
  kubernetesVersionFromUserData,
  maxPodsFromUserData,
} from '../planning/user-data.js';
import {
  type RunningControlPlaneVersion,
  runningControlPlaneVersion,
} from './control-plane-version.js';
import {
  type LaunchDeps,
  planClusterGroups,
  renderClusterStack,
  TEMPLATE_HASH_TAG,
} from './launch.js';

/**
 * What `update cluster` would change, without changing it: the stack's resources, each launch
 * template's fields and each Auto Scaling group's settings. Instances are never replaced here;
 * the rolling update does that.
 */

export interface FieldChange {
  field: string;
  from: string;
  to: string;
  /** `UserData`: a setting inside the boot script, not a field of the launch template. */
  section?: 'UserData';
}

export interface UpdatePreview {
  cluster: string;
  stack: { changed: boolean; added: string[]; removed: string[]; modified: string[] };
  groups: Array<{
    instanceGroup: string;
    name: string;
    create: boolean;
    launchTemplate: FieldChange[];
    group: FieldChange[];
  }>;
  hasChanges: boolean;
  /** The Kubernetes version the control plane runs: its oldest instance's, else the last applied (its launch templates'). */
  runningVersion?: string;
  /** Where `runningVersion` was read, for the refusal's message. */
  running?: RunningControlPlaneVersion;
  /** The Kubernetes version the spec asks for (normalized, no `v`). */
  wantedVersion?: string;
  /** Why the spec's version cannot be applied to the running control plane (a skipped minor, a downgrade). */
  versionIssues: FieldIssue[];
}

export type PreviewDeps = Pick<
  LaunchDeps,
  'store' | 'stacks' | 'ec2' | 'autoscaling' | 'dns' | 'stateBucket' | 'region' | 'network'
>;

function resources(template: string | undefined): Record<string, string> {
  if (!template) return {};
  const parsed = JSON.parse(template) as { Resources?: Record<string, unknown> };
  return Object.fromEntries(
    Object.entries(parsed.Resources ?? {}).map(([id, r]) => [id, JSON.stringify(r)]),
  );
}

function change(field: string, from: unknown, to: unknown): FieldChange[] {
  const a = from === undefined ? '<none>' : typeof from === 'string' ? from : JSON.stringify(from);
  const b = to === undefined ? '<none>' : typeof to === 'string' ? to : JSON.stringify(to);
  return a === b ? [] : [{ field, from: a, to: b }];
}

/**
 * What changes inside the boot script, setting by setting: the settings the renderer recorded in
 * the current script against the ones the new plan renders from. A script rendered before settings
 * were recorded gives what can still be read back (version, maxPods). A script that differs in
 * none of these settings (the API names, a newer kopsless) is one `UserData` line, so a change is
 * never shown as none.
 */
export function userDataChanges(
  currentUserData: string | undefined,
  wantedUserData: string,
  wanted: Record<string, string>,
): FieldChange[] {
  if (currentUserData === undefined || currentUserData === wantedUserData) return [];
  const recorded = bootstrapSettingsFromUserData(currentUserData);
  const legacy: Record<string, string> = {};
  const version = kubernetesVersionFromUserData(currentUserData);
  const maxPods = maxPodsFromUserData(currentUserData);
  if (version) legacy.KubernetesVersion = version.replace(/^v/, '');
  if (maxPods !== undefined) legacy.maxPods = String(maxPods);
  const before = recorded ?? legacy;
  // Without recorded settings only the fields read back can be compared.
  const keys = recorded
    ? [...new Set([...Object.keys(wanted), ...Object.keys(before)])]
    : Object.keys(legacy);
  const changes = keys
    .map((key) => ({
      field: key,
      from: Object.hasOwn(before, key) ? before[key]! : 'unset',
      to: Object.hasOwn(wanted, key) ? wanted[key]! : 'unset',
      section: 'UserData' as const,
    }))
    .filter((c) => c.from !== c.to);
  if (changes.length > 0) return changes;
  return [{ field: 'UserData', from: '(bootstrap script)', to: '(changed bootstrap script)' }];
}

export async function previewUpdate(cluster: string, deps: PreviewDeps): Promise<UpdatePreview> {
  const name = stackName(cluster);
  const [{ template, templateHash }, current] = await Promise.all([
    renderClusterStack(cluster, deps),
    deps.stacks.describe(name),
  ]);
  const stack: UpdatePreview['stack'] = { changed: false, added: [], removed: [], modified: [] };
  if (current?.tags[TEMPLATE_HASH_TAG] !== templateHash) {
    const before = resources(await deps.stacks.template(name));
    const after = resources(template);
    stack.added = Object.keys(after).filter((id) => !(id in before));
    stack.removed = Object.keys(before).filter((id) => !(id in after));
    stack.modified = Object.keys(after).filter((id) => id in before && before[id] !== after[id]);
    stack.changed =
      stack.added.length + stack.removed.length + stack.modified.length > 0 || !current;
  }
  const { manifest, plans } = await planClusterGroups(cluster, deps);
  const asgs = new Map(
    (await deps.autoscaling.describeGroups(plans.map((p) => p.name))).map((g) => [g.name, g]),
  );
  const groups: UpdatePreview['groups'] = [];
  for (const plan of plans) {
    const lt = await deps.ec2.describeLaunchTemplate(plan.name);
    const data = lt ? await deps.ec2.latestLaunchTemplateData(lt.id) : undefined;
    const asg = asgs.get(plan.name);
    const wantedUserData = Buffer.from(plan.launchTemplate.UserData, 'base64').toString('utf8');
    const currentUserData = data?.UserData
      ? Buffer.from(data.UserData, 'base64').toString('utf8')
      : undefined;
    const launchTemplate = data
      ? [
          ...change('InstanceType', data.InstanceType, plan.launchTemplate.InstanceType),
          ...change('ImageId', data.ImageId, plan.launchTemplate.ImageId),
          ...userDataChanges(currentUserData ?? '', wantedUserData, plan.bootstrapSettings),
          ...change(
            'BlockDeviceMappings',
            data.BlockDeviceMappings?.[0]?.Ebs?.VolumeSize,
            plan.launchTemplate.BlockDeviceMappings[0]?.Ebs.VolumeSize,
          ),
          ...change(
            'IamInstanceProfile',
            data.IamInstanceProfile?.Arn,
            plan.launchTemplate.IamInstanceProfile.Arn,
          ),
        ]
      : [];
    const group = asg
      ? [
          ...change('MinSize', asg.minSize, plan.minSize),
          ...change('MaxSize', asg.maxSize, plan.maxSize),
          ...change(
            'Subnets',
            asg.subnetIds.slice().sort().join(','),
            plan.subnetIds.slice().sort().join(','),
          ),
        ]
      : [];
    // Anything else that changes the spec hash (tags, metadata options) still needs a new version.
    if (data && launchTemplate.length === 0 && asg && asg.tags[SPEC_HASH_TAG] !== plan.specHash)
      launchTemplate.push({
        field: 'spec hash',
        from: asg.tags[SPEC_HASH_TAG] ?? '<none>',
        to: plan.specHash,
      });
    groups.push({
      instanceGroup: plan.instanceGroup,
      name: plan.name,
      create: !asg || !lt,
      launchTemplate,
      group,
    });
  }
  const hasChanges =
    stack.changed ||
    groups.some((g) => g.create || g.launchTemplate.length > 0 || g.group.length > 0);
  const wantedVersion = plans.find((p) => isControlPlaneRole(p.role))?.bootstrapSettings
    .KubernetesVersion;
  // Judged against what runs, not the launch templates: an update applied but not rolled has
  // changed them while the control plane still runs the version before.
  const running = await runningControlPlaneVersion(cluster, manifest, deps);
  const versionIssues = kubernetesVersionChangeIssues(running?.version, wantedVersion);
  return {
    cluster,
    stack,
    groups,
    hasChanges,
    ...(running ? { runningVersion: running.version, running } : {}),
    ...(wantedVersion ? { wantedVersion } : {}),
    versionIssues,
  };
}
