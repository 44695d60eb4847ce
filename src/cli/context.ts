import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { S3Client } from '@aws-sdk/client-s3';
import type { autoScalingApi } from '../aws/autoscaling.js';
import { type AwsClientSettings, clientConfig } from '../aws/clients.js';
import type { cloudFormationStackApi } from '../aws/cloudformation.js';
import type { ec2Api } from '../aws/ec2.js';
import type { route53Api } from '../aws/route53.js';
import type { SharedNetworkApi } from '../aws/shared-network.js';
import { readConfig } from '../config.js';
import { TransientKubeError } from '../errors.js';
import type { StateMachineName } from '../functions-registry.js';
import type { HandlerRuntime } from '../handlers/runtime.js';
import type { KubePort } from '../kube/port.js';
import { localClusterStackEnvironment } from '../local/cluster-stack-policies.js';
import { FaultSettingsError, faultsFromEnv } from '../local/instrument/faults.js';
import {
  type BackendRecord,
  backendClientSettings,
  backendEnv,
  backendUp,
  kopslessHome,
} from '../local/moto/backend.js';
import { BundleSettingsError, bundleMode } from '../local/sfn/bundles.js';
import {
  HANDLER_MAX_ATTEMPTS,
  type LocalSettings,
  withClusterApiFunctions,
} from '../local/sfn/handlers.js';
import type { LocalExecutionResult, RunOptions } from '../local/sfn/step-functions.js';
import { allowedZoneOf } from '../planning/dns.js';
import type { EtcdOf } from '../stages/etcd-membership.js';
import { ClusterStore } from '../state/cluster-store.js';
import { type ObjectStore, s3ObjectStore } from '../state/object-store.js';
import { kubeThroughApi, withoutSecrets } from './aws-secrets.js';
import { type DeployedApi, type DeployedApiSettings, deployedApi } from './deployed-api.js';
import { UsageError } from './usage-error.js';

// Only the state store's client is loaded with the context: every other port, the Step Functions
// runner and the Kubernetes client are imported at their first call, so a command that reads the
// state store (get, edit, export) starts without the EC2, CloudFormation or Kubernetes clients.

/** The cluster a run is for, so that `--target aws` can find an execution already running on it. */
export interface ClusterRun {
  cluster?: string;
  /** Where the CLI says that it attached to a running execution. */
  log?: (line: string) => void;
}

export interface CliContext {
  target: 'local' | 'aws';
  /** Where executions run: the local backend's address, or the deployed stack. */
  where: string;
  /** Only for the local backend. */
  backend: BackendRecord;
  /**
   * Runs a state machine to its end: in-process locally (the lock records this process as its
   * holder), through Step Functions on AWS (attached to the cluster's running execution, if any).
   */
  run: (name: StateMachineName, options: RunOptions & ClusterRun) => Promise<LocalExecutionResult>;
  objects: ObjectStore;
  store: ClusterStore;
  ec2: ReturnType<typeof ec2Api>;
  /** A shared VPC and subnets (spec.networkID, a subnet's id). */
  network: SharedNetworkApi;
  autoscaling: ReturnType<typeof autoScalingApi>;
  stacks: ReturnType<typeof cloudFormationStackApi>;
  dns: ReturnType<typeof route53Api>;
  kube: (cluster: string) => Promise<KubePort | undefined>;
  /** The secrets key's alias ARN the launch stage renders into boot scripts (compared by update's preview). */
  secretsKeyArn?: string;
  etcd: EtcdOf;
  region: string;
  stateBucket: string;
  /**
   * The one hosted zone the deployment may write cluster records in: the deployed stack's
   * HostedZoneId parameter, or locally ALLOWED_HOSTED_ZONE_ID; unset for any zone.
   */
  allowedHostedZoneId?: string;
  /** What every SDK client a command builds is given: the local backend's endpoint, or nothing (the SDK's own chain) on AWS. */
  aws: AwsClientSettings;
  /**
   * The deployed stack's API (`--target aws` only): registering a cluster and its kubeconfig go
   * through it, never through the state store with the user's credentials.
   */
  api?: DeployedApi;
}

