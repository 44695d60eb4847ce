import {
  acquireLock,
  failWithError,
  type Machine,
  markPhase,
  recordFailure,
  recordSuccess,
  updateFlow,
  upsertApiRecords,
  validateInput,
} from '../asl.js';

const CLUSTER = '$.cluster';

/** `update-cluster`: the update flow under the lock, then DNS. */
export function updateCluster(): Machine {
  return {
    Comment:
      'kopsless update cluster: apply the spec in the state store to the stack, launch templates and Auto Scaling groups (no instance is replaced), keep DNS on the control plane.',
    StartAt: 'ValidateInput',
    TimeoutSeconds: 7200,
    States: {
      ValidateInput: validateInput('update-cluster', 'AcquireLock'),
      AcquireLock: acquireLock(CLUSTER, 'update', 'MarkUpdating'),
      MarkUpdating: markPhase(CLUSTER, 'Updating', 'UpdateStack'),
      ...updateFlow(
        CLUSTER,
        {
          applyStack: 'UpdateStack',
          applyStackComment:
            'Creates or updates the stack only when its template changed (template-hash tag).',
          waitForStack: 'WaitForStack',
          checkStack: 'CheckStack',
          stackReady: 'StackReady',
          applyGroups: 'UpdateInstanceGroups',
          applyGroupsComment:
            'New launch template versions and group settings; never replaces a group or its instances (rolling-update does).',
          waitForGroups: 'WaitForInstances',
          checkGroups: 'CheckInstances',
          groupsReady: 'InstancesReady',
        },
        'UpsertApiRecords',
      ),
      ...upsertApiRecords(CLUSTER, 'RecordSuccess'),
      RecordSuccess: recordSuccess(CLUSTER, 'ClusterUpdated'),
      ClusterUpdated: { Type: 'Succeed' },
      RecordFailure: recordFailure(
        CLUSTER,
        'UpdateFailed',
        'Compensation: record the error in status.json and release the lock.',
      ),
      UpdateFailed: failWithError(),
    },
  };
}
