import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { vi } from 'vitest';
import { fakeStepFunctions } from '../support/fake-sfn.js';
import { awsError, HANDLER_ENV, lambdaContext } from './support.js';

/** The ARN of one of kopsless's state machines in the test account. */
export const MACHINE = (name: string) =>
  `arn:aws:states:us-east-1:123456789012:stateMachine:kopsless-${name}`;

export type ApiHandler = (
  event: unknown,
  context: unknown,
) => Promise<{ statusCode: number; body: string; headers: Record<string, string> }>;

/** Loads functions/api.ts as Lambda would, with its environment; the SDK clients are mocked. */
type Stub = AwsStub<any, any, any>;

export async function loadApi(): Promise<{ handler: ApiHandler; s3: Stub; sfn: Stub }> {
  const s3 = mockClient(S3Client);
  const sfn = mockClient(SFNClient);
  for (const [k, v] of Object.entries(HANDLER_ENV)) vi.stubEnv(k, v);
  for (const [variable, name] of [
    ['CREATE_CLUSTER', 'create-cluster'],
    ['UPDATE_CLUSTER', 'update-cluster'],
    ['ROLLING_UPDATE', 'rolling-update'],
    ['DELETE_CLUSTER', 'delete-cluster'],
  ]) {
    vi.stubEnv(`${variable}_STATE_MACHINE_ARN`, MACHINE(name!));
  }
  const { handler } = (await import('../../functions/api.js')) as unknown as {
    handler: ApiHandler;
  };
  return { handler, s3, sfn };
}

/** An empty state store and a Step Functions that keeps executions (see fakeStepFunctions). */
export function resetMocks(s3: Stub, sfn: Stub) {
  s3.reset();
  sfn.reset();
  s3.on(GetObjectCommand).rejects(awsError('NoSuchKey', 404));
  s3.on(ListObjectsV2Command).resolves({ Contents: [] });
  return fakeStepFunctions(sfn);
}

export interface ApiCall {
  body?: string | null;
  headers?: Record<string, string>;
  isBase64Encoded?: boolean;
}

/** An API Gateway REST proxy event, as API Gateway sends it. */
export function apiEvent(method: string, path: string, options: ApiCall = {}) {
  return {
    httpMethod: method,
    path,
    resource: path,
    pathParameters: null,
    headers: { 'Content-Type': 'application/yaml', ...options.headers },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    body: options.body ?? null,
    isBase64Encoded: options.isBase64Encoded ?? false,
    stageVariables: null,
    requestContext: {
      httpMethod: method,
      path,
      resourcePath: path,
      requestId: 'req-1',
      identity: {},
    },
  };
}

export const call = (handler: ApiHandler, method: string, path: string, options: ApiCall = {}) =>
  handler(apiEvent(method, path, options), lambdaContext);

export const bodyOf = (response: { body: string }) => JSON.parse(response.body);
