import { ConfigError } from './errors.js';
import {
  STATE_MACHINES,
  type StateMachineName,
  stateMachineArnVariable,
} from './functions-registry.js';

/** The API function's settings: the state bucket and each state machine's ARN. */
export interface ApiConfig {
  stateBucket: string;
  stateMachines: Record<StateMachineName, string>;
  /** The role it reads one cluster's state with (`CLUSTER_ACTOR_ROLE_ARN`); see Config. */
  clusterActorRoleArn?: string;
}

/** Reads the API function's settings; a missing one fails the cold start with its name. */
export function readApiConfig(env: Record<string, string | undefined>): ApiConfig {
  const stateBucket = env.STATE_BUCKET;
  if (!stateBucket)
    throw new ConfigError(
      'STATE_BUCKET is not set: the name of the S3 bucket that holds the state store',
    );
  const stateMachines = {} as Record<StateMachineName, string>;
  for (const name of Object.values(STATE_MACHINES)) {
    const variable = stateMachineArnVariable(name);
    const arn = env[variable];
    if (!arn) throw new ConfigError(`${variable} is not set: the ARN of the ${name} state machine`);
    stateMachines[name] = arn;
  }
  const clusterActorRoleArn = env.CLUSTER_ACTOR_ROLE_ARN;
  if (clusterActorRoleArn && !/^arn:aws[a-z-]*:iam::\d{12}:role\/\S+$/.test(clusterActorRoleArn))
    throw new ConfigError(
      `CLUSTER_ACTOR_ROLE_ARN must be an IAM role ARN, got "${clusterActorRoleArn}"`,
    );
  return { stateBucket, stateMachines, ...(clusterActorRoleArn ? { clusterActorRoleArn } : {}) };
}
