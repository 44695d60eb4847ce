import {
  acquireLock,
  choice,
  failWithError,
  isTrue,
  lambdaTask,
  type Machine,
  markPhase,
  pass,
  pollUntil,
  recordFailure,
  validateInput,
} from '../asl.js';

const CLUSTER = '$.cluster';

/** `delete-cluster`: everything tagged for the cluster, leftovers, a check that nothing is left, then the state. */
export function deleteCluster(): Machine {
  return {
    Comment:
      'kopsless delete cluster: delete everything tagged for the cluster (groups, instances, launch templates, leftover ENIs, the stack, DNS), verify nothing is left, then the state store. Input: {cluster}.',
    StartAt: 'ValidateInput',
    TimeoutSeconds: 7200,
    States: {
      ValidateInput: validateInput('delete-cluster', 'CheckClusterExists'),
      CheckClusterExists: lambdaTask(
        'DeleteClusterFunction',
        { action: 'exists', 'cluster.$': CLUSTER },
        {
          comment:
            'Before the lock, so deleting a cluster the state store does not hold fails with ClusterNotFoundError and writes nothing, even when resources carry its tag (a kOps cluster of the same name). A registered cluster, even half-created, passes.',
          resultPath: null,
          next: 'AcquireLock',
          catch: false,
        },
      ),
      AcquireLock: acquireLock(CLUSTER, 'delete', 'MarkDeleting'),
      MarkDeleting: markPhase(CLUSTER, 'Deleting', 'DeleteInstanceGroups'),
      DeleteInstanceGroups: lambdaTask(
        'DeleteClusterFunction',
        { action: 'deleteGroups', 'cluster.$': CLUSTER },
        {
          comment:
            'Auto Scaling groups (force: their instances too), detached instances, launch templates.',
          resultPath: '$.groups',
          next: 'WaitForInstances',
        },
      ),
      ...pollUntil({
        wait: 'WaitForInstances',
        check: 'CheckInstances',
        choice: 'InstancesGone',
        seconds: 15,
        fn: 'DeleteClusterFunction',
        parameters: {
          action: 'awaitInstances',
          'cluster.$': CLUSTER,
          'deadline.$': '$.groups.deadline',
        },
        resultPath: '$.instances',
        until: isTrue('$.instances.ready'),
        next: 'StartStackDelete',
      }),
      StartStackDelete: pass({ attempt: 0, remaining: 0 }, '$.stack', 'DeleteStack'),
      DeleteStack: lambdaTask(
        'DeleteClusterFunction',
        {
          action: 'deleteStack',
          'cluster.$': CLUSTER,
          'attempt.$': '$.stack.attempt',
          'remaining.$': '$.stack.remaining',
        },
        {
          comment:
            "Deletes the network interfaces left 'available' in the VPC (the VPC CNI's), then the stack; a retry that frees nothing stops with the list of what is left.",
          resultPath: '$.stack',
          next: 'StackDeleteRefused',
        },
      ),
      StackDeleteRefused: choice(
        [[{ Variable: '$.stack.refused', IsPresent: true }, 'DeleteLeftovers']],
        'WaitForStack',
      ),
      ...pollUntil({
        wait: 'WaitForStack',
        check: 'CheckStack',
        choice: 'StackGone',
        seconds: 15,
        fn: 'DeleteClusterFunction',
        parameters: {
          action: 'awaitStack',
          'cluster.$': CLUSTER,
          'deadline.$': '$.stack.deadline',
          'attempt.$': '$.stack.attempt',
          'remaining.$': '$.stack.remaining',
        },
        resultPath: '$.stack',
        until: [isTrue('$.stack.done'), isTrue('$.stack.failed')],
        next: 'DeleteLeftovers',
      }),
      DeleteLeftovers: lambdaTask(
        'DeleteClusterFunction',
        { action: 'deleteLeftovers', 'cluster.$': CLUSTER },
        {
          comment:
            "Deletes directly, dependents first, whatever the stack left (a DELETE_FAILED stack's resources, a hosted zone that outlived its stack).",
          resultPath: '$.leftovers',
          next: 'AnythingLeft',
        },
      ),
      AnythingLeft: choice(
        [[{ Variable: '$.leftovers.remaining', NumericEquals: 0 }, 'VerifyDeleted']],
        'DeleteStack',
      ),
      VerifyDeleted: lambdaTask(
        'DeleteClusterFunction',
        { action: 'verify', 'cluster.$': CLUSTER },
        {
          comment: 'Nothing tagged for the cluster may remain before its state goes.',
          resultPath: '$.verify',
          next: 'DeleteState',
        },
      ),
      DeleteState: lambdaTask(
        'DeleteClusterFunction',
        { action: 'deleteState', 'cluster.$': CLUSTER },
        {
          comment: 'Last: the state store, the lock with it.',
          resultPath: '$.state',
          next: 'ClusterDeleted',
        },
      ),
      ClusterDeleted: { Type: 'Succeed' },
      RecordFailure: recordFailure(
        CLUSTER,
        'DeleteFailed',
        'Record what is left in status.json and release the lock; running delete again continues.',
      ),
      DeleteFailed: failWithError(),
    },
  };
}
