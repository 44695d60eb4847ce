import { LONGEST_EXECUTION_SECONDS } from '../../config.js';
import type { FunctionLogicalId } from '../../functions-registry.js';
import { DEFAULT_BOOT_ESTIMATE_SECONDS } from '../../planning/boot-estimate.js';
import {
  CHILD_PLAN,
  choice,
  failWithError,
  isPresentAndTrue,
  isTrue,
  lambdaTask,
  type Machine,
  pass,
  pollUntil,
  type State,
  type States,
  type TaskOptions,
  upsertApiRecords,
  validateClusterPoll,
} from '../asl.js';

const CLUSTER = '$.cluster';
/** This child's claim: its parent (the lock owner) and itself. Every step that changes something checks it. */
const CLAIM = { 'owner.$': '$.lockOwner', 'execution.$': '$$.Execution.Id' };

/**
 * Nothing in the child holds or releases the lock, so a failure ends the child with its own
 * error and cause, the parent's RollGroup Task fails with it, and the parent's RecordFailure
 * records it and releases the lock. Only the steps that leave nodes cordoned (Drain, Terminate)
 * have a Catch: it uncordons them first (`uncordonOnFailure`).
 */
const task = (
  fn: FunctionLogicalId,
  parameters: Record<string, unknown>,
  options: TaskOptions,
): State => lambdaTask(fn, parameters, { catch: false, ...options });

/** The Catch of a step that cordoned nodes: the error kept at `$.error`, then UncordonAfterFailure. */
const uncordonOnFailure = (): State[] => [
  { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'UncordonAfterFailure' },
];

/** The boot time the roll has observed so far (kept with the batch count across batches). */
const BOOT_ESTIMATE = '$.batches.bootEstimateSeconds';

/**
 * The replacements poll, entered at CheckReplacements after WaitForBoot: every 20 s until the
 * step's replacements are Ready nodes. Its answer replaces `$.next`: the same step while they
 * are not ready; once they are, the look has also validated the cluster and, when valid, worked
 * out the following step (see src/stages/roll-step-end.ts). A new control-plane instance's
 * address goes into the API records first, and is validated after.
 */
function replacementsPoll(): States {
  const states = pollUntil({
    wait: 'WaitForReplacements',
    check: 'CheckReplacements',
    choice: 'ReplacementsReady',
    seconds: 20,
    fn: 'RollingUpdateFunction',
    parameters: {
      action: 'awaitReplacements',
      'cluster.$': CLUSTER,
      'step.$': '$.next.step',
      'deadline.$': '$.replace.deadline',
      'cloudOnly.$': '$.cloudOnly',
      'boot.$': '$.replace.boot',
      claim: CLAIM,
      following: {
        'instanceGroup.$': '$.instanceGroup',
        'options.$': '$.options',
        history: {
          'steps.$': 'States.MathAdd($.batches.count, 1)',
          'batchLimit.$': '$.batchLimit',
          'startedAt.$': '$$.Execution.StartTime',
        },
      },
    },
    checkComment:
      'Are the replacements in service and Ready nodes? Once they are (a control-plane step aside), the same invocation validates the cluster and, when it is valid, answers the following step (or continueAsNew) from the groups it described once.',
    resultPath: '$.next',
    until: isTrue('$.next.ready'),
    next: 'ValidateAfterStep',
    catch: false,
  });
  states.ReplacementsReady = choice(
    [
      [
        { And: [isTrue('$.next.ready'), isPresentAndTrue('$.next.step.controlPlane')] },
        'UpsertApiRecords',
      ],
      [isTrue('$.next.ready'), 'ValidateAfterStep'],
    ],
    'WaitForReplacements',
    'A new control-plane instance has a new address: the API records follow it before validation.',
  );
  return states;
}

/**
 * The poll loops of one roll step, as today's rolling-update ran them: surge or drain and
 * terminate, wait for the replacements to join, follow a new control-plane address in DNS,
 * validate; then `next`.
 */
