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

/**
 * State machines only another state machine starts (`states:startExecution.sync:2`): no person,
 * CLI command or API route starts them, so they are kept out of STATE_MACHINES (which the API,
 * the CLI and the input schemas cover).
 */
export const CHILD_STATE_MACHINES = {
  /** One instance group's roll, started by rolling-update for each group (continue-as-new). */
  RollingUpdateGroupStateMachine: 'rolling-update-group',
} as const;

export type ChildStateMachineName = (typeof CHILD_STATE_MACHINES)[keyof typeof CHILD_STATE_MACHINES];

/** Every state machine template.yaml deploys: logical ID -> file in statemachines/. */
export const ALL_STATE_MACHINES = { ...STATE_MACHINES, ...CHILD_STATE_MACHINES } as const;

export type AnyStateMachineName = StateMachineName | ChildStateMachineName;
