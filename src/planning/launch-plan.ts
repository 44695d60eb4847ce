import { type FieldIssue, SpecInvalidError } from '../errors.js';
import type { CompletedManifest } from '../manifest/completed.js';
import { igPath } from '../manifest/parse.js';
import { type Cluster, type InstanceGroup, isControlPlaneRole } from '../manifest/types.js';
import { calculateMaxPods, type InstanceTypeInfo, prefixDelegationEnabled } from './max-pods.js';
import {
  listedInstanceTypes,
  type MixedInstancesPolicy,
  renderMixedInstancesPolicy,
  smallestInstanceType,
} from './mixed-instances.js';
import {
  CLUSTER_TAG,
  CONTROL_PLANE_ROLE_TAG,
  clusterTags,
  groupName,
  INSTANCE_GROUP_TAG,
  KUBERNETES_VERSION_TAG,
  kopsGroupName,
  nameTag,
  SPEC_HASH_TAG,
  stableHash,
} from './names.js';
import { API_LOAD_BALANCER_OUTPUTS } from './stack-nlb.js';
import { type StackOutputs, subnetOutputKey } from './stack-template.js';
import { bootstrapSettings, renderUserData, type UserDataInput } from './user-data.js';

/**
 * What each instance group's launch template and Auto Scaling group must look like. Pure: all
 * cloud lookups (stack outputs, AMIs, instance types) are inputs.
 */

export type Tag = { Key: string; Value: string };

export interface LaunchTemplateData {
  ImageId: string;
  InstanceType: string;
  UserData: string;
  IamInstanceProfile: { Arn: string };
  SecurityGroupIds?: string[];
  NetworkInterfaces?: Array<{
    DeviceIndex: number;
    AssociatePublicIpAddress: boolean;
    Groups: string[];
    DeleteOnTermination: boolean;
  }>;
  BlockDeviceMappings: Array<{
    DeviceName: string;
    Ebs: {
      VolumeSize: number;
      VolumeType: string;
      Encrypted: boolean;
      DeleteOnTermination: boolean;
    };
  }>;
  MetadataOptions: { HttpTokens: string; HttpPutResponseHopLimit: number; HttpEndpoint: string };
  Monitoring: { Enabled: boolean };
  KeyName?: string;
  TagSpecifications: Array<{ ResourceType: string; Tags: Tag[] }>;
}

export interface GroupPlan {
  instanceGroup: string;
  role: string;
  /** The Auto Scaling group's and launch template's name (names.ts: hashed, unique per account). */
  name: string;
  /** kOps's name, `<ig>.<cluster>`: the `Name` tag of the group, its template and its instances. */
  kopsName: string;
  minSize: number;
  maxSize: number;
  subnetIds: string[];
  maxInstanceLifetimeSeconds?: number;
  /** The API load balancer's target group, for a control-plane group of a cluster that has one. */
  targetGroupArns?: string[];
  maxPods: number;
  /** Where maxPods came from: the manifest, or the calculator. */
  maxPodsSource: 'instanceGroup' | 'cluster' | 'calculated' | 'default';
  specHash: string;
  /** What the boot script sets, field by field (user-data.ts `bootstrapSettings`), for the update preview. */
  bootstrapSettings: Record<string, string>;
  launchTemplate: LaunchTemplateData;
  groupTags: Array<Tag & { PropagateAtLaunch: boolean }>;
  /** The group's MixedInstancesPolicy (spot, several types), less its launch template. */
  mixedInstancesPolicy?: MixedInstancesPolicy;
  /** The instance type maxPods was worked out for: the smallest the group may launch. */
  maxPodsInstanceType?: string;
}

export interface LaunchPlanInput {
  manifest: CompletedManifest;
  outputs: StackOutputs;
  /** image as written in the manifest -> AMI ID */
  images: ReadonlyMap<string, string>;
  instanceTypes: ReadonlyMap<string, InstanceTypeInfo>;
  stateBucket: string;
  region: string;
  /** The KMS key the boot script writes the cluster's secrets under. */
  secretsKeyArn?: string;
  /** This deployment's name: the owner tag the VPC CNI puts on the interfaces it makes. */
  deployment?: string;
}