/**
 * The stages' deadlines on the local backend, shorter than on AWS (moto answers at once): a run
 * that is stuck ends in minutes. A variable of the same name in the environment still wins.
 */
const LOCAL_TIMEOUTS: Record<string, string> = {
  STACK_TIMEOUT_SECONDS: '120',
  GROUPS_TIMEOUT_SECONDS: '120',
  DNS_TIMEOUT_SECONDS: '60',
  DRAIN_TIMEOUT_SECONDS: '20',
  VALIDATION_TIMEOUT_SECONDS: '30',
  REPLACEMENT_TIMEOUT_SECONDS: '60',
};

/**
 * What the local runner builds the handlers from for one backend: the configuration a Lambda
 * would read (the local deadlines, then `env`'s settings, then the backend's bucket and region)
 * and the backend's endpoint and credentials. `env` is only read: two backends in one process
 * each keep their own settings.
 */
export function localSettings(
  record: BackendRecord,
  env: Record<string, string | undefined> = process.env,
): LocalSettings {
  return withClusterApiFunctions({
    config: readConfig({
      ...LOCAL_TIMEOUTS,
      ...env,
      STATE_BUCKET: record.stateBucket,
      AWS_REGION: record.region,
      ...(record.secretsKeyArn ? { SECRETS_KEY_ARN: record.secretsKeyArn } : {}),
      // Each cluster's stack is made under its own stack role, as deployed (backendUp makes them).
      ...localClusterStackEnvironment(),
    }),
    runtime: {
      // As template.yaml's Globals set AWS_MAX_ATTEMPTS for the Lambdas.
      aws: { ...backendClientSettings(record), maxAttempts: HANDLER_MAX_ATTEMPTS },
      // The handlers' JSON logs would bury the CLI's progress lines.
      logLevel: (env.POWERTOOLS_LOG_LEVEL ?? 'SILENT') as LogLevel,
      // Only the clusters' API functions dial the simulated API; the others invoke them.
      localKubeApi: backendEnv(record).KOPSLESS_KUBE_API,
    },
  });
}

let delivering = false;

/**
 * Status changes of the executions this process runs go to the local event log and, as the
 * deployed rule sends them, to NotifyFunction (`kopsless local events` shows both).
 * KOPSLESS_NOTIFY_ON_SUCCESS=true stands for the template's NotifyOnSuccess parameter.
 */
async function deliverStatusEventsOnce(settings: LocalSettings): Promise<void> {
  if (delivering) return;
  delivering = true;
  // Loaded with the first execution: a command that runs none never loads the SNS client.
  const { deliverStatusEvents, eventLogPath } = await import('../local/sfn/event-log.js');
  deliverStatusEvents(settings, {
    logPath: eventLogPath(kopslessHome()),
    notifyOnSuccess: process.env.KOPSLESS_NOTIFY_ON_SUCCESS === 'true',
  });
}

/** What a command knows before its context is made. */
export interface ContextOptions {
  /**
   * The region of the cluster's zones (kOps's region): the local backend serves it; on AWS the
   * deployment's region is what it is, and a cluster of another region is refused at create.
   */
  region?: string;
}

/**
 * The local backend for a command that needs AWS: started when it is not running (and said so
 * on stderr); the context's SDK clients and the handlers its runs build are given its endpoint.
 */
