import type { RequestLaunchTemplateData } from '@aws-sdk/client-ec2';
import type { AutoScalingApi } from '../aws/autoscaling.js';
import type { StackApi, StackState } from '../aws/cloudformation.js';
import { type Ec2Api, lookupInstanceTypes, resolveImages } from '../aws/ec2.js';
import {
  type InstanceProfileApi,
  whileInstanceProfilePropagates,
} from '../aws/instance-profiles.js';
import { clusterZone, type DnsApi } from '../aws/route53.js';
import type { SharedNetworkApi } from '../aws/shared-network.js';
import { type StackRoleApi, whileStackRolePropagates } from '../aws/stack-role.js';
import type { ZoneVpcApi } from '../aws/zone-vpc.js';
import { now as clockNow, deadlineAfter } from '../clock.js';
import { SpecInvalidError, StackFailedError, WaitTimeoutError } from '../errors.js';
import type { CompletedManifest } from '../manifest/completed.js';
import { kubernetesVersionChangeIssues } from '../manifest/kubernetes-version.js';
import { isControlPlaneRole } from '../manifest/types.js';
import {
  accountOfStack,
  instanceProfileArn,
  instanceRoleKinds,
  STACK_INSTANCE_PROFILE_OUTPUTS,
  stackHeldInstanceProfiles,
} from '../planning/instance-profiles.js';
import { type GroupPlan, planGroups } from '../planning/launch-plan.js';
import { groupInstanceTypes } from '../planning/mixed-instances.js';
import {
  clusterTags,
  groupName,
  nameTag,
  ownerTag,
  SPEC_HASH_TAG,
  stableHash,
  stackName,
} from '../planning/names.js';
import { deploymentOf, withOwnerTag } from '../planning/owner-tag.js';
import { isOwnedBy, requireOwned } from '../planning/ownership.js';
import { API_LOAD_BALANCER_OUTPUTS, hasApiLoadBalancer } from '../planning/stack-nlb.js';
import { FRESH_STACK_ROLE_SECONDS, isPermissionFailure } from '../planning/stack-role.js';
import { renderStackTemplate, type StackOutputs } from '../planning/stack-template.js';
import type { ClusterStore } from '../state/cluster-store.js';
import type { ObjectStore } from '../state/object-store.js';
import { renewBootstrapToken } from './bootstrap-token.js';
import { describeRunningVersion, runningControlPlaneVersion } from './control-plane-version.js';
import { FAILING_STACK, releaseFailingStack } from './failing-stack.js';
import type { LaunchInput } from './inputs.js';
import { inspectSharedNetwork } from './shared-network.js';
import { associateClusterVpc } from './zone-vpc.js';

/**
 * The launch stage: the cluster stack, then a launch template and an Auto Scaling group per
 * instance group. Every action is safe to run twice: it compares what exists with what should
 * and changes only the difference.
 */

export interface LaunchDeps {
  store: ClusterStore;
  /** The state store's objects: the bootstrap token is renewed there before instances launch. */
  objects: Pick<ObjectStore, 'get' | 'put' | 'delete'>;
  stacks: StackApi;
  ec2: Ec2Api;
  autoscaling: AutoScalingApi;
  /**
   * The cluster's instance profiles, made through IAM before the stack and given their roles
   * once the stack has made them (planning/instance-profiles.ts).
   */
  instanceProfiles: InstanceProfileApi;
  dns: Pick<DnsApi, 'listHostedZones'>;
  stateBucket: string;
  region: string;
  /** This deployment's name: the owner tag of everything launched (default: the local backend's). */
  deployment?: string;
  /**
   * The cluster's stack role, made before the stack is created or updated and passed to
   * CloudFormation. Unset (the CLI with its own credentials, some tests), CloudFormation acts with
   * the caller's credentials.
   */
  stackRole?: Pick<StackRoleApi, 'ensure'> & Partial<Pick<StackRoleApi, 'createdAt'>>;
  /** The KMS key the control plane's boot script writes the cluster's secrets under. */
  secretsKeyArn?: string;
  /** The deployment's ClusterApiLayer version: the stack then runs the cluster's API function. */
  clusterApiLayerArn?: string;
  stackTimeoutSeconds: number;
  groupsTimeoutSeconds: number;
  /** Reads and tags a shared VPC and subnets; needed only for a manifest that names them. */
  network?: SharedNetworkApi;
  /** The one zone the deployment may write records in (its HostedZoneId); unset for any. */
  allowedHostedZoneId?: string;
  /** Associates the cluster's VPC with a private zone (zone-vpc.ts); needed for Private DNS. */
  zoneVpc?: ZoneVpcApi;
}