function rollStep(next: string): States {
  return {
    Surge: task(
      'RollingUpdateFunction',
      {
        action: 'surge',
        'cluster.$': CLUSTER,
        'step.$': '$.next.step',
        claim: CLAIM,
        'bootEstimateSeconds.$': BOOT_ESTIMATE,
      },
      {
        comment:
          'Detach without lowering desired capacity: the group launches replacements while the old instances still serve.',
        resultPath: '$.replace',
        next: 'WaitForBoot',
      },
    ),
    Drain: task(
      'RollingUpdateFunction',
      {
        action: 'drain',
        'cluster.$': CLUSTER,
        'step.$': '$.next.step',
        'deadline.$': '$.next.drainDeadline',
        'cloudOnly.$': '$.cloudOnly',
        claim: CLAIM,
      },
      {
        comment:
          'Cordon, then evict through the eviction API (PodDisruptionBudgets honoured, several pods at once); DaemonSet and static pods stay. One pass returns before the invocation runs out of time, with what is left counted: Drained polls again. Only counts are kept, never pod names.',
        resultSelector: {
          'drained.$': '$.drained',
          'remaining.$': '$.remaining',
          'blocked.$': '$.blocked',
          'waitSeconds.$': '$.waitSeconds',
        },
        resultPath: '$.drain',
        next: 'Drained',
        catch: uncordonOnFailure(),
      },
    ),
    Drained: choice(
      [
        // `behindLoadBalancer` is only ever there as true (a control-plane step behind the API load balancer).
        [
          {
            And: [
              isTrue('$.drain.drained'),
              { Variable: '$.next.behindLoadBalancer', IsPresent: true },
            ],
          },
          'Deregister',
        ],
        [isTrue('$.drain.drained'), 'Terminate'],
      ],
      'WaitForDrain',
    ),
    Deregister: task(
      'RollingUpdateFunction',
      { action: 'deregister', 'cluster.$': CLUSTER, 'step.$': '$.next.step', claim: CLAIM },
      {
        comment:
          'A control-plane instance of a cluster behind the API load balancer leaves it first.',
        resultPath: '$.deregistration',
        next: 'WaitForDeregistration',
        catch: uncordonOnFailure(),
      },
    ),
    WaitForDeregistration: {
      Type: 'Wait',
      Comment:
        "The target group's deregistration delay: open API connections end before the instance goes.",
      SecondsPath: '$.deregistration.delaySeconds',
      Next: 'Terminate',
    },
    WaitForDrain: {
      Type: 'Wait',
      Comment:
        "The poll interval while a pod waits for its eviction; once every pod left is terminating, until the end of the last one's grace period (at most 60 s).",
      SecondsPath: '$.drain.waitSeconds',
      Next: 'Drain',
    },
    Terminate: task(
      'RollingUpdateFunction',
      {
        action: 'terminate',
        'cluster.$': CLUSTER,
        'step.$': '$.next.step',
        claim: CLAIM,
        'bootEstimateSeconds.$': BOOT_ESTIMATE,
      },
      { resultPath: '$.replace', next: 'WaitForBoot', catch: uncordonOnFailure() },
    ),
    UncordonAfterFailure: task(
      'RollingUpdateFunction',
      {
        action: 'uncordon',
        'cluster.$': CLUSTER,
        'step.$': '$.next.step',
        'cloudOnly.$': '$.cloudOnly',
        claim: CLAIM,
      },
      {
        comment:
          "The drain or terminate failed (its retries, a Lambda timeout's included, exhausted): the step's nodes that still run take pods again, unless another execution now holds the group. Then the child fails with the step's own error.",
        resultPath: null,
        next: 'GroupFailed',
        catch: [
          { ErrorEquals: ['States.ALL'], ResultPath: '$.uncordonError', Next: 'GroupFailed' },
        ],
      },
    ),
    GroupFailed: failWithError(),
    WaitForBoot: {
      Type: 'Wait',
      Comment:
        'No replacement is a Ready node before it has booted: wait the boot time this roll has observed (0 when the step launched nothing), then poll.',
      SecondsPath: '$.replace.boot.waitSeconds',
      Next: 'CheckReplacements',
    },
    ...replacementsPoll(),
    ...upsertApiRecords(CLUSTER, 'ValidateAfterStep', false),
    ValidateAfterStep: pass(
      {
        'count.$': 'States.MathAdd($.batches.count, 1)',
        'bootEstimateSeconds.$': '$.next.bootEstimateSeconds',
        'validationDeadline.$': '$.next.validationDeadline',
      },
      '$.batches',
      'Validated',
      'A step (surge or replace) is rolled: count it, keep the boot time the replacements took and a fresh validation deadline.',
    ),
    Validated: choice(
      [[isPresentAndTrue('$.next.valid'), 'StepKind']],
      'ValidateCluster',
      'The look validated the cluster and answered the following step: on to it. Otherwise (not valid yet, or a control-plane step) the validation poll, then NextStep.',
    ),
    ...validateClusterPoll(
      { wait: 'WaitForValidation', check: 'ValidateCluster', choice: 'ClusterValid' },
      CLUSTER,
      next,
      { catch: false, deadlinePath: '$.batches.validationDeadline', claim: CLAIM },
    ),
  };
}

