import { LONGEST_EXECUTION_SECONDS } from '../../config.js';
import { stateMachineLogicalId } from '../../functions-registry.js';
import { WAVE_VALIDATION_POLL_SECONDS } from '../../planning/rolling-update.js';
import {
  acquireLock,
  CHILD_PLAN,
  catchAll,
  choice,
  failWithError,
  isPresentAndTrue,
  isTrue,
  lambdaTask,
  type Machine,
  markPhase,
  pass,
  recordFailure,
  recordSuccess,
  type State,
  startChild,
  updateFlow,
  validateClusterPoll,
  validateInput,
} from '../asl.js';

const CLUSTER = '$.cluster';

/** `${RollingUpdateGroupStateMachineArn}`: the child, substituted by template.yaml. */
export const CHILD_ARN = `\${${stateMachineLogicalId('rolling-update-group')}Arn}`;

/**
 * One wave: its groups side by side (MaxConcurrency 0: the plan already capped a wave at
 * parallelGroups and kept zones apart), each a loop of child executions until one reports
 * `continue: false`; then the whole cluster validated. The wave's groups are recorded in the lock
 * first (BeginWave), and each child claims its group there. No Catch in here: a failure ends the
 * wave's Map, and RollWaves' Catch records it.
 */
function wave(): Machine {
  return {
    StartAt: 'BeginWave',
    States: {
      BeginWave: lambdaTask(
        'WriteStateFunction',
        {
          action: 'beginWave',
          'cluster.$': '$.cluster',
          'owner.$': '$.lockOwner',
          'instanceGroups.$': '$.groups',
          plan: CHILD_PLAN,
        },
        {
          comment:
            "The wave's groups, recorded in the lock: a child claims its group there first, so one started by hand cannot roll a group outside the wave or beside the parent's own child.",
          resultPath: null,
          next: 'RollGroups',
          catch: false,
        },
      ),
      RollGroups: {
        Type: 'Map',
        ItemsPath: '$.groups',
        ItemSelector: {
          'cluster.$': '$.cluster',
          'instanceGroup.$': '$$.Map.Item.Value',
          'options.$': '$.options',
          'cloudOnly.$': '$.cloudOnly',
          'lockOwner.$': '$.lockOwner',
          'batchLimit.$': '$.batchLimit',
          turn: { sequence: 1 },
        },
        MaxConcurrency: 0,
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: 'ReserveChild',
          States: {
            ReserveChild: lambdaTask(
              'WriteStateFunction',
              {
                action: 'reserveChild',
                'cluster.$': '$.cluster',
                'owner.$': '$.lockOwner',
                'instanceGroup.$': '$.instanceGroup',
                'sequence.$': '$.turn.sequence',
              },
              {
                comment:
                  "The name of the group's next child, worked out from this execution, the group and the sequence, and reserved in the lock before it starts: a retried start is the same execution, and a child whose name was not reserved (one started by hand) is refused at its RequireLock.",
                resultSelector: { 'name.$': '$.name' },
                resultPath: '$.reservation',
                next: 'RollGroup',
                catch: false,
              },
            ),
            RollGroup: startChild(
              CHILD_ARN,
              '$.reservation.name',
              {
                'cluster.$': '$.cluster',
                'instanceGroup.$': '$.instanceGroup',
                'options.$': '$.options',
                'cloudOnly.$': '$.cloudOnly',
                'lockOwner.$': '$.lockOwner',
                'batchLimit.$': '$.batchLimit',
              },
              {
                comment:
                  'At most batchLimit batches per child execution; the child ends with {continue: true} while the group has more (continue-as-new).',
                resultSelector: { 'continue.$': '$.Output.continue' },
                resultPath: '$.child',
                next: 'GroupContinues',
                catch: false,
              },
            ),
            GroupContinues: choice([[isTrue('$.child.continue'), 'NextChild']], 'GroupRolled'),
            NextChild: pass(
              { 'sequence.$': 'States.MathAdd($.turn.sequence, 1)' },
              '$.turn',
              'ReserveChild',
            ),
            // An iteration's output is what the Map collects (ResultPath null drops it only afterwards):
            // the input, roster and forced ids included, times every group, would pass 256 KiB.
            GroupRolled: { Type: 'Succeed', OutputPath: '$.child' },
          },
        },
        ResultPath: null,
        Next: 'StartWaveValidation',
      },
      StartWaveValidation: lambdaTask(
        'RollingUpdateFunction',
        {
          action: 'awaitReplacements',
          'cluster.$': '$.cluster',
          step: { kind: 'done' },
          'deadline.$': '$.validationDeadline',
          'cloudOnly.$': '$.cloudOnly',
        },
        {
          comment:
            "A fresh validation deadline: a step of kind done is already replaced, so awaitReplacements only answers now + the validation timeout (the plan's deadline is long past after a wave).",
          resultSelector: { 'deadline.$': '$.validationDeadline' },
          resultPath: '$.validation',
          next: 'ValidateWave',
          catch: false,
        },
      ),
      ...validateClusterPoll(
        { wait: 'WaitForWaveValidation', check: 'ValidateWave', choice: 'WaveValid' },
        '$.cluster',
        'WaveRolled',
        {
          catch: false,
          // Once a minute: the parent validates once per wave, and its history must not grow with
          // the waves (100 waves validating to a 15-minute deadline: 100 × 16 turns × 9 events).
          seconds: WAVE_VALIDATION_POLL_SECONDS,
          checkComment:
            'kOps validates after each group; groups of one wave rolled side by side are validated together.',
        },
      ),
      WaveRolled: { Type: 'Succeed', OutputPath: '$.validation.valid' },
    },
  };
}