/** The tag on the stack that records which template it was last given. */
export const TEMPLATE_HASH_TAG = 'kopsless.io/template-hash';

const STABLE_STACK = /_COMPLETE$/;
const FAILED_STACK = /(FAILED|ROLLBACK_COMPLETE|ROLLBACK_FAILED)$/;
/** A stack CloudFormation is making or changing, not rolling back. */
const MAKING_STACK = /^(CREATE|UPDATE)_IN_PROGRESS$/;

export interface GroupSummary {
  instanceGroup: string;
  name: string;
  launchTemplateVersion: number;
  specHash: string;
  maxPods: number;
  maxPodsSource: GroupPlan['maxPodsSource'];
  minSize: number;
  maxSize: number;
  created: boolean;
  changed: boolean;
}

export interface GroupsStatus {
  ready: boolean;
  deadline: string;
  groups: Array<{ name: string; desired: number; inService: number }>;
}

/** Idempotency token for a create: the same execution always sends the same one. */
function clientToken(...parts: string[]): string {
  return stableHash(parts).slice(0, 32);
}

/**
 * The user's hosted zone for the cluster's records: the one the spec names or kOps's default
 * (planning/dns.ts). Once the stack has written records into a zone they stay there: a spec
 * that now finds another zone (a longer one made since, a new dnsZone) is refused, naming both,
 * rather than leaving the old records behind.
 */
async function recordsZoneId(
  manifest: CompletedManifest,
  deps: Pick<LaunchDeps, 'stacks' | 'dns' | 'allowedHostedZoneId'>,
): Promise<string | undefined> {
  const choice = await clusterZone(deps.dns, manifest, deps.allowedHostedZoneId);
  if (!choice) return undefined;
  if ('error' in choice)
    throw new SpecInvalidError([{ path: 'spec.dnsZone', message: choice.error }]);
  const cluster = manifest.cluster.metadata.name;
  const stack = await deps.stacks.describe(stackName(cluster));
  const current = stack && isOwnedBy(stack.tags, cluster) ? stack.outputs.HostedZoneId : undefined;
  if (current !== undefined && current !== choice.zone.id)
    throw new SpecInvalidError([
      {
        path: 'spec.dnsZone',
        message: `Invalid value: the records of cluster ${cluster} are in hosted zone ${current}, but the spec now finds ${choice.zone.name} (${choice.zone.id}); set spec.dnsZone to ${current} to keep them where they are`,
      },
    ]);
  return choice.zone.id;
}

