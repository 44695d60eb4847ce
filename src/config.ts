import { ConfigError } from './errors.js';
import { stateMachineArnVariable } from './functions-registry.js';
import { allowedZoneOf } from './planning/dns.js';
import { DEFAULT_WATCHER_SETTINGS } from './planning/eni-decision.js';
import { DEFAULT_DEPLOYMENT, DEPLOYMENT_NAME, DEPLOYMENT_NAME_LIMIT } from './planning/names.js';

/**
 * The longest a kopsless execution may run (rolling-update's TimeoutSeconds, and its children's):
 * the lock's default lease is as long, so a slow but live execution never loses its lock.
 */
export const LONGEST_EXECUTION_SECONDS = 24 * 60 * 60;
/** How long the control plane's DNS records may take to follow a new instance (VerifyDns). */
export const DEFAULT_DNS_TIMEOUT_SECONDS = 10 * 60;

/** Settings every handler reads from its environment, once, at cold start. */
export interface Config {
  stateBucket: string;
  region: string;
  /** This deployment's name (its SAM stack): the owner tag on everything it creates. */
  deployment: string;
  /**
   * The managed policies of each cluster's stack role (src/aws/stack-role.ts), template.yaml's
   * ClusterStack*Policy and ClusterStackBoundary (CLUSTER_STACK_POLICY_ARNS, comma-separated,
   * and CLUSTER_STACK_BOUNDARY_ARN): set, launch and delete make the role and CloudFormation runs the
   * cluster's stack under it. Unset, CloudFormation uses the caller's credentials, which the
   * deployed functions' policies refuse.
   */
  clusterStack?: { policyArns: string[]; boundaryArn: string };
  /**
   * The ClusterApiLayer version (CLUSTER_API_LAYER_ARN): each cluster stack runs it as the
   * cluster's API function in the cluster's VPC. Unset locally, where that function runs in the
   * local runner (src/local/sfn/cluster-api.ts).
   */
  clusterApiLayerArn?: string;
  /**
   * The one hosted zone this deployment may write cluster records in (template.yaml's
   * HostedZoneId, as ALLOWED_HOSTED_ZONE_ID); unset for `*`, any zone of the account.
   */
  allowedHostedZoneId?: string;
  /**
   * The KMS key (its ARN or its alias's) every secret of the state store is written under
   * (template.yaml's SecretsKey). Unset, writing a secret fails: the bucket policy requires it.
   */
  secretsKeyArn?: string;
  /**
   * The role this function assumes, with the cluster as a session tag, for everything it does for
   * one cluster (template.yaml's `<Function>ActorRole`). Unset, it acts with its own credentials.
   */
  clusterActorRoleArn?: string;
  stackTimeoutSeconds: number;
  groupsTimeoutSeconds: number;
  dnsTimeoutSeconds: number;
  lockLeaseSeconds: number;
  drainTimeoutSeconds: number;
  validationTimeoutSeconds: number;
  replacementTimeoutSeconds: number;
  watcher: {
    threshold: number;
    cooldownSeconds: number;
    minObservationIntervalSeconds: number;
    eventDebounceSeconds: number;
    dryRun: boolean;
    rollingUpdateStateMachineArn?: string;
  };
}

function seconds(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new ConfigError(`${name} must be a whole number of seconds, got "${raw}"`);
  return value;
}

/** As `seconds`, but 0 is allowed (a setting that 0 turns off). */
function secondsOrZero(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new ConfigError(`${name} must be a whole number of seconds (0 or more), got "${raw}"`);
  return value;
}

function fraction(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(value > 0 && value <= 1))
    throw new ConfigError(`${name} must be a fraction above 0 and at most 1, got "${raw}"`);
  return value;
}

/** template.yaml's HostedZoneId parameter: `*` or a zone ID (its AllowedPattern). */
const HOSTED_ZONE_PARAMETER = /^(\*|[0-9A-Z]{1,32})$/;

/** The variable template.yaml gives the watcher: the rolling-update state machine it starts. */
const ROLL_ARN_VARIABLE = stateMachineArnVariable('rolling-update');

const MANAGED_POLICY_ARN = /^arn:aws[a-z-]*:iam::\d{12}:policy\/\S+$/;

/** CLUSTER_STACK_POLICY_ARNS and CLUSTER_STACK_BOUNDARY_ARN: managed policy ARNs, or neither set. */
function clusterStackPolicies(
  env: Record<string, string | undefined>,
): Config['clusterStack'] | undefined {
  const policyArns = env.CLUSTER_STACK_POLICY_ARNS;
  const boundaryArn = env.CLUSTER_STACK_BOUNDARY_ARN;
  if (!policyArns && !boundaryArn) return undefined;
  const together = 'CLUSTER_STACK_POLICY_ARNS and CLUSTER_STACK_BOUNDARY_ARN go together';
  if (!policyArns) throw new ConfigError(`CLUSTER_STACK_POLICY_ARNS is not set: ${together}`);
  if (!boundaryArn) throw new ConfigError(`CLUSTER_STACK_BOUNDARY_ARN is not set: ${together}`);
  const arns = policyArns.split(',');
  for (const [name, value] of [
    ...arns.map((arn) => ['CLUSTER_STACK_POLICY_ARNS', arn] as const),
    ['CLUSTER_STACK_BOUNDARY_ARN', boundaryArn] as const,
  ]) {
    if (!MANAGED_POLICY_ARN.test(value))
      throw new ConfigError(`${name} must be ARNs of IAM managed policies, got "${value}"`);
  }
  return { policyArns: arns, boundaryArn };
}