/** The waves, one after another (bastions, then each control-plane group alone, then the nodes). */
function rollWaves(): State {
  return {
    Type: 'Map',
    Comment:
      "The plan's waves one at a time; the lock holder (this execution) is passed to every child, which checks it first.",
    ItemsPath: '$.plan.waves',
    ItemSelector: {
      'groups.$': '$$.Map.Item.Value',
      'cluster.$': CLUSTER,
      'cloudOnly.$': '$.cloudOnly',
      'options.$': '$.plan.options',
      'batchLimit.$': '$.plan.batchLimit',
      'validationDeadline.$': '$.plan.validationDeadline',
      'lockOwner.$': '$$.Execution.Id',
    },
    MaxConcurrency: 1,
    ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, ...wave() },
    ResultPath: null,
    Catch: catchAll(),
    Next: 'RecordSuccess',
  };
}

/**
 * `rolling-update`: the parent. It holds the lock, applies the spec when asked, plans, validates,
 * and rolls the plan's waves through child executions of `rolling-update-group`; its own history
 * grows with the number of groups and child restarts, not with the number of instances.
 */
export function rollingUpdate(): Machine {
  return {
    Comment:
      'kopsless rolling-update cluster: replace out-of-date instances group by group (bastions, control plane one at a time, nodes in batches of maxSurge + maxUnavailable, up to parallelGroups node groups at once in different zones), draining and validating as kOps does; each group runs as child executions of rolling-update-group. Input: {cluster, instanceGroups: [], force, cloudOnly, parallelGroups, allowSameZone} and, to apply the spec first (update + roll), update: true.',
    StartAt: 'ValidateInput',
    TimeoutSeconds: LONGEST_EXECUTION_SECONDS,
    States: {
      ValidateInput: validateInput('rolling-update', 'AcquireLock'),
      AcquireLock: acquireLock(CLUSTER, 'rolling-update', 'MarkRolling'),
      MarkRolling: markPhase(CLUSTER, 'RollingUpdate', 'UpdateFirst'),
      UpdateFirst: choice(
        [[isPresentAndTrue('$.update'), 'ApplyStack']],
        'PlanRollingUpdate',
        'The ENI watcher asks for update + rolling update in one execution ({update: true}).',
      ),
      ...updateFlow(
        CLUSTER,
        {
          applyStack: 'ApplyStack',
          waitForStack: 'WaitForStack',
          checkStack: 'CheckStack',
          stackReady: 'StackReady',
          applyGroups: 'ApplyInstanceGroups',
          applyGroupsComment:
            'New launch template versions (the new maxPods in the user-data); the roll below replaces the instances.',
          waitForGroups: 'WaitForGroups',
          checkGroups: 'CheckGroups',
          groupsReady: 'GroupsReady',
        },
        'PlanRollingUpdate',
      ),
      PlanRollingUpdate: lambdaTask(
        'RollingUpdateFunction',
        {
          action: 'plan',
          'cluster.$': CLUSTER,
          'instanceGroups.$': '$.instanceGroups',
          'force.$': '$.force',
          'cloudOnly.$': '$.cloudOnly',
          'parallelGroups.$': '$.parallelGroups',
          'allowSameZone.$': '$.allowSameZone',
        },
        { resultPath: '$.plan', next: 'StartValidation' },
      ),
      StartValidation: pass(
        { 'deadline.$': '$.plan.validationDeadline' },
        '$.validation',
        'ValidateCluster',
        'kOps validates the cluster before it touches anything.',
      ),
      ...validateClusterPoll(
        { wait: 'WaitForValidation', check: 'ValidateCluster', choice: 'ClusterValid' },
        CLUSTER,
        'RollWaves',
      ),
      RollWaves: rollWaves(),
      RecordSuccess: recordSuccess(CLUSTER, 'RollingUpdateDone'),
      RollingUpdateDone: { Type: 'Succeed' },
      RecordFailure: recordFailure(
        CLUSTER,
        'RollingUpdateFailed',
        "Record kOps's message in status.json (a child's failure unwrapped from the Task's cause) and release the lock; nothing half-done is left (a failed drain uncordons), so running the roll again continues.",
      ),
      RollingUpdateFailed: failWithError(),
    },
  };
}