/** The stack template the spec in the store asks for, and its hash (the stack's template-hash tag). */
export async function renderClusterStack(
  cluster: string,
  deps: Pick<
    LaunchDeps,
    | 'store'
    | 'stacks'
    | 'dns'
    | 'stateBucket'
    | 'deployment'
    | 'network'
    | 'allowedHostedZoneId'
    | 'clusterApiLayerArn'
  >,
) {
  const manifest = await deps.store.readCompletedManifest(cluster);
  const hostedZoneId = await recordsZoneId(manifest, deps);
  const deployed = await deps.stacks.describe(stackName(cluster));
  // A stack made before instance profiles left it keeps those it holds (retained).
  const heldProfiles =
    deployed && isOwnedBy(deployed.tags, cluster)
      ? stackHeldInstanceProfiles(deployed.outputs)
      : [];
  // What is shared is read again each time: a VPC or subnet changed since create is refused here.
  const shared = await inspectSharedNetwork(manifest.cluster.spec, deps.network);
  if (shared.issues.length > 0) throw new SpecInvalidError(shared.issues);
  const template = JSON.stringify(
    renderStackTemplate({
      manifest,
      stateBucket: deps.stateBucket,
      ...(hostedZoneId !== undefined ? { hostedZoneId } : {}),
      deployment: deploymentOf(deps),
      existingNetwork: shared.existing,
      ...(deps.clusterApiLayerArn ? { clusterApiLayerArn: deps.clusterApiLayerArn } : {}),
      stackHeldInstanceProfiles: heldProfiles,
    }),
  );
  return {
    template,
    /** The kinds whose profile the launch stage makes: every kind the stack does not hold. */
    profileKinds: instanceRoleKinds(manifest).filter((kind) => !heldProfiles.includes(kind)),
    templateHash: stableHash(template),
    sharedIds: shared.sharedIds,
    apiLoadBalancer: hasApiLoadBalancer(manifest.cluster),
  };
}

/**
 * Runs a stack operation under the cluster's stack role: made (or found) first, then passed to
 * CloudFormation, the operation retried while IAM propagates a role it has just made.
 */
async function withStackRole<T>(
  cluster: string,
  deps: Pick<LaunchDeps, 'stackRole'>,
  operation: (role: { roleArn?: string }) => Promise<T>,
): Promise<T> {
  if (!deps.stackRole) return operation({});
  const roleArn = await deps.stackRole.ensure(cluster);
  return whileStackRolePropagates(roleArn, () => operation({ roleArn }));
}

async function ensureStack(input: { cluster: string; owner: string }, deps: LaunchDeps) {
  const now = clockNow();
  const { template, templateHash, sharedIds, apiLoadBalancer, profileKinds } =
    await renderClusterStack(input.cluster, deps);
  const name = stackName(input.cluster);
  const tags = [
    ...clusterTags(input.cluster),
    ownerTag(deploymentOf(deps)),
    { Key: TEMPLATE_HASH_TAG, Value: templateHash },
  ];
  const existing = await deps.stacks.describe(name);
  // Never update (or adopt) a stack another cluster owns, whatever its name.
  if (existing) requireOwned(`CloudFormation stack ${name}`, existing.tags, input.cluster);
  // The control-plane groups join the API target group only when they are made, and the API
  // records would turn into aliases to an empty load balancer: adding or removing one is refused.
  if (
    existing &&
    STABLE_STACK.test(existing.status) &&
    !FAILED_STACK.test(existing.status) &&
    apiLoadBalancer !== !!existing.outputs[API_LOAD_BALANCER_OUTPUTS.dnsName]
  ) {
    throw new SpecInvalidError([
      {
        path: 'spec.api.loadBalancer',
        message: `cannot be ${apiLoadBalancer ? 'added to' : 'removed from'} cluster "${input.cluster}" once it is created; create a new cluster for it`,
      },
    ]);
  }
  // kOps's mark on what the cluster uses and does not own; delete removes it again.
  if (sharedIds.length > 0) await deps.network?.tagShared(sharedIds, input.cluster);
  // Empty until the stack has made their roles: IAM propagates them while the stack runs.
  await deps.instanceProfiles.ensure(input.cluster, profileKinds);
  let action: 'created' | 'updated' | 'unchanged' = 'unchanged';
  if (!existing) {
    await withStackRole(input.cluster, deps, (roleArn) =>
      deps.stacks.create({
        stackName: name,
        templateBody: template,
        tags,
        clientRequestToken: clientToken(input.owner, name),
        ...roleArn,
      }),
    );
    action = 'created';
  } else if (existing.status === 'DELETE_IN_PROGRESS') {
    // Being deleted by someone else: nothing of this execution's to clean up or build on.
    throw new StackFailedError(
      `stack ${name} of cluster ${input.cluster} is being deleted (DELETE_IN_PROGRESS); wait until it is gone, then create it again`,
    );
  } else if (FAILED_STACK.test(existing.status)) {
    throw new StackFailedError(
      `stack ${name} is ${existing.status}; run \`kopsless delete cluster ${input.cluster} --yes\`, then create it again`,
    );
  } else if (
    STABLE_STACK.test(existing.status) &&
    !FAILED_STACK.test(existing.status) &&
    existing.tags[TEMPLATE_HASH_TAG] !== templateHash
  ) {
    action =
      (await withStackRole(input.cluster, deps, (roleArn) =>
        deps.stacks.update({ stackName: name, templateBody: template, tags, ...roleArn }),
      )) === 'updating'
        ? 'updated'
        : 'unchanged';
  }
  return {
    stackName: name,
    action,
    created: action === 'created',
    deadline: deadlineAfter(now, deps.stackTimeoutSeconds),
  };
}