/** Go duration (`48h20m`, `0`) as seconds; kOps's maxInstanceLifetime format. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(h|m|s|ms)/g;
  let total = 0;
  let consumed = 0;
  for (const match of text.matchAll(re)) {
    const value = Number(match[1]);
    total +=
      match[2] === 'h'
        ? value * 3600
        : match[2] === 'm'
          ? value * 60
          : match[2] === 's'
            ? value
            : value / 1000;
    consumed += match[0].length;
  }
  return consumed === text.length && consumed > 0 ? Math.round(total) : undefined;
}

/** kubelet `maxPods` for a group: the manifest always wins (group, then cluster), then the VPC CNI formula. */
export function resolveMaxPods(
  cluster: Cluster,
  ig: InstanceGroup,
  info: InstanceTypeInfo | undefined,
): { maxPods: number; source: GroupPlan['maxPodsSource'] } {
  if (ig.spec.kubelet?.maxPods)
    return { maxPods: ig.spec.kubelet.maxPods, source: 'instanceGroup' };
  const controlPlane = isControlPlaneRole(ig.spec.role);
  const clusterValue =
    (controlPlane
      ? (cluster.spec.controlPlaneKubelet?.maxPods ?? cluster.spec.masterKubelet?.maxPods)
      : undefined) ?? cluster.spec.kubelet?.maxPods;
  if (clusterValue) return { maxPods: clusterValue, source: 'cluster' };
  const amazonvpc = cluster.spec.networking?.amazonvpc;
  if (amazonvpc && info) {
    return {
      maxPods: calculateMaxPods(info, { prefixDelegation: prefixDelegationEnabled(amazonvpc.env) })
        .maxPods,
      source: 'calculated',
    };
  }
  return { maxPods: 110, source: 'default' };
}

function roleTag(role: string): string {
  if (isControlPlaneRole(role)) return CONTROL_PLANE_ROLE_TAG;
  return role === 'Bastion' ? 'k8s.io/role/bastion' : 'k8s.io/role/node';
}

