/** Keys as the SDK takes them. */
export interface AwsKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/**
 * What every SDK client a handler or the CLI builds is given. Empty on Lambda: the SDK finds the
 * region, credentials and AWS_MAX_ATTEMPTS in the function's environment. The local backend
 * passes its endpoint, region and credentials here instead of through process.env, so that two
 * backends (or a backend and a deployed stack) can be used from one process.
 */
export interface AwsClientSettings {
  endpoint?: string;
  region?: string;
  /** Fixed keys (the local backend's), or a provider (a per-cluster session, src/aws/cluster-credentials.ts). */
  credentials?: AwsKeys | (() => Promise<AwsKeys>);
  /** Attempts per call, retries included (the SDK's default, or AWS_MAX_ATTEMPTS, when unset). */
  maxAttempts?: number;
}

/** The constructor argument of any SDK v3 client: only the settings that are set. */
export function clientConfig(settings: AwsClientSettings = {}): AwsClientSettings {
  const config: AwsClientSettings = {};
  if (settings.endpoint !== undefined) config.endpoint = settings.endpoint;
  if (settings.region !== undefined) config.region = settings.region;
  if (settings.credentials !== undefined)
    config.credentials =
      typeof settings.credentials === 'function'
        ? settings.credentials
        : { ...settings.credentials };
  if (settings.maxAttempts !== undefined) config.maxAttempts = settings.maxAttempts;
  return config;
}
