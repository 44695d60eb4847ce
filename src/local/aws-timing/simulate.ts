import { AutoScalingServiceException } from '@aws-sdk/client-auto-scaling';
import { NoSuchEntityException } from '@aws-sdk/client-iam';
import { type AwsCall, observeAwsCalls } from '../instrument/aws-calls.js';
import { AWS_DURATIONS } from './durations.js';
import { stackCreateSeconds } from './stack-duration.js';

/**
 * AWS's own durations on the local backend's simulated clock. moto finishes everything at once:
 * a stack is CREATE_COMPLETE as CreateStack returns, an Auto Scaling group's instances are
 * InService at once, a Route53 change INSYNC. With this installed, the handlers see what AWS
 * would show them on the clock they read: a new stack CREATE_IN_PROGRESS (without outputs) for
 * as long as its longest chain of resources takes (stack-duration.ts), an instance Pending until
 * `instanceInService` seconds after the Auto Scaling call that launched it, a record change
 * PENDING for `route53Change` seconds, and an instance profile made or given its role through IAM
 * refused by CreateAutoScalingGroup, as AWS refuses it, for `iamInstanceProfilePropagation`
 * seconds after; a role a new stack makes is not found through IAM until the stack has made it. So a create run on the simulated clock waits through the
 * state machine's own Wait states and polls, not through a formula. Only the answers to calls
 * made inside a Lambda handler are changed (see aws-calls.ts), never moto's state.
 *
 * Not modelled: stack updates and deletes (their status is moto's), EC2's own instance states
 * (DescribeInstances says running at once; the simulated Kubernetes API makes a node Ready
 * `bootSeconds` after its launch).
 */

/** What the simulation needs: the simulated clock the handlers read. */
export interface AwsTimingOptions {
  now: () => Date;
  /** Seconds an Auto Scaling instance is Pending (default: AWS_DURATIONS.instanceInService). */
  instanceInServiceSeconds?: number;
  /** Seconds a Route53 change is PENDING (default: AWS_DURATIONS.route53Change). */
  route53ChangeSeconds?: number;
  /**
   * Seconds after CreateInstanceProfile or AddRoleToInstanceProfile during which Auto Scaling
   * refuses the profile (default: AWS_DURATIONS.iamInstanceProfilePropagation).
   */
  instanceProfilePropagationSeconds?: number;
}

/** A running simulation: what it has seen, for reports, and how to stop it. */
export interface AwsTiming {
  /** Per stack name: when CreateStack was called and the seconds the stack takes (simulated ms since the epoch). */
  stacks(): ReadonlyMap<string, { createdAt: number; seconds: number }>;
  stop(): void;
}

const GROUP_LAUNCHES = new Set([
  'CreateAutoScalingGroup',
  'UpdateAutoScalingGroup',
  'SetDesiredCapacity',
  'DetachInstances',
  'TerminateInstanceInAutoScalingGroup',
]);

type Stack = { StackName?: string; StackId?: string; StackStatus?: string; Outputs?: unknown };
type Group = {
  AutoScalingGroupName?: string;
  Instances?: Array<{ InstanceId?: string; LifecycleState?: string }>;
};
type ChangeInfo = { Id?: string; Status?: string };