/**
 * True when a stack that failed to be created may have failed only because its stack role, made
 * minutes ago, was not yet usable everywhere in IAM: the failure is a refusal (or unknown) and
 * the role is younger than FRESH_STACK_ROLE_SECONDS.
 */
async function failedForFreshRole(
  cluster: string,
  reason: string | undefined,
  now: Date,
  deps: Pick<LaunchDeps, 'stackRole'>,
): Promise<boolean> {
  if (!deps.stackRole?.createdAt || !isPermissionFailure(reason)) return false;
  const made = await deps.stackRole.createdAt(cluster);
  return made !== undefined && now.getTime() - made.getTime() < FRESH_STACK_ROLE_SECONDS * 1000;
}

async function describeStack(
  input: { cluster: string; deadline: string; created?: boolean },
  deps: LaunchDeps,
) {
  const created = input.created === true;
  const now = clockNow();
  const name = stackName(input.cluster);
  const stack = await deps.stacks.describe(name);
  if (!stack) {
    const reason = await deps.stacks.firstFailure(name);
    if (await failedForFreshRole(input.cluster, reason, now, deps)) {
      // Created again under a token of its own: the first one would only name the deleted stack.
      await ensureStack({ cluster: input.cluster, owner: `fresh-role-${now.toISOString()}` }, deps);
      return {
        stackName: name,
        status: 'CREATE_IN_PROGRESS',
        ready: false,
        deadline: input.deadline,
        recreated: true,
        created: true,
      };
    }
    throw new StackFailedError(
      `stack ${name} does not exist (it was rolled back and deleted: ${reason ?? 'no reason recorded'})`,
    );
  }
  requireOwned(`CloudFormation stack ${name}`, stack.tags, input.cluster);
  // Only a stack this execution created: an update's or a roll's poll may meet a running
  // cluster's stack being deleted by someone else, whose instances still use those profiles.
  if (!created && /^DELETE_/.test(stack.status))
    throw new StackFailedError(
      `stack ${name} of cluster ${input.cluster} is ${stack.status}: it is being deleted outside this execution`,
    );
  if (created && FAILING_STACK.test(stack.status)) {
    // A delete that keeps failing (a role IAM still sees in a profile, or held elsewhere) is
    // left to the delete session, which removes what holds the cluster's resources first.
    if (stack.status === 'DELETE_FAILED' && now > new Date(input.deadline))
      throw new StackFailedError(
        `stack ${name} of cluster ${input.cluster} is still DELETE_FAILED at the deadline ${input.deadline} (${(await deps.stacks.firstFailure(name)) ?? stack.statusReason ?? 'no reason recorded'}); run \`kopsless delete cluster ${input.cluster} --yes\`, then create it again`,
      );
    const status = await releaseFailingStack(input.cluster, stack, {
      ...deps,
      withStackRole: (operation) => withStackRole(input.cluster, deps, operation),
    });
    // Deleted again: once gone it is created again or its failure reported (above).
    if (status !== stack.status)
      return { stackName: name, status, ready: false, deadline: input.deadline, created };
  }
  if (FAILED_STACK.test(stack.status)) {
    const firstFailure = await deps.stacks.firstFailure(name);
    // OnFailure DELETE: CloudFormation deletes it next; once it is gone it is created again.
    if (
      stack.status === 'CREATE_FAILED' &&
      (await failedForFreshRole(input.cluster, firstFailure, now, deps))
    )
      return {
        stackName: name,
        status: stack.status,
        ready: false,
        deadline: input.deadline,
        created,
      };
    const reason = firstFailure ?? stack.statusReason ?? 'no reason recorded';
    throw new StackFailedError(`stack ${name} is ${stack.status}: ${reason}`);
  }
  const ready = STABLE_STACK.test(stack.status);
  if (MAKING_STACK.test(stack.status)) await fillProfilesWhileStackRuns(input.cluster, stack, deps);
  if (!ready && now > new Date(input.deadline))
    throw new WaitTimeoutError(
      `stack ${name} still ${stack.status} at the deadline ${input.deadline}`,
    );
  return { stackName: name, status: stack.status, ready, deadline: input.deadline, created };
}

