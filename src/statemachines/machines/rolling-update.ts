import { acquireLock, choice, failWithError, isPresentAndTrue, isTrue, lambdaTask, markPhase, pass, pollUntil, recordFailure, recordSuccess, updateFlow, upsertApiRecords, validateInput, type Machine } from '../asl.js';

const CLUSTER = '$.cluster';

/** `rolling-update` (one execution for the whole roll). */
export function rollingUpdate(): Machine {
  return {
    Comment:
      'kopsless rolling-update cluster: replace out-of-date instances group by group (bastions, control plane one at a time, nodes in batches of maxSurge + maxUnavailable), draining and validating as kOps does. Input: {cluster, instanceGroups: [], force, cloudOnly} and, to apply the spec first (update + roll), update: true.',
    StartAt: 'ValidateInput',
    TimeoutSeconds: 86400,
    States: {
      ValidateInput: validateInput('rolling-update', 'AcquireLock'),
      AcquireLock: acquireLock(CLUSTER, 'rolling-update', 'MarkRolling'),
      MarkRolling: markPhase(CLUSTER, 'RollingUpdate', 'UpdateFirst'),
      UpdateFirst: choice([[isPresentAndTrue('$.update'), 'ApplyStack']], 'PlanRollingUpdate', 'The ENI watcher asks for update + rolling update in one execution ({update: true}).'),
      ...updateFlow(
        CLUSTER,
        {
          applyStack: 'ApplyStack',
          waitForStack: 'WaitForStack',
          checkStack: 'CheckStack',
          stackReady: 'StackReady',
          applyGroups: 'ApplyInstanceGroups',
          applyGroupsComment: 'New launch template versions (the new maxPods in the user-data); the roll below replaces the instances.',
          waitForGroups: 'WaitForGroups',
          checkGroups: 'CheckGroups',
          groupsReady: 'GroupsReady',
        },
        'PlanRollingUpdate',
      ),
      PlanRollingUpdate: lambdaTask(
        'RollingUpdateFunction',
        { action: 'plan', 'cluster.$': CLUSTER, 'instanceGroups.$': '$.instanceGroups', 'force.$': '$.force', 'cloudOnly.$': '$.cloudOnly' },
        { resultPath: '$.plan', next: 'StartValidation' },
      ),
      StartValidation: pass({ 'deadline.$': '$.plan.validationDeadline' }, '$.validation', 'ValidateCluster', 'kOps validates the cluster before it touches anything.'),
      ...pollUntil({
        wait: 'WaitForValidation',
        check: 'ValidateCluster',
        choice: 'ClusterValid',
        seconds: 15,
        fn: 'RollingUpdateFunction',
        parameters: { action: 'validate', 'cluster.$': CLUSTER, 'deadline.$': '$.validation.deadline', 'cloudOnly.$': '$.cloudOnly' },
        resultPath: '$.validation',
        until: isTrue('$.validation.valid'),
        next: 'NextStep',
      }),
      NextStep: lambdaTask(
        'RollingUpdateFunction',
        { action: 'next', 'cluster.$': CLUSTER, 'options.$': '$.plan.options' },
        { comment: 'Worked out from what AWS reports now, so a stopped roll resumes where it was.', resultPath: '$.next', next: 'StepKind' },
      ),
      StepKind: choice(
        [
          [{ Variable: '$.next.step.kind', StringEquals: 'done' }, 'RecordSuccess'],
          [{ Variable: '$.next.step.kind', StringEquals: 'surge' }, 'Surge'],
        ],
        'Drain',
      ),
      Surge: lambdaTask(
        'RollingUpdateFunction',
        { action: 'surge', 'cluster.$': CLUSTER, 'step.$': '$.next.step' },
        { comment: 'Detach without lowering desired capacity: the group launches replacements while the old instances still serve.', resultPath: '$.replace', next: 'WaitForReplacements' },
      ),
      Drain: lambdaTask(
        'RollingUpdateFunction',
        { action: 'drain', 'cluster.$': CLUSTER, 'step.$': '$.next.step', 'deadline.$': '$.next.drainDeadline', 'cloudOnly.$': '$.cloudOnly' },
        { comment: 'Cordon, then evict through the eviction API (PodDisruptionBudgets honoured); DaemonSet and static pods stay.', resultPath: '$.drain', next: 'Drained' },
      ),
      Drained: choice([[isTrue('$.drain.drained'), 'Terminate']], 'WaitForDrain'),
      WaitForDrain: { Type: 'Wait', Seconds: 10, Next: 'Drain' },
      Terminate: lambdaTask('RollingUpdateFunction', { action: 'terminate', 'cluster.$': CLUSTER, 'step.$': '$.next.step' }, { resultPath: '$.replace', next: 'WaitForReplacements' }),
      ...pollUntil({
        wait: 'WaitForReplacements',
        check: 'CheckReplacements',
        choice: 'ReplacementsReady',
        seconds: 20,
        fn: 'RollingUpdateFunction',
        parameters: { action: 'awaitReplacements', 'cluster.$': CLUSTER, 'step.$': '$.next.step', 'deadline.$': '$.replace.deadline', 'cloudOnly.$': '$.cloudOnly' },
        resultPath: '$.replacements',
        until: isTrue('$.replacements.ready'),
        next: 'ControlPlaneReplaced',
      }),
      ControlPlaneReplaced: choice([[isPresentAndTrue('$.next.step.controlPlane'), 'UpsertApiRecords']], 'ValidateAfterStep', 'A new control-plane instance has a new address: the API records follow it before validation.'),
      ...upsertApiRecords(CLUSTER, 'ValidateAfterStep'),
      ValidateAfterStep: pass({ 'deadline.$': '$.replacements.validationDeadline' }, '$.validation', 'ValidateCluster', 'Validate before the next batch, with a fresh deadline.'),
      RecordSuccess: recordSuccess(CLUSTER, 'RollingUpdateDone'),
      RollingUpdateDone: { Type: 'Succeed' },
      RecordFailure: recordFailure(
        CLUSTER,
        'RollingUpdateFailed',
        "Record kOps's message in status.json and release the lock; nothing half-done is left (a failed drain uncordons), so running the roll again continues.",
      ),
      RollingUpdateFailed: failWithError(),
    },
  };
}
