import { ConfigError } from './errors.js';
import { STATE_MACHINES, type StateMachineName } from './functions-registry.js';

/** The API function's settings: the state bucket and each state machine's ARN. */
export interface ApiConfig {
  stateBucket: string;
  stateMachines: Record<StateMachineName, string>;
}

/** Reads the API function's settings; a missing one fails the cold start with its name. */
export function readApiConfig(env: Record<string, string | undefined>): ApiConfig {
  const stateBucket = env.STATE_BUCKET;
  if (!stateBucket) throw new ConfigError('STATE_BUCKET is not set: the name of the S3 bucket that holds the state store');
  const stateMachines = {} as Record<StateMachineName, string>;
  for (const [logicalId, name] of Object.entries(STATE_MACHINES)) {
    const variable = `${logicalId.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}_ARN`;
    const arn = env[variable];
    if (!arn) throw new ConfigError(`${variable} is not set: the ARN of the ${name} state machine`);
    stateMachines[name] = arn;
  }
  return { stateBucket, stateMachines };
}
