import { ListHostedZonesCommand, type Route53Client } from '@aws-sdk/client-route-53';
import type { AwsStub } from 'aws-sdk-client-mock';
import { vi } from 'vitest';
import { lambdaContext as localLambdaContext } from '../../src/local/sfn/handlers.js';
import { stackRoleName } from '../../src/planning/names.js';

/** Environment every handler reads at cold start. */
export const HANDLER_ENV = {
  STATE_BUCKET: 'state-bucket',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

/** A Lambda context as the runtime passes it. */
export const lambdaContext = localLambdaContext('kopsless-test') as never;

/** An S3 GetObject body: the one method of the SDK's stream mixin the state store calls. */
export function body(text: string) {
  return { transformToString: async () => text };
}

/** An error shaped as the SDK throws it for an HTTP status and error code. */
export function awsError(name: string, status: number, message = name): Error {
  return Object.assign(new Error(message), {
    name,
    $metadata: { httpStatusCode: status },
    $fault: status >= 500 ? 'server' : 'client',
  });
}

/** The launch function's handler, loaded with the stack role settings its cold start reads. */
export async function loadLaunchHandler(): Promise<
  (event: unknown, context: unknown) => Promise<any>
> {
  for (const [k, v] of Object.entries({
    ...HANDLER_ENV,
    CLUSTER_STACK_POLICY_ARNS: 'arn:aws:iam::123456789012:policy/kopsless-cluster-stack-policy',
    CLUSTER_STACK_BOUNDARY_ARN: 'arn:aws:iam::123456789012:policy/kopsless-cluster-stack-boundary',
  }))
    vi.stubEnv(k, v);
  return ((await import('../../functions/launch-cluster.js')) as unknown as { handler: any })
    .handler;
}

/** The ARN of a cluster's stack role, as launch makes it. */
export function stackRoleArn(cluster: string): string {
  return `arn:aws:iam::123456789012:role/kopsless/stack/${cluster}/${stackRoleName(cluster)}`;
}

/** The user's hosted zone `example.com.`, the one the seed cluster's records go into. */
export function serveUserZone(r53: AwsStub<any, any, Route53Client['config']>) {
  r53.on(ListHostedZonesCommand).resolves({
    HostedZones: [{ Id: '/hostedzone/ZUSER', Name: 'example.com.', CallerReference: 'r' }],
    IsTruncated: false,
    MaxItems: 100,
  });
}
