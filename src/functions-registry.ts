/**
 * Every Lambda of kopsless: its logical ID in template.yaml (and `${<LogicalId>Arn}` in the
 * ASL) and its entry file in functions/. Tests check template, ASL and this list agree.
 */
export const FUNCTIONS = {
  ValidateSpecFunction: 'validate-spec',
  WriteStateFunction: 'write-state',
  LaunchClusterFunction: 'launch-cluster',
  VerifyDnsFunction: 'verify-dns',
  RollingUpdateFunction: 'rolling-update',
  DeleteClusterFunction: 'delete-cluster',
  WatchEniFunction: 'watch-eni',
  ApiFunction: 'api',
} as const;

export type FunctionLogicalId = keyof typeof FUNCTIONS;

/** State machines: logical ID in template.yaml -> file in statemachines/. */
export const STATE_MACHINES = {
  CreateClusterStateMachine: 'create-cluster',
  UpdateClusterStateMachine: 'update-cluster',
  RollingUpdateStateMachine: 'rolling-update',
  DeleteClusterStateMachine: 'delete-cluster',
} as const;

export type StateMachineName = (typeof STATE_MACHINES)[keyof typeof STATE_MACHINES];