/**
 * While the stack runs, each instance profile the launch stage made gets its role as soon as the
 * stack has made the role: IAM then propagates the profile while the rest of the stack is made,
 * and Auto Scaling takes it when the groups are made (ensureGroups puts in what is still missing).
 */
async function fillProfilesWhileStackRuns(cluster: string, stack: StackState, deps: LaunchDeps) {
  const manifest = await deps.store.readCompletedManifest(cluster);
  const held = stackHeldInstanceProfiles(stack.outputs);
  await deps.instanceProfiles.attachMadeRoles(
    cluster,
    instanceRoleKinds(manifest).filter((kind) => !held.includes(kind)),
  );
}

/** Compares launch template data as AWS returns it with what we would send. */
function sameLaunchTemplate(
  current: RequestLaunchTemplateData | undefined,
  wanted: GroupPlan['launchTemplate'],
): boolean {
  if (!current) return false;
  const specHashOf = (data: RequestLaunchTemplateData | GroupPlan['launchTemplate']) =>
    data.TagSpecifications?.find((t) => t.ResourceType === 'instance')?.Tags?.find(
      (t) => t.Key === SPEC_HASH_TAG,
    )?.Value;
  return specHashOf(current) === specHashOf(wanted);
}

/**
 * The ARN of each kind's instance profile, under the stack output name the launch plan reads: the
 * stack's own for a kind it holds (made before profiles left it), else the one the launch stage
 * makes, in the stack's account.
 */
function instanceProfileOutputs(manifest: CompletedManifest, stack: StackState) {
  const cluster = manifest.cluster.metadata.name;
  const target = accountOfStack(stack.stackId);
  return Object.fromEntries(
    instanceRoleKinds(manifest).map((kind) => [
      STACK_INSTANCE_PROFILE_OUTPUTS[kind],
      stack.outputs[STACK_INSTANCE_PROFILE_OUTPUTS[kind]] ??
        instanceProfileArn(target, kind, cluster),
    ]),
  );
}