export async function localContext(
  log: (line: string) => void = (l) => console.error(l),
  options: ContextOptions = {},
): Promise<CliContext> {
  const { record, started } = await backendUp(log, options.region);
  if (started)
    log(
      `started the local backend (moto) at ${record.endpoint}; stop it with: kopsless local down`,
    );
  // A KOPSLESS_FAULTS or KOPSLESS_BUNDLES the runner cannot take stops the command before anything runs.
  try {
    faultsFromEnv();
    bundleMode();
  } catch (error) {
    if (error instanceof FaultSettingsError || error instanceof BundleSettingsError)
      throw new UsageError(error.message);
    throw error;
  }
  const settings = localSettings(record);
  const aws = backendClientSettings(record);
  deliverStatusEventsOnce(settings);
  return {
    target: 'local',
    where: `local backend ${record.endpoint}`,
    run: async (name, { cluster: _cluster, log: _log, ...options }) => {
      const [{ runStateMachine }, { processHolder }, { statusEventsDelivered }] = await Promise.all(
        [
          import('../local/sfn/step-functions.js'),
          import('../state/holder.js'),
          import('../local/sfn/status-events.js'),
        ],
      );
      try {
        return await runStateMachine(name, { lockHolder: processHolder(), settings, ...options });
      } finally {
        // The notification of a failure is sent before the command that saw it exits.
        await statusEventsDelivered();
      }
    },
    backend: record,
    ...clients(record.stateBucket, aws, record.secretsKeyArn, settings.runtime?.lambdaTransport),
    ...(record.secretsKeyArn ? { secretsKeyArn: record.secretsKeyArn } : {}),
    region: record.region,
    stateBucket: record.stateBucket,
    ...(settings.config.allowedHostedZoneId
      ? { allowedHostedZoneId: settings.config.allowedHostedZoneId }
      : {}),
    aws,
  };
}

/**
 * A port whose module is imported at its first call. Every port method returns a promise, so
 * the caller cannot tell it from the port itself.
 */
function lazyPort<T extends object>(load: () => Promise<T>): T {
  let loaded: Promise<T> | undefined;
  return new Proxy({} as T, {
    get: (_target, method) => {
      if (typeof method !== 'string' || method === 'then') return undefined;
      return async (...args: unknown[]) => {
        loaded ??= load();
        const port = (await loaded) as Record<string, (...a: unknown[]) => unknown>;
        return port[method]!(...args);
      };
    },
  });
}

/** The state store and AWS adapters every command uses, whichever the target. */
function clients(
  stateBucket: string,
  settings: AwsClientSettings,
  secretsKeyArn: string | undefined,
  lambdaTransport?: HandlerRuntime['lambdaTransport'],
) {
  const aws = clientConfig(settings);
  // Secrets are written under the deployment's KMS key: the bucket policy refuses any other.
  const objects = s3ObjectStore(
    new S3Client(aws),
    stateBucket,
    secretsKeyArn ? { secretsKey: secretsKeyArn } : {},
  );
  const ec2Port = lazyPort(async () => {
    const [{ EC2Client }, { ec2Api }] = await Promise.all([
      import('@aws-sdk/client-ec2'),
      import('../aws/ec2.js'),
    ]);
    return ec2Api(new EC2Client(aws));
  });
  return {
    objects,
    store: new ClusterStore(objects),
    ec2: ec2Port,
    autoscaling: lazyPort(async () => {
      const [{ AutoScalingClient }, { autoScalingApi }] = await Promise.all([
        import('@aws-sdk/client-auto-scaling'),
        import('../aws/autoscaling.js'),
      ]);
      return autoScalingApi(new AutoScalingClient(aws));
    }),
    stacks: lazyPort(async () => {
      const [{ CloudFormationClient }, { cloudFormationStackApi }] = await Promise.all([
        import('@aws-sdk/client-cloudformation'),
        import('../aws/cloudformation.js'),
      ]);
      return cloudFormationStackApi(new CloudFormationClient(aws));
    }),
    dns: lazyPort(async () => {
      const [{ Route53Client }, { route53Api }] = await Promise.all([
        import('@aws-sdk/client-route-53'),
        import('../aws/route53.js'),
      ]);
      return route53Api(new Route53Client(aws));
    }),
    network: lazyPort(async () => {
      const [{ EC2Client }, { sharedNetworkApi }] = await Promise.all([
        import('@aws-sdk/client-ec2'),
        import('../aws/shared-network.js'),
      ]);
      return sharedNetworkApi(new EC2Client(aws));
    }) as SharedNetworkApi,
    // As the stages do: Kubernetes only through the cluster's API function, in its VPC.
    kube: async (cluster: string) => {
      const [{ clusterKube }, { clusterApiClient }] = await Promise.all([
        import('../kube/remote-port.js'),
        import('../aws/cluster-api-lambda.js'),
      ]);
      return clusterKube(cluster, clusterApiClient(aws, lambdaTransport));
    },
    etcd: (async (cluster: string) => {
      const [{ remoteEtcd }, { clusterApiClient }] = await Promise.all([
        import('../kube/remote-etcd.js'),
        import('../aws/cluster-api-lambda.js'),
      ]);
      return remoteEtcd(cluster, clusterApiClient(aws, lambdaTransport));
    }) as EtcdOf,
  };
}

