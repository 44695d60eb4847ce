import { maxPodsFromUserData } from '../planning/user-data.js';
import { stackName } from '../planning/names.js';
import { planClusterGroups, renderClusterStack, TEMPLATE_HASH_TAG, type LaunchDeps } from './launch.js';

/**
 * What `update cluster` would change, without changing it: the stack's resources, each launch
 * template's fields and each Auto Scaling group's settings. Instances are never replaced here;
 * the rolling update does that.
 */

export interface FieldChange {
  field: string;
  from: string;
  to: string;
}

export interface UpdatePreview {
  cluster: string;
  stack: { changed: boolean; added: string[]; removed: string[]; modified: string[] };
  groups: Array<{ instanceGroup: string; name: string; create: boolean; launchTemplate: FieldChange[]; group: FieldChange[] }>;
  hasChanges: boolean;
}

export type PreviewDeps = Pick<LaunchDeps, 'store' | 'stacks' | 'ec2' | 'autoscaling' | 'stateBucket' | 'region'>;

function resources(template: string | undefined): Record<string, string> {
  if (!template) return {};
  const parsed = JSON.parse(template) as { Resources?: Record<string, unknown> };
  return Object.fromEntries(Object.entries(parsed.Resources ?? {}).map(([id, r]) => [id, JSON.stringify(r)]));
}

function change(field: string, from: unknown, to: unknown): FieldChange[] {
  const a = from === undefined ? '<none>' : typeof from === 'string' ? from : JSON.stringify(from);
  const b = to === undefined ? '<none>' : typeof to === 'string' ? to : JSON.stringify(to);
  return a === b ? [] : [{ field, from: a, to: b }];
}

export async function previewUpdate(cluster: string, deps: PreviewDeps): Promise<UpdatePreview> {
  const name = stackName(cluster);
  const [{ template, templateHash }, current] = await Promise.all([renderClusterStack(cluster, deps), deps.stacks.describe(name)]);
  const stack: UpdatePreview['stack'] = { changed: false, added: [], removed: [], modified: [] };
  if (current?.tags[TEMPLATE_HASH_TAG] !== templateHash) {
    const before = resources(await deps.stacks.template(name));
    const after = resources(template);
    stack.added = Object.keys(after).filter((id) => !(id in before));
    stack.removed = Object.keys(before).filter((id) => !(id in after));
    stack.modified = Object.keys(after).filter((id) => id in before && before[id] !== after[id]);
    stack.changed = stack.added.length + stack.removed.length + stack.modified.length > 0 || !current;
  }
  const { plans } = await planClusterGroups(cluster, deps);
  const asgs = new Map((await deps.autoscaling.describeGroups(plans.map((p) => p.name))).map((g) => [g.name, g]));
  const groups: UpdatePreview['groups'] = [];
  for (const plan of plans) {
    const lt = await deps.ec2.describeLaunchTemplate(plan.name);
    const data = lt ? await deps.ec2.latestLaunchTemplateData(lt.id) : undefined;
    const asg = asgs.get(plan.name);
    const wantedUserData = Buffer.from(plan.launchTemplate.UserData, 'base64').toString('utf8');
    const currentUserData = data?.UserData ? Buffer.from(data.UserData, 'base64').toString('utf8') : undefined;
    const launchTemplate = data
      ? [
          ...change('InstanceType', data.InstanceType, plan.launchTemplate.InstanceType),
          ...change('ImageId', data.ImageId, plan.launchTemplate.ImageId),
          ...change('UserData: kubelet maxPods', currentUserData && maxPodsFromUserData(currentUserData), maxPodsFromUserData(wantedUserData)),
          ...(currentUserData !== wantedUserData && maxPodsFromUserData(currentUserData ?? '') === maxPodsFromUserData(wantedUserData) ? [{ field: 'UserData', from: '(bootstrap script)', to: '(changed bootstrap script)' }] : []),
          ...change('BlockDeviceMappings', data.BlockDeviceMappings?.[0]?.Ebs?.VolumeSize, plan.launchTemplate.BlockDeviceMappings[0]?.Ebs.VolumeSize),
          ...change('IamInstanceProfile', data.IamInstanceProfile?.Arn, plan.launchTemplate.IamInstanceProfile.Arn),
        ]
      : [];
    const group = asg
      ? [
          ...change('MinSize', asg.minSize, plan.minSize),
          ...change('MaxSize', asg.maxSize, plan.maxSize),
          ...change('Subnets', asg.subnetIds.slice().sort().join(','), plan.subnetIds.slice().sort().join(',')),
        ]
      : [];
    // Anything else that changes the spec hash (tags, metadata options) still needs a new version.
    if (data && launchTemplate.length === 0 && asg && asg.tags['kopsless.io/spec-hash'] !== plan.specHash) launchTemplate.push({ field: 'spec hash', from: asg.tags['kopsless.io/spec-hash'] ?? '<none>', to: plan.specHash });
    groups.push({ instanceGroup: plan.instanceGroup, name: plan.name, create: !asg || !lt, launchTemplate, group });
  }
  const hasChanges = stack.changed || groups.some((g) => g.create || g.launchTemplate.length > 0 || g.group.length > 0);
  return { cluster, stack, groups, hasChanges };
}
