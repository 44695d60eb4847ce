import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import type { LambdaClientConfig } from '@aws-sdk/client-lambda';
import type { AwsClientSettings } from '../aws/clients.js';

/**
 * What a handler factory takes besides its configuration: how its SDK clients reach AWS and how
 * it logs. The Lambda entries in functions/ pass only what the runtime tells them; the local
 * runner and the CLI pass the local backend's endpoint and credentials, and a quiet log level.
 */
export interface HandlerRuntime {
  /** Given to every SDK client the handler builds; empty on Lambda. */
  aws?: AwsClientSettings;
  /** Powertools log level; unset, Powertools reads POWERTOOLS_LOG_LEVEL. */
  logLevel?: LogLevel;
  /**
   * The local backend's simulated Kubernetes API (`http://127.0.0.1:<port>`): the one
   * plain-HTTP server a stored kubeconfig may name. Unset on Lambda.
   */
  localKubeApi?: string;
  /**
   * How the Lambda client reaches the clusters' API functions when they run in this process
   * (the local runner's transport); unset on Lambda and for bundles, which go over HTTP.
   */
  lambdaTransport?: LambdaClientConfig['requestHandler'];
  /** True in a real Lambda (whose executions are Step Functions'), false in the local runner. */
  onLambda?: boolean;
}