/**
 * A deployed kopsless stack (`--target aws --stack NAME`): its state bucket and state machines
 * from the stack outputs; credentials and region as the AWS SDK finds them.
 */
export async function awsContext(stack: string): Promise<CliContext> {
  const { CloudFormationClient, DescribeStacksCommand } = await import(
    '@aws-sdk/client-cloudformation'
  );
  const out = await new CloudFormationClient({})
    .send(new DescribeStacksCommand({ StackName: stack }))
    .catch((error: Error) => {
      throw new UsageError(`cannot read the kopsless stack "${stack}": ${error.message}`);
    });
  const outputs = Object.fromEntries(
    (out.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
  );
  const allowedHostedZoneId = allowedZoneOf(
    out.Stacks?.[0]?.Parameters?.find((p) => p.ParameterKey === 'HostedZoneId')?.ParameterValue,
  );
  const stateBucket = outputs.StateBucketName;
  if (!stateBucket)
    throw new UsageError(`stack "${stack}" has no StateBucketName output: is it a kopsless stack?`);
  const [{ SFNClient }, { attachOrStart }, { stateMachineOutputKey }] = await Promise.all([
    import('@aws-sdk/client-sfn'),
    import('./remote.js'),
    import('../functions-registry.js'),
  ]);
  const sfn = new SFNClient({});
  const region = (await new S3Client({}).config.region()) ?? 'us-east-1';
  const api = apiOfStack(stack, outputs.ApiUrl, region, sfn.config.credentials);
  const shared = clients(stateBucket, {}, outputs.SecretsKeyAliasArn);
  // secrets/ is the functions' alone: the CLI reaches a cluster's kubeconfig through the API.
  const objects = withoutSecrets(shared.objects);
  const store = new ClusterStore(objects);
  return {
    target: 'aws',
    where: `stack ${stack}`,
    run: (name, { cluster, log, ...options }) => {
      const arn = outputs[stateMachineOutputKey(name)];
      if (!arn)
        throw new UsageError(`stack "${stack}" has no ${stateMachineOutputKey(name)} output`);
      return attachOrStart(sfn, arn, {
        ...options,
        ...(cluster ? { cluster, store } : {}),
        log: log ?? ((l) => console.error(l)),
      });
    },
    backend: {
      pid: 0,
      port: 0,
      endpoint: '',
      kubePid: 0,
      kubePort: 0,
      startedAt: '',
      stateBucket,
      region,
    },
    ...shared,
    objects,
    store,
    kube: (cluster) => kubeThroughApi(api, cluster),
    // The etcd client certificate is the rolling update's alone, and the member API answers only
    // inside the cluster's VPC: validate judges etcd by its static pods, as from any laptop.
    etcd: (async () => {
      throw new TransientKubeError(
        "the etcd member API is the rolling update's, from inside the cluster's VPC",
      );
    }) as EtcdOf,
    ...(outputs.SecretsKeyAliasArn ? { secretsKeyArn: outputs.SecretsKeyAliasArn } : {}),
    region,
    stateBucket,
    ...(allowedHostedZoneId ? { allowedHostedZoneId } : {}),
    aws: {},
    api,
  };
}

/** The stack's API, signed with the user's credentials; without an ApiUrl output every call says so. */
function apiOfStack(
  stack: string,
  url: string | undefined,
  region: string,
  credentials: DeployedApiSettings['credentials'],
): DeployedApi {
  if (url) return deployedApi({ url, region, credentials });
  const missing = async (): Promise<never> => {
    throw new UsageError(
      `stack "${stack}" has no ApiUrl output: deploy this version of kopsless (sam deploy) first`,
    );
  };
  return { register: missing, kubeconfig: missing };
}