/**
 * `rolling-update-group`: the roll of one instance group, started by `rolling-update` (RollGroup)
 * with `{cluster, instanceGroup, options, cloudOnly, lockOwner, batchLimit}`. It runs at least
 * `batchLimit` steps, more while its history leaves room for a worst-case step (NextStep decides,
 * see src/planning/child-history.ts), and then succeeds with `{continue: true}`; the parent starts
 * a fresh execution, which picks up where this one stopped (`next` works from what AWS reports).
 * So no execution's history outgrows Step Functions' quota, whatever the group's size
 * (continue-as-new).
 */
export function rollingUpdateGroup(): Machine {
  return {
    Comment:
      'kopsless rolling-update, one instance group: replace its out-of-date instances batch by batch (surge or drain, terminate, wait for the replacements to join, validate), at least batchLimit steps per execution and more while its history has room, then {continue: true} for the parent to start the next; {continue: false} when the group is done. Started by rolling-update; input {cluster, instanceGroup, options, cloudOnly, lockOwner, batchLimit}.',
    StartAt: 'RequireLock',
    // As long as the parent may run: one group of many batches never outlives the roll.
    TimeoutSeconds: LONGEST_EXECUTION_SECONDS,
    States: {
      RequireLock: task(
        'WriteStateFunction',
        {
          action: 'requireLock',
          'cluster.$': CLUSTER,
          'owner.$': '$.lockOwner',
          'instanceGroup.$': '$.instanceGroup',
          'execution.$': '$$.Execution.Id',
          plan: CHILD_PLAN,
        },
        {
          comment:
            "The parent's lock and this group's claim, or nothing: a child started by hand (the console) fails and changes nothing when no roll holds the cluster (ClusterLockedError), or when its group is not in the parent's current wave or another live execution rolls it (InstanceGroupClaimError).",
          resultPath: null,
          next: 'StartBatches',
        },
      ),
      StartBatches: pass(
        { count: 0, bootEstimateSeconds: DEFAULT_BOOT_ESTIMATE_SECONDS },
        '$.batches',
        'NextStep',
      ),
      NextStep: task(
        'RollingUpdateFunction',
        {
          action: 'next',
          'cluster.$': CLUSTER,
          'instanceGroup.$': '$.instanceGroup',
          'options.$': '$.options',
          history: {
            'steps.$': '$.batches.count',
            'batchLimit.$': '$.batchLimit',
            'startedAt.$': '$$.Execution.StartTime',
          },
        },
        {
          comment:
            "Worked out from what AWS reports now for this group, so a new execution (or a stopped roll run again) resumes where the last one was. It only reads: the step that acts on it checks first that the parent still holds the lock and this execution the group's claim (LockLostError otherwise). Past batchLimit steps it answers continueAsNew instead, once the history this execution can hold at most (its steps and its run time) leaves no room for a worst-case step.",
          resultPath: '$.next',
          next: 'StepKind',
        },
      ),
      StepKind: choice(
        [
          [isPresentAndTrue('$.next.continueAsNew'), 'ContinueAsNew'],
          [{ Variable: '$.next.step.kind', StringEquals: 'done' }, 'GroupDone'],
          [{ Variable: '$.next.step.kind', StringEquals: 'surge' }, 'Surge'],
        ],
        'Drain',
      ),
      ...rollStep('NextStep'),
      // Pass with Parameters and no ResultPath: the output is exactly the object (never "ResultPath": "$").
      ContinueAsNew: { Type: 'Pass', Parameters: { continue: true }, End: true },
      GroupDone: { Type: 'Pass', Parameters: { continue: false }, End: true },
    },
  };
}
