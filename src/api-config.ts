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
  return { stateBucket, stateMachines };
}
