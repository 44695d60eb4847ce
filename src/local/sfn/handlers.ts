import type { ApiConfig } from '../../api-config.js';
import type { AwsClientSettings } from '../../aws/clients.js';
import { type Config, readConfig } from '../../config.js';
import { ConfigError } from '../../errors.js';
import type { FunctionLogicalId } from '../../functions-registry.js';
import type { HandlerRuntime } from '../../handlers/runtime.js';
import type { NotifyConfig } from '../../notify-config.js';
import { withActorRole } from '../actor-roles.js';

export type LocalHandler = (event: unknown, context: unknown) => Promise<unknown>;

/** The SDK's attempts per call in the handlers, as template.yaml's Globals set AWS_MAX_ATTEMPTS. */
export const HANDLER_MAX_ATTEMPTS = 5;

/**
 * Everything the local runner builds its handlers from, as one object: what a Lambda reads from
 * its environment (`config`, and `api` for the API function) and how its clients reach the
 * local backend (`runtime`). Nothing here goes through process.env, so two settings objects in
 * one process (two CLI contexts, two tests) each get handlers of their own.
 */
export interface LocalSettings {
  config: Config;
  /** The API function's settings; only a run that invokes ApiFunction needs them. */
  api?: ApiConfig;
  /** The notification function's settings; only a run that delivers status changes needs them. */
  notify?: NotifyConfig;
  runtime?: HandlerRuntime;
}

/**
 * How the local runner builds each Lambda's handler: the same factories the entries in
 * functions/ call, imported lazily (a command that runs no state machine loads none of them).
 */
const FACTORIES: Record<FunctionLogicalId, (settings: LocalSettings) => Promise<LocalHandler>> = {
  ValidateSpecFunction: async (s) =>
    (await import('../../handlers/validate-spec.js')).createValidateSpecHandler(
      s.config,
      s.runtime,
    ) as LocalHandler,
  WriteStateFunction: async (s) =>
    (await import('../../handlers/write-state.js')).createWriteStateHandler(
      withActorRole(s.config, 'WriteStateFunction'),
      s.runtime,
    ) as LocalHandler,
  LaunchClusterFunction: async (s) =>
    (await import('../../handlers/launch-cluster.js')).createLaunchClusterHandler(
      withActorRole(s.config, 'LaunchClusterFunction'),
      s.runtime,
    ) as LocalHandler,
  VerifyDnsFunction: async (s) =>
    (await import('../../handlers/verify-dns.js')).createVerifyDnsHandler(
      withActorRole(s.config, 'VerifyDnsFunction'),
      s.runtime,
    ) as LocalHandler,
  RollingUpdateFunction: async (s) =>
    (await import('../../handlers/rolling-update.js')).createRollingUpdateHandler(
      withActorRole(s.config, 'RollingUpdateFunction'),
      s.runtime,
    ) as LocalHandler,
  DeleteClusterFunction: async (s) =>
    (await import('../../handlers/delete-cluster.js')).createDeleteClusterHandler(
      withActorRole(s.config, 'DeleteClusterFunction'),
      s.runtime,
    ) as LocalHandler,
  WatchEniFunction: async (s) =>
    (await import('../../handlers/watch-eni.js')).createWatchEniHandler(
      withActorRole(s.config, 'WatchEniFunction'),
      s.runtime,
    ) as LocalHandler,
  ApiFunction: async (s) => {
    if (!s.api)
      throw new ConfigError(
        'ApiFunction: the local settings have no api (the state bucket and state machine ARNs the API starts)',
      );
    return (await import('../../handlers/api.js')).createApiHandler(
      withActorRole(s.api, 'ApiFunction'),
      s.runtime,
    ) as LocalHandler;
  },
  NotifyFunction: async (s) => {
    if (!s.notify)
      throw new ConfigError('NotifyFunction: the local settings have no notify (the topic ARN)');
    return (await import('../../handlers/notify.js')).createNotifyHandler(
      s.notify,
      s.runtime,
    ) as LocalHandler;
  },
};