const changeKey = (id: string | undefined) => (id ?? '').replace(/^\/change\//, '');

/** The profile name of an instance-profile ARN (its last segment, after the path). */
const profileNameOf = (arn: unknown) =>
  String(arn ?? '')
    .split('/')
    .pop() ?? '';

type LaunchTemplateRef = { LaunchTemplateId?: string; LaunchTemplateName?: string };

/** The launch template a CreateAutoScalingGroup names, directly or in its mixed-instances policy. */
function launchTemplateOf(input: Record<string, unknown>): LaunchTemplateRef | undefined {
  const mixed = input.MixedInstancesPolicy as
    | { LaunchTemplate?: { LaunchTemplateSpecification?: LaunchTemplateRef } }
    | undefined;
  return (
    (input.LaunchTemplate as LaunchTemplateRef | undefined) ??
    mixed?.LaunchTemplate?.LaunchTemplateSpecification
  );
}

/** Starts changing the handlers' answers as described above; `stop()` ends it. */
export function simulateAwsTiming(options: AwsTimingOptions): AwsTiming {
  const inService = options.instanceInServiceSeconds ?? AWS_DURATIONS.instanceInService.seconds;
  const inSync = options.route53ChangeSeconds ?? AWS_DURATIONS.route53Change.seconds;
  const propagation =
    options.instanceProfilePropagationSeconds ??
    AWS_DURATIONS.iamInstanceProfilePropagation.seconds;
  const now = () => options.now().getTime();
  const stacks = new Map<string, { createdAt: number; seconds: number }>();
  const stackIds = new Map<string, string>();
  const groupChangedAt = new Map<string, number>();
  const instanceGroup = new Map<string, string>();
  const launchedAt = new Map<string, number>();
  const changes = new Map<string, number>();
  /** Per instance profile name: when IAM last made it or gave it a role. */
  const profileChangedAt = new Map<string, number>();
  /** Per launch template ID and name: the instance profile its latest version names. */
  const templateProfile = new Map<string, string>();
  /** Per IAM role name a new stack makes: when the stack has made it. */
  const roleMadeAt = new Map<string, number>();

  // moto makes a stack's roles with the stack: IAM answers for one only once the stack's
  // chain has reached it.
  const roleNotMadeYet = (call: AwsCall) => {
    if (call.service !== 'IAM' || typeof call.input.RoleName !== 'string') return;
    const madeAt = roleMadeAt.get(call.input.RoleName);
    if (madeAt === undefined || now() >= madeAt) return;
    throw new NoSuchEntityException({
      $metadata: { httpStatusCode: 404 },
      message: `The role with name ${call.input.RoleName} cannot be found.`,
    });
  };

  // Auto Scaling checks the launch template's instance profile when the group is created: until
  // the profile has propagated it answers with a ValidationError, and creates nothing.
  const before = (call: AwsCall) => {
    roleNotMadeYet(call);
    if (call.service !== 'Auto Scaling' || call.operation !== 'CreateAutoScalingGroup') return;
    const template = launchTemplateOf(call.input);
    const profile = templateProfile.get(
      template?.LaunchTemplateId ?? template?.LaunchTemplateName ?? '',
    );
    const changedAt = profile === undefined ? undefined : profileChangedAt.get(profile);
    if (changedAt === undefined || now() >= changedAt + propagation * 1000) return;
    throw new AutoScalingServiceException({
      name: 'ValidationError',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: `You must use a valid fully-formed launch template. Invalid IAM Instance Profile name: ${profile}`,
    });
  };

  const after = (call: AwsCall, outcome: { output?: unknown; error?: unknown }) => {
    if (outcome.error !== undefined) return;
    const input = call.input;
    // What the SDK's middleware stack returns: the command's output is its `output`.
    const output = (outcome.output as { output?: unknown } | undefined)?.output;
    if (call.service === 'CloudFormation' && call.operation === 'CreateStack') {
      const name = String(input.StackName);
      const template = JSON.parse(String(input.TemplateBody ?? '{}')) as {
        Resources?: Record<string, { Type?: string; Properties?: { RoleName?: unknown } }>;
      };
      const { seconds, completesAt } = stackCreateSeconds(template);
      stacks.set(name, { createdAt: now(), seconds });
      for (const [id, resource] of Object.entries(template.Resources ?? {}))
        if (resource.Type === 'AWS::IAM::Role' && typeof resource.Properties?.RoleName === 'string')
          roleMadeAt.set(resource.Properties.RoleName, now() + (completesAt.get(id) ?? 0) * 1000);
      const id = (output as { StackId?: string } | undefined)?.StackId;
      if (id) stackIds.set(id, name);
    } else if (call.service === 'Auto Scaling' && GROUP_LAUNCHES.has(call.operation)) {
      const group =
        typeof input.AutoScalingGroupName === 'string'
          ? input.AutoScalingGroupName
          : instanceGroup.get(String(input.InstanceId));
      if (group) groupChangedAt.set(group, now());
    } else if (
      call.service === 'IAM' &&
      (call.operation === 'CreateInstanceProfile' || call.operation === 'AddRoleToInstanceProfile')
    ) {
      profileChangedAt.set(String(input.InstanceProfileName), now());
    } else if (
      call.service === 'EC2' &&
      (call.operation === 'CreateLaunchTemplate' ||
        call.operation === 'CreateLaunchTemplateVersion')
    ) {
      const data = input.LaunchTemplateData as
        | { IamInstanceProfile?: { Arn?: string } }
        | undefined;
      if (!data?.IamInstanceProfile?.Arn) return;
      const profile = profileNameOf(data.IamInstanceProfile.Arn);
      const made = (output as { LaunchTemplate?: LaunchTemplateRef } | undefined)?.LaunchTemplate;
      for (const key of [input.LaunchTemplateId, input.LaunchTemplateName, made?.LaunchTemplateId])
        if (typeof key === 'string') templateProfile.set(key, profile);
    } else if (call.service === 'Route 53' && call.operation === 'ChangeResourceRecordSets') {
      const info = (output as { ChangeInfo?: ChangeInfo } | undefined)?.ChangeInfo;
      if (info?.Id) changes.set(changeKey(info.Id), now());
    }
  };

  const stackAnswer = (output: { Stacks?: Stack[] }) => ({
    ...output,
    Stacks: output.Stacks?.map((stack) => {
      const name = stack.StackName ?? stackIds.get(stack.StackId ?? '') ?? '';
      const created = stacks.get(name);
      if (!created || stack.StackStatus !== 'CREATE_COMPLETE') return stack;
      if (now() >= created.createdAt + created.seconds * 1000) return stack;
      // AWS shows a stack's outputs only once it is complete.
      return { ...stack, StackStatus: 'CREATE_IN_PROGRESS', Outputs: undefined };
    }),
  });

  const groupAnswer = (output: { AutoScalingGroups?: Group[] }) => ({
    ...output,
    AutoScalingGroups: output.AutoScalingGroups?.map((group) => ({
      ...group,
      Instances: group.Instances?.map((instance) => {
        const id = instance.InstanceId ?? '';
        const name = group.AutoScalingGroupName ?? '';
        instanceGroup.set(id, name);
        if (!launchedAt.has(id)) launchedAt.set(id, groupChangedAt.get(name) ?? now());
        const pending = now() < launchedAt.get(id)! + inService * 1000;
        return pending && instance.LifecycleState === 'InService'
          ? { ...instance, LifecycleState: 'Pending' }
          : instance;
      }),
    })),
  });

  const changeAnswer = (output: { ChangeInfo?: ChangeInfo }) => {
    const submitted = changes.get(changeKey(output.ChangeInfo?.Id));
    if (submitted === undefined || now() >= submitted + inSync * 1000) return output;
    return { ...output, ChangeInfo: { ...output.ChangeInfo, Status: 'PENDING' } };
  };

  const answer = (call: AwsCall, output: unknown): unknown => {
    if (call.service === 'CloudFormation' && call.operation === 'DescribeStacks')
      return stackAnswer(output as { Stacks?: Stack[] });
    if (call.service === 'Auto Scaling' && call.operation === 'DescribeAutoScalingGroups')
      return groupAnswer(output as { AutoScalingGroups?: Group[] });
    if (
      call.service === 'Route 53' &&
      (call.operation === 'GetChange' || call.operation === 'ChangeResourceRecordSets')
    )
      return changeAnswer(output as { ChangeInfo?: ChangeInfo });
    return undefined;
  };

  const stop = observeAwsCalls({ before, after, answer });
  return { stacks: () => stacks, stop };
}