/** Plans every instance group; unknown AMIs, instance types or subnets are field errors. */
export function planGroups(input: LaunchPlanInput): GroupPlan[] {
  const { manifest, outputs } = input;
  const cluster = manifest.cluster;
  const name = cluster.metadata.name;
  const problems: FieldIssue[] = [];
  const plans: GroupPlan[] = [];
  const targetGroupArn = outputs[API_LOAD_BALANCER_OUTPUTS.targetGroupArn];
  const apiLoadBalancerName = outputs[API_LOAD_BALANCER_OUTPUTS.dnsName];
  for (const ig of manifest.instanceGroups) {
    const igName = ig.metadata.name;
    const spec = ig.spec;
    const machineType = spec.machineType;
    const info = input.instanceTypes.get(machineType);
    const amiId = input.images.get(spec.image);
    if (!info)
      problems.push({
        path: igPath(igName, 'spec.machineType'),
        message: `Invalid value: ${JSON.stringify(machineType)}: instance type not offered in ${input.region}`,
      });
    if (!amiId)
      problems.push({
        path: igPath(igName, 'spec.image'),
        message: `Invalid value: ${JSON.stringify(spec.image)}: image not found in ${input.region}`,
      });
    // Every type the group may launch must exist; maxPods is worked out for the smallest.
    const listed = listedInstanceTypes(ig);
    const listedInfos = listed.map((t) => input.instanceTypes.get(t));
    listed.forEach((type, i) => {
      if (!listedInfos[i])
        problems.push({
          path: igPath(igName, `spec.mixedInstancesPolicy.instances`),
          message: `Invalid value: ${JSON.stringify(type)}: instance type not offered in ${input.region}`,
        });
    });
    const sizing = info
      ? smallestInstanceType(
          [info, ...listedInfos.filter((t): t is InstanceTypeInfo => !!t)],
          prefixDelegationEnabled(cluster.spec.networking?.amazonvpc?.env),
        )
      : undefined;
    const subnetIds = spec.subnets.map((s) => outputs[subnetOutputKey(s)]);
    if (subnetIds.some((s) => !s))
      problems.push({
        path: igPath(igName, 'spec.subnets'),
        message: 'Not found: a subnet of this group is not in the cluster stack',
      });
    if (!info || !amiId || subnetIds.some((s) => !s)) continue;

    const role = spec.role;
    const kind = isControlPlaneRole(role) ? 'Masters' : role === 'Bastion' ? 'Bastions' : 'Nodes';
    const securityGroup =
      (kind === 'Masters'
        ? outputs.MastersSecurityGroupId
        : kind === 'Bastions'
          ? outputs.BastionSecurityGroupId
          : outputs.NodesSecurityGroupId) ?? '';
    const profileArn =
      (kind === 'Masters'
        ? outputs.MastersInstanceProfileArn
        : kind === 'Bastions'
          ? outputs.BastionsInstanceProfileArn
          : outputs.NodesInstanceProfileArn) ?? '';
    const { maxPods, source } = resolveMaxPods(cluster, ig, sizing ?? info);
    const mixedInstancesPolicy = renderMixedInstancesPolicy(ig);
    const cloudLabels = { ...(cluster.spec.cloudLabels ?? {}), ...(spec.cloudLabels ?? {}) };
    const kopsName = kopsGroupName(igName, name);
    const instanceTags: Tag[] = [
      ...clusterTags(name),
      nameTag(kopsName),
      { Key: INSTANCE_GROUP_TAG, Value: igName },
      { Key: roleTag(role), Value: '1' },
      ...(role === 'Bastion'
        ? []
        : [
            {
              Key: KUBERNETES_VERSION_TAG,
              Value: String(cluster.spec.kubernetesVersion ?? '').replace(/^v/, ''),
            },
          ]),
      ...Object.entries(cloudLabels).map(([Key, Value]) => ({ Key, Value })),
    ];
    const userDataInput: UserDataInput = {
      cluster,
      instanceGroup: ig,
      maxPods,
      stateBucket: input.stateBucket,
      region: input.region,
      ...(input.secretsKeyArn ? { secretsKeyArn: input.secretsKeyArn } : {}),
      ...(input.deployment ? { deployment: input.deployment } : {}),
      controlPlaneCount: manifest.instanceGroups.filter((g) => isControlPlaneRole(g.spec.role))
        .length,
      ...(apiLoadBalancerName ? { apiLoadBalancerName } : {}),
    };
    const userData = renderUserData(userDataInput);
    const launchTemplateBase: Omit<LaunchTemplateData, 'TagSpecifications'> = {
      ImageId: amiId,
      InstanceType: machineType,
      UserData: Buffer.from(userData, 'utf8').toString('base64'),
      IamInstanceProfile: { Arn: profileArn },
      ...(spec.associatePublicIp !== undefined
        ? {
            NetworkInterfaces: [
              {
                DeviceIndex: 0,
                AssociatePublicIpAddress: spec.associatePublicIp,
                Groups: [securityGroup],
                DeleteOnTermination: true,
              },
            ],
          }
        : { SecurityGroupIds: [securityGroup] }),
      BlockDeviceMappings: [
        {
          DeviceName: '/dev/sda1',
          Ebs: {
            VolumeSize: spec.rootVolumeSize,
            VolumeType: spec.rootVolumeType,
            Encrypted: true,
            DeleteOnTermination: true,
          },
        },
      ],
      MetadataOptions: {
        HttpEndpoint: 'enabled',
        HttpTokens:
          (spec.instanceMetadata as { httpTokens?: string } | undefined)?.httpTokens ?? 'required',
        HttpPutResponseHopLimit:
          (spec.instanceMetadata as { httpPutResponseHopLimit?: number } | undefined)
            ?.httpPutResponseHopLimit ?? 1,
      },
      Monitoring: { Enabled: spec.detailedInstanceMonitoring === true },
      ...(cluster.spec.sshKeyName ? { KeyName: cluster.spec.sshKeyName } : {}),
    };
    // The hash covers everything an instance is launched with, so any change marks it out of date.
    // The group's types and spot split are in it too, when it has a policy (a type taken off the
    // list rolls the instances); a group without one keeps the hash it always had.
    const specHash = stableHash(
      mixedInstancesPolicy
        ? { launchTemplateBase, instanceTags, mixedInstancesPolicy }
        : { launchTemplateBase, instanceTags },
    );
    const launchTemplate: LaunchTemplateData = {
      ...launchTemplateBase,
      TagSpecifications: [
        {
          ResourceType: 'instance',
          Tags: [...instanceTags, { Key: SPEC_HASH_TAG, Value: specHash }],
        },
        { ResourceType: 'volume', Tags: instanceTags },
        // The primary interface carries the cluster's tag (and the owner tag, owner-tag.ts) as
        // the VPC CNI's interfaces do (ADDITIONAL_ENI_TAGS): no other cluster's roles may change it.
        { ResourceType: 'network-interface', Tags: [{ Key: CLUSTER_TAG, Value: name }] },
      ],
    };
    const lifetime =
      typeof spec.maxInstanceLifetime === 'string'
        ? parseGoDuration(spec.maxInstanceLifetime)
        : undefined;
    plans.push({
      instanceGroup: igName,
      role,
      name: groupName(igName, name),
      kopsName,
      minSize: spec.minSize,
      maxSize: spec.maxSize,
      subnetIds: subnetIds as string[],
      ...(lifetime ? { maxInstanceLifetimeSeconds: lifetime } : {}),
      ...(kind === 'Masters' && targetGroupArn ? { targetGroupArns: [targetGroupArn] } : {}),
      maxPods,
      maxPodsSource: source,
      specHash,
      bootstrapSettings: bootstrapSettings(userDataInput),
      launchTemplate,
      ...(mixedInstancesPolicy
        ? { mixedInstancesPolicy, maxPodsInstanceType: sizing?.instanceType ?? machineType }
        : {}),
      groupTags: [
        ...instanceTags.map((t) => ({ ...t, PropagateAtLaunch: true })),
        { Key: SPEC_HASH_TAG, Value: specHash, PropagateAtLaunch: false },
      ],
    });
  }
  if (problems.length > 0) throw new SpecInvalidError(problems);
  return plans;
}