/** Reads the configuration; a missing or malformed setting fails the cold start with its name. */
export function readConfig(env: Record<string, string | undefined>): Config {
  const stateBucket = env.STATE_BUCKET;
  if (!stateBucket)
    throw new ConfigError(
      'STATE_BUCKET is not set: the name of the S3 bucket that holds the state store',
    );
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new ConfigError('AWS_REGION is not set');
  const deployment = env.KOPSLESS_DEPLOYMENT || DEFAULT_DEPLOYMENT;
  if (!DEPLOYMENT_NAME.test(deployment))
    throw new ConfigError(
      `KOPSLESS_DEPLOYMENT must be a stack name of at most ${DEPLOYMENT_NAME_LIMIT} characters (a letter, then letters, digits and dashes; its state machines' names add up to 21), got "${deployment}"`,
    );
  const clusterStack = clusterStackPolicies(env);
  const clusterApiLayerArn = env.CLUSTER_API_LAYER_ARN;
  if (
    clusterApiLayerArn &&
    !/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$/.test(clusterApiLayerArn)
  )
    throw new ConfigError(
      `CLUSTER_API_LAYER_ARN must be the ARN of a Lambda layer version, got "${clusterApiLayerArn}"`,
    );
  const allowedZone = env.ALLOWED_HOSTED_ZONE_ID;
  if (allowedZone && !HOSTED_ZONE_PARAMETER.test(allowedZone))
    throw new ConfigError(
      `ALLOWED_HOSTED_ZONE_ID must be a hosted zone ID or *, got "${allowedZone}"`,
    );
  const allowedHostedZoneId = allowedZoneOf(allowedZone);
  const secretsKeyArn = env.SECRETS_KEY_ARN;
  if (
    secretsKeyArn &&
    !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/\S+$/.test(secretsKeyArn)
  )
    throw new ConfigError(
      `SECRETS_KEY_ARN must be the ARN of a KMS key or alias, got "${secretsKeyArn}"`,
    );
  const clusterActorRoleArn = env.CLUSTER_ACTOR_ROLE_ARN;
  if (clusterActorRoleArn && !/^arn:aws[a-z-]*:iam::\d{12}:role\/\S+$/.test(clusterActorRoleArn))
    throw new ConfigError(
      `CLUSTER_ACTOR_ROLE_ARN must be an IAM role ARN, got "${clusterActorRoleArn}"`,
    );
  return {
    stateBucket,
    region,
    deployment,
    ...(clusterStack ? { clusterStack } : {}),
    ...(clusterApiLayerArn ? { clusterApiLayerArn } : {}),
    ...(allowedHostedZoneId ? { allowedHostedZoneId } : {}),
    ...(secretsKeyArn ? { secretsKeyArn } : {}),
    ...(clusterActorRoleArn ? { clusterActorRoleArn } : {}),
    stackTimeoutSeconds: seconds(env, 'STACK_TIMEOUT_SECONDS', 30 * 60),
    groupsTimeoutSeconds: seconds(env, 'GROUPS_TIMEOUT_SECONDS', 15 * 60),
    dnsTimeoutSeconds: seconds(env, 'DNS_TIMEOUT_SECONDS', DEFAULT_DNS_TIMEOUT_SECONDS),
    lockLeaseSeconds: seconds(env, 'LOCK_LEASE_SECONDS', LONGEST_EXECUTION_SECONDS),
    // kOps's defaults: 15 minutes to drain a node and 15 to validate after each batch.
    drainTimeoutSeconds: seconds(env, 'DRAIN_TIMEOUT_SECONDS', 15 * 60),
    validationTimeoutSeconds: seconds(env, 'VALIDATION_TIMEOUT_SECONDS', 15 * 60),
    replacementTimeoutSeconds: seconds(env, 'REPLACEMENT_TIMEOUT_SECONDS', 15 * 60),
    watcher: {
      threshold: fraction(env, 'WATCHER_THRESHOLD', DEFAULT_WATCHER_SETTINGS.threshold),
      cooldownSeconds: seconds(
        env,
        'WATCHER_COOLDOWN_SECONDS',
        DEFAULT_WATCHER_SETTINGS.cooldownSeconds,
      ),
      // A little under the 5-minute schedule: EC2 events seconds apart never count twice.
      minObservationIntervalSeconds: secondsOrZero(
        env,
        'WATCHER_MIN_OBSERVATION_INTERVAL_SECONDS',
        DEFAULT_WATCHER_SETTINGS.minObservationIntervalSeconds,
      ),
      // As the queue's batching window: one observation per cluster per window of EC2 events.
      eventDebounceSeconds: secondsOrZero(
        env,
        'WATCHER_EVENT_DEBOUNCE_SECONDS',
        DEFAULT_WATCHER_SETTINGS.eventDebounceSeconds,
      ),
      dryRun: env.WATCHER_DRY_RUN === 'true',
      ...(env[ROLL_ARN_VARIABLE] ? { rollingUpdateStateMachineArn: env[ROLL_ARN_VARIABLE] } : {}),
    },
  };
}

/** The state store's write options for a configuration: its secrets key, when it has one. */
export function secretsKeyOption(config: Pick<Config, 'secretsKeyArn'>): { secretsKey?: string } {
  return config.secretsKeyArn ? { secretsKey: config.secretsKeyArn } : {};
}
