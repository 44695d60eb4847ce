import { InvokeCommand, LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';
import { AwsRequestError, rethrowAws, TransientKubeError } from '../errors.js';
import {
  type ClusterApiInvoker,
  type ClusterApiRequest,
  type ClusterApiResponse,
  invocationQualifier,
} from '../kube/cluster-api-protocol.js';
import { clusterApiFunctionName } from '../planning/names.js';

/**
 * The error a failed invocation of a cluster API function becomes: a refusal of the request
 * (bad input, the wrong cluster, a missing setting) is permanent; a timeout or a crash of the
 * runtime may pass.
 */
export function invocationError(functionName: string, errorType: string, message: string): Error {
  const what = `cluster API function ${functionName}: ${errorType}: ${message}`;
  return ['InvalidInputError', 'UnknownActionError', 'ConfigError'].includes(errorType)
    ? new AwsRequestError(what)
    : new TransientKubeError(what);
}

/**
 * The shared functions' way to a cluster's API function on AWS: a synchronous
 * `lambda:InvokeFunction` of the function the cluster's stack made in the cluster's VPC; an etcd
 * operation through the function's `etcd` alias, which only the rolling update may invoke.
 */
export function lambdaClusterApi(lambda: Pick<LambdaClient, 'send'>): ClusterApiInvoker {
  return async (request: ClusterApiRequest): Promise<ClusterApiResponse> => {
    const qualifier = invocationQualifier(request);
    const name = clusterApiFunctionName(request.cluster);
    const functionName = qualifier ? `${name}:${qualifier}` : name;
    const out = await lambda
      .send(
        new InvokeCommand({
          FunctionName: name,
          ...(qualifier ? { Qualifier: qualifier } : {}),
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(request)),
        }),
      )
      .catch(rethrowAws);
    const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
    if (out.FunctionError) {
      const reported = (() => {
        try {
          return JSON.parse(text) as { errorType?: string; errorMessage?: string };
        } catch {
          return {};
        }
      })();
      throw invocationError(
        functionName,
        reported.errorType ?? out.FunctionError,
        reported.errorMessage ?? text.slice(0, 500),
      );
    }
    return JSON.parse(text) as ClusterApiResponse;
  };
}

/**
 * The invoker a shared function builds at cold start: a Lambda client with the function's own
 * client settings, and the local runner's in-process transport when it has one.
 */
export function clusterApiClient(
  aws: LambdaClientConfig,
  transport?: LambdaClientConfig['requestHandler'],
): ClusterApiInvoker {
  return lambdaClusterApi(
    new LambdaClient({ ...aws, ...(transport ? { requestHandler: transport } : {}) }),
  );
}