/** The launch plan of every instance group, from the spec in the store and what the cloud knows. */
export async function planClusterGroups(
  cluster: string,
  deps: Pick<
    LaunchDeps,
    'store' | 'stacks' | 'ec2' | 'stateBucket' | 'region' | 'deployment' | 'secretsKeyArn'
  >,
) {
  const manifest = await deps.store.readCompletedManifest(cluster);
  const stack = await deps.stacks.describe(stackName(cluster));
  if (!stack || !STABLE_STACK.test(stack.status))
    throw new StackFailedError(
      `stack ${stackName(cluster)} is not ready (${stack?.status ?? 'missing'})`,
    );
  // Its outputs (subnets, security groups, instance profiles) go into launch templates: ours only.
  requireOwned(`CloudFormation stack ${stackName(cluster)}`, stack.tags, cluster);
  const [instanceTypes, images] = await Promise.all([
    lookupInstanceTypes(deps.ec2, manifest.instanceGroups.flatMap(groupInstanceTypes)),
    resolveImages(
      deps.ec2,
      manifest.instanceGroups.map((ig) => ig.spec.image),
    ),
  ]);
  const plans = planGroups({
    manifest,
    outputs: { ...(stack.outputs as StackOutputs), ...instanceProfileOutputs(manifest, stack) },
    images,
    instanceTypes,
    stateBucket: deps.stateBucket,
    region: deps.region,
    ...(deps.secretsKeyArn ? { secretsKeyArn: deps.secretsKeyArn } : {}),
    deployment: deploymentOf(deps),
  }).map((plan) => withOwnerTag(plan, deploymentOf(deps)));
  return { manifest, plans, stack };
}

async function ensureGroups(input: { cluster: string; owner: string }, deps: LaunchDeps) {
  const now = clockNow();
  const { manifest, plans, stack } = await planClusterGroups(input.cluster, deps);
  const existingGroups = new Map(
    (await deps.autoscaling.describeGroups(plans.map((p) => p.name))).map((g) => [g.name, g]),
  );
  const summaries: GroupSummary[] = [];
  // Every group and template that exists under our names must be ours, before any is changed.
  for (const group of existingGroups.values())
    requireOwned(`Auto Scaling group ${group.name}`, group.tags, input.cluster);
  const templates = new Map<string, Awaited<ReturnType<Ec2Api['describeLaunchTemplate']>>>();
  for (const plan of plans) {
    const lt = await deps.ec2.describeLaunchTemplate(plan.name);
    if (lt) requireOwned(`launch template ${plan.name}`, lt.tags, input.cluster);
    templates.set(plan.name, lt);
  }
  // kubeadm on a replacement joins the control plane that runs now and would refuse a skipped
  // minor version or a downgrade, so nothing is changed for one (whoever started the update). What
  // runs, not the templates: an update applied and not rolled has already changed those.
  const wanted = plans.find((p) => isControlPlaneRole(p.role))?.bootstrapSettings.KubernetesVersion;
  const running = await runningControlPlaneVersion(input.cluster, manifest, deps);
  const issues = kubernetesVersionChangeIssues(running?.version, wanted);
  if (issues.length > 0)
    throw new SpecInvalidError(
      issues.map((i) => ({ ...i, message: `${i.message} (${describeRunningVersion(running!)})` })),
    );
  // The profiles the launch stage makes get their roles, which the stack has made by now.
  const held = stackHeldInstanceProfiles(stack.outputs);
  await deps.instanceProfiles.attachRoles(
    input.cluster,
    instanceRoleKinds(manifest).filter((kind) => !held.includes(kind)),
  );
  // Before anything can launch: a new instance must find a token the API server accepts, and
  // with Private DNS resolve api.internal from the cluster's VPC.
  await renewBootstrapToken(input.cluster, deps.objects, now);
  if (deps.zoneVpc) await associateClusterVpc(manifest, { ...deps, zoneVpc: deps.zoneVpc });
  for (const plan of plans) {
    const data = plan.launchTemplate as RequestLaunchTemplateData;
    const lt = templates.get(plan.name);
    let ltId: string;
    let version: number;
    let changed = false;
    if (!lt) {
      const created = await deps.ec2.createLaunchTemplate(
        plan.name,
        data,
        [...clusterTags(input.cluster), ownerTag(deploymentOf(deps)), nameTag(plan.kopsName)],
        clientToken(input.owner, plan.name, plan.specHash),
      );
      ({ id: ltId, version } = created);
      changed = true;
    } else if (
      sameLaunchTemplate(await deps.ec2.latestLaunchTemplateData(lt.id), plan.launchTemplate)
    ) {
      ({ id: ltId, latestVersion: version } = lt);
    } else {
      ltId = lt.id;
      version = await deps.ec2.createLaunchTemplateVersion(
        lt.id,
        data,
        clientToken(input.owner, plan.name, plan.specHash),
      );
      changed = true;
    }
    if (changed || lt?.defaultVersion !== version)
      await deps.ec2.setDefaultLaunchTemplateVersion(ltId, version);
    const settings = {
      name: plan.name,
      launchTemplateId: ltId,
      launchTemplateVersion: version,
      minSize: plan.minSize,
      maxSize: plan.maxSize,
      subnetIds: plan.subnetIds,
      ...(plan.maxInstanceLifetimeSeconds
        ? { maxInstanceLifetimeSeconds: plan.maxInstanceLifetimeSeconds }
        : {}),
      ...(plan.mixedInstancesPolicy ? { mixedInstancesPolicy: plan.mixedInstancesPolicy } : {}),
      ...(plan.targetGroupArns ? { targetGroupArns: plan.targetGroupArns } : {}),
      tags: plan.groupTags,
    };
    const group = existingGroups.get(plan.name);
    let created = false;
    if (!group) {
      // Auto Scaling refuses a profile IAM made seconds ago until it has propagated (kOps retries
      // its groups too): a transient error, so the state machine runs this step again.
      await whileInstanceProfilePropagates(() => deps.autoscaling.createGroup(settings));
      created = true;
    } else {
      const desired = Math.min(Math.max(group.desiredCapacity, plan.minSize), plan.maxSize);
      const differs =
        group.minSize !== plan.minSize ||
        group.maxSize !== plan.maxSize ||
        group.desiredCapacity !== desired ||
        group.launchTemplateVersion !== String(version) ||
        group.subnetIds.slice().sort().join() !== plan.subnetIds.slice().sort().join() ||
        group.tags[SPEC_HASH_TAG] !== plan.specHash;
      if (differs) {
        await deps.autoscaling.updateGroup(settings, desired);
        changed = true;
      }
    }
    summaries.push({
      instanceGroup: plan.instanceGroup,
      name: plan.name,
      launchTemplateVersion: version,
      specHash: plan.specHash,
      maxPods: plan.maxPods,
      maxPodsSource: plan.maxPodsSource,
      minSize: plan.minSize,
      maxSize: plan.maxSize,
      created,
      changed,
    });
  }
  return { groups: summaries, deadline: deadlineAfter(now, deps.groupsTimeoutSeconds) };
}

