import {
  acquireLock,
  catchAll,
  failWithError,
  lambdaTask,
  type Machine,
  recordFailure,
  recordSuccess,
  updateFlow,
  upsertApiRecords,
  validateInput,
} from '../asl.js';

const CLUSTER = '$.spec.cluster';

/** `create-cluster`: validate, lock, register, stack and groups, DNS, release. */
export function createCluster(): Machine {
  return {
    Comment:
      'kopsless create cluster: validate the manifest, take the lock and write the state store, launch the stack and instance groups, point DNS at the control plane, release the lock.',
    StartAt: 'ValidateInput',
    TimeoutSeconds: 7200,
    States: {
      ValidateInput: validateInput('create-cluster', 'ValidateSpec'),
      ValidateSpec: lambdaTask(
        'ValidateSpecFunction',
        { 'manifest.$': '$.manifest' },
        {
          comment:
            'Nothing is written yet: an invalid manifest fails the execution with its field errors.',
          resultPath: '$.spec',
          next: 'AcquireLock',
          catch: false,
        },
      ),
      AcquireLock: acquireLock(CLUSTER, 'create', 'RegisterCluster'),
      RegisterCluster: lambdaTask(
        'WriteStateFunction',
        {
          action: 'register',
          'manifest.$': '$.manifest',
          'owner.$': '$$.Execution.Id',
          operation: 'create',
        },
        {
          resultPath: null,
          next: 'CreateStack',
          catch: [
            { ErrorEquals: ['ClusterExistsError'], ResultPath: '$.error', Next: 'ReleaseLock' },
            ...catchAll(),
          ],
        },
      ),
      ...updateFlow(
        CLUSTER,
        {
          applyStack: 'CreateStack',
          waitForStack: 'WaitForStack',
          checkStack: 'CheckStack',
          stackReady: 'StackReady',
          applyGroups: 'EnsureInstanceGroups',
          waitForGroups: 'WaitForInstances',
          checkGroups: 'CheckInstances',
          groupsReady: 'InstancesReady',
        },
        'UpsertApiRecords',
      ),
      ...upsertApiRecords(CLUSTER, 'RecordSuccess'),
      RecordSuccess: recordSuccess(CLUSTER, 'ClusterCreated'),
      ClusterCreated: { Type: 'Succeed' },
      ReleaseLock: lambdaTask(
        'WriteStateFunction',
        { action: 'release', 'cluster.$': CLUSTER, 'owner.$': '$$.Execution.Id' },
        {
          comment: 'The cluster exists already: leave its status alone, give the lock back, fail.',
          resultPath: null,
          next: 'CreateFailed',
          catch: false,
        },
      ),
      RecordFailure: recordFailure(
        CLUSTER,
        'CreateFailed',
        'Compensation: record the error in status.json and release the lock; every resource made so far carries the cluster tags, so delete finds it.',
      ),
      CreateFailed: failWithError(),
    },
  };
}
