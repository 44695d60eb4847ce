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
  NotifyFunction: 'notify',
} as const;

export type FunctionLogicalId = keyof typeof FUNCTIONS;

/**
 * State machines: logical ID in template.yaml -> file in statemachines/. The rest of a machine's
 * names are derived from these two (below): the name template.yaml deploys it under, the stack
 * output and the API's environment variable that hold its ARN.
 */
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

export type ChildStateMachineName =
  (typeof CHILD_STATE_MACHINES)[keyof typeof CHILD_STATE_MACHINES];

/** Every state machine template.yaml deploys: logical ID -> file in statemachines/. */
export const ALL_STATE_MACHINES = { ...STATE_MACHINES, ...CHILD_STATE_MACHINES } as const;

export type AnyStateMachineName = StateMachineName | ChildStateMachineName;

/** The stack name a local run stands in for: locally every state machine is `kopsless-<file>`. */
export const LOCAL_STACK_NAME = 'kopsless';

/** Logical ID in template.yaml of the state machine in statemachines/<file>.asl.json. */
export function stateMachineLogicalId(file: AnyStateMachineName): keyof typeof ALL_STATE_MACHINES {
  return (Object.keys(ALL_STATE_MACHINES) as Array<keyof typeof ALL_STATE_MACHINES>).find(
    (id) => ALL_STATE_MACHINES[id] === file,
  )!;
}

/** The name template.yaml gives the state machine: `!Sub '${AWS::StackName}-<file>'`. */
export function deployedStateMachineName(
  file: AnyStateMachineName,
  stack: string = LOCAL_STACK_NAME,
): string {
  return `${stack}-${file}`;
}

/** The state machine deployed as `name` in that stack (see deployedStateMachineName), if any. */
export function stateMachineOfDeployedName(
  name: string,
  stack: string = LOCAL_STACK_NAME,
): AnyStateMachineName | undefined {
  return (Object.values(ALL_STATE_MACHINES) as AnyStateMachineName[]).find(
    (file) => deployedStateMachineName(file, stack) === name,
  );
}

/** The stack output that holds the ARN of a state machine people start: `<LogicalId>Arn`. */
export function stateMachineOutputKey(file: StateMachineName): string {
  return `${stateMachineLogicalId(file)}Arn`;
}

/** The environment variable that gives a function the ARN of a state machine: `CREATE_CLUSTER_STATE_MACHINE_ARN`. */
export function stateMachineArnVariable(file: StateMachineName): string {
  return `${stateMachineLogicalId(file)
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toUpperCase()}_ARN`;
}