async function describeGroups(
  input: { cluster: string; deadline: string },
  deps: LaunchDeps,
): Promise<GroupsStatus> {
  const now = clockNow();
  const manifest = await deps.store.readManifest(input.cluster);
  const names = manifest.instanceGroups.map((ig) => groupName(ig.metadata.name, input.cluster));
  const groups = (await deps.autoscaling.describeGroups(names)).filter((g) =>
    isOwnedBy(g.tags, input.cluster),
  );
  const byName = new Map(groups.map((g) => [g.name, g]));
  const status = names.map((name) => {
    const g = byName.get(name);
    return {
      name,
      desired: g?.desiredCapacity ?? 0,
      inService: g?.instances.filter((i) => i.lifecycleState === 'InService').length ?? 0,
    };
  });
  const ready = status.every((s) => s.inService >= s.desired) && groups.length === names.length;
  if (!ready && now > new Date(input.deadline)) {
    const short = status
      .filter((s) => s.inService < s.desired)
      .map((s) => `${s.name} ${s.inService}/${s.desired}`);
    throw new WaitTimeoutError(
      `instance groups not in service at the deadline ${input.deadline}: ${short.join(', ')}`,
    );
  }
  return { ready, deadline: input.deadline, groups: status };
}

export async function launch(input: LaunchInput, deps: LaunchDeps) {
  switch (input.action) {
    case 'ensureStack':
      return ensureStack(input, deps);
    case 'describeStack':
      return describeStack(input, deps);
    case 'ensureGroups':
      return ensureGroups(input, deps);
    case 'describeGroups':
      return describeGroups(input, deps);
  }
}