/** Handlers built so far, per settings object: kept while it lives, as a warm container keeps its module. */
const built = new WeakMap<LocalSettings, Map<FunctionLogicalId, Promise<LocalHandler>>>();

/** One function's handler for these settings, built on first use and reused for the same settings object. */
export function localHandler(
  logicalId: FunctionLogicalId,
  settings: LocalSettings,
): Promise<LocalHandler> {
  let handlers = built.get(settings);
  if (!handlers) built.set(settings, (handlers = new Map()));
  let handler = handlers.get(logicalId);
  if (!handler) {
    handler = FACTORIES[logicalId](settings);
    // A failed build (bad settings) is not kept: the next call says what is wrong again.
    handler.catch(() => handlers.delete(logicalId));
    handlers.set(logicalId, handler);
  }
  return handler;
}

/** Settings derived from the same environment, so that runs in an unchanged environment share warm handlers. */
const fromEnv = new Map<string, LocalSettings>();

/**
 * Local settings read from an environment, for callers that still describe the backend that way
 * (tests and benches that start their own moto): the configuration as a Lambda reads it, and the
 * endpoint, region, credentials and attempts the SDK would have found there, made explicit.
 */
export function localSettingsFromEnv(env: Record<string, string | undefined>): LocalSettings {
  const config = readConfig(env);
  const aws: AwsClientSettings = {
    ...(env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {}),
    region: config.region,
    ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          },
        }
      : {}),
    maxAttempts: env.AWS_MAX_ATTEMPTS ? Number(env.AWS_MAX_ATTEMPTS) : HANDLER_MAX_ATTEMPTS,
  };
  const settings: LocalSettings = {
    config,
    runtime: { aws, ...(env.KOPSLESS_KUBE_API ? { localKubeApi: env.KOPSLESS_KUBE_API } : {}) },
  };
  const key = JSON.stringify(settings);
  const known = fromEnv.get(key);
  if (known) return known;
  fromEnv.set(key, withClusterApiFunctions(settings));
  return settings;
}

/**
 * Gives the settings' handlers the way to the clusters' API functions: their Lambda clients
 * invoke them in this process (cluster-api.ts), loaded at the first invocation.
 */
export function withClusterApiFunctions(settings: LocalSettings): LocalSettings {
  let transport: Promise<{ handle: (...args: never[]) => Promise<unknown> }> | undefined;
  const load = () =>
    (transport ??= import('./cluster-api.js').then(
      (m) =>
        m.localLambdaRequestHandler(settings) as unknown as {
          handle: (...args: never[]) => Promise<unknown>;
        },
    ));
  settings.runtime = {
    ...settings.runtime,
    lambdaTransport: {
      handle: async (...args: never[]) => (await load()).handle(...args),
      updateHttpClientConfig: () => undefined,
      httpHandlerConfigs: () => ({}),
    } as unknown as NonNullable<HandlerRuntime['lambdaTransport']>,
  };
  return settings;
}

/**
 * The context object the Lambda runtime passes, as far as the handlers and Powertools read it.
 * Made when the invocation starts: its remaining time counts down from `timeoutSeconds` (the
 * function's Timeout), as Lambda's does.
 */
export function lambdaContext(
  functionName: string,
  timeoutSeconds = 900,
  region = 'us-east-1',
  qualifier?: string,
) {
  const end = performance.now() + timeoutSeconds * 1000;
  return {
    functionName,
    functionVersion: '$LATEST',
    // As Lambda sets it: the ARN the caller invoked, with its alias or version when it named one.
    invokedFunctionArn: `arn:aws:lambda:${region}:123456789012:function:${functionName}${qualifier ? `:${qualifier}` : ''}`,
    memoryLimitInMB: '512',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, Math.round(end - performance.now())),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
