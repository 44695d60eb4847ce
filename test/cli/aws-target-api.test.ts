import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { awsContext, type CliContext } from '../../src/cli/context.js';
import { runCreate } from '../../src/cli/create.js';
import { runExportKubeconfig } from '../../src/cli/export-kubeconfig.js';
import { TransientKubeError } from '../../src/errors.js';
import { createApiHandler } from '../../src/handlers/api.js';
import { routesFromTemplate } from '../../src/local/api/gateway-event.js';
import { type LocalApi, startLocalApi } from '../../src/local/api/server.js';
import { type AwsCall, inFunction, observeAwsCalls } from '../../src/local/instrument/aws-calls.js';
import type { LocalHandler } from '../../src/local/sfn/handlers.js';
import { storeKey } from '../../src/state/layout.js';
import { ROOT } from '../helpers.js';
import { startTestBackend, type TestBackend } from '../support/moto.js';

// The CLI of a deployed stack (--target aws) with the user's credentials: the state store and
// EC2/Route53 are the local backend, the stack's outputs are mocked, and its API is the API
// function's own handler behind the SigV4-checking local gateway on 127.0.0.1. Every AWS call is
// recorded with who made it: the CLI ("Cli") or the API function ("ApiFunction").

const STACK = 'kopsless-test';
const CLUSTER = 'seed.example.com';
const MACHINE = (name: string) => `arn:aws:states:us-east-1:123456789012:stateMachine:${name}`;

let backend: TestBackend;
let api: LocalApi;
let stopObserving: () => void;
let home: string;
const calls: AwsCall[] = [];
const cloudFormation = mockClient(CloudFormationClient);

const s3Calls = (who: string) => calls.filter((c) => c.functionId === who && c.service === 'S3');
const secretCalls = (who: string) =>
  s3Calls(who).filter((c) => String(c.input.Key ?? '').includes('/secrets/'));

async function cliContext(): Promise<CliContext> {
  return inFunction('Cli', () => awsContext(STACK));
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

beforeAll(async () => {
  backend = await startTestBackend('kopsless-aws-target-state');
  home = mkdtempSync(join(tmpdir(), 'kopsless-aws-target-'));
  const handler = createApiHandler({
    stateBucket: backend.bucket,
    stateMachines: {
      'create-cluster': MACHINE('create-cluster'),
      'update-cluster': MACHINE('update-cluster'),
      'rolling-update': MACHINE('rolling-update'),
      'rolling-update-group': MACHINE('rolling-update-group'),
      'delete-cluster': MACHINE('delete-cluster'),
    } as never,
  }) as unknown as LocalHandler;
  api = await startLocalApi({
    port: 0,
    routes: routesFromTemplate(join(ROOT, 'template.yaml')),
    handler: (event, context) => inFunction('ApiFunction', () => handler(event, context)),
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    region: 'us-east-1',
    accountId: '123456789012',
  });
  stopObserving = observeAwsCalls({ before: (call) => void calls.push(call) });
});

afterAll(async () => {
  stopObserving?.();
  await api?.close();
  backend?.stop();
  cloudFormation.restore();
  rmSync(home, { recursive: true, force: true });
});

beforeEach(() => {
  calls.length = 0;
  cloudFormation.reset();
  cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: STACK,
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: new Date(),
        Parameters: [],
        Outputs: [
          { OutputKey: 'StateBucketName', OutputValue: backend.bucket },
          { OutputKey: 'ApiUrl', OutputValue: `${api.url}` },
          { OutputKey: 'SecretsKeyAliasArn', OutputValue: process.env.SECRETS_KEY_ARN ?? '' },
        ],
      },
    ],
  });
});

describe('the CLI of a deployed stack and secrets/', () => {
  it('registers a cluster through the API, writing nothing to the state store itself', async () => {
    const { out, err, io: cliIo } = io();

    const code = await inFunction('Cli', () =>
      runCreate({ filename: join(ROOT, 'test', 'fixtures', 'seed.yaml') }, cliContext, cliIo),
    );

    expect({ code, err }).toEqual({ code: 0, err: [] });
    expect(out[0]).toBe(`Registered cluster "${CLUSTER}" in s3://${backend.bucket}/${CLUSTER}/`);
    expect(s3Calls('Cli').filter((c) => c.operation === 'PutObject')).toEqual([]);
    expect(secretCalls('Cli')).toEqual([]);
    expect(
      s3Calls('ApiFunction')
        .filter((c) => c.operation === 'PutObject')
        .map((c) => c.input.Key),
    ).toContain(storeKey.config(CLUSTER));
    const status = await new S3Client({}).send(
      new GetObjectCommand({ Bucket: backend.bucket, Key: storeKey.status(CLUSTER) }),
    );
    expect(JSON.parse(await status.Body!.transformToString())).toMatchObject({
      phase: 'Registered',
    });
  });

  it('exports the admin kubeconfig from the API, never reading secrets/ itself', async () => {
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'kubernetes',
          cluster: {
            server: `https://api.internal.${CLUSTER}:443`,
            'certificate-authority-data': 'Q0E=',
          },
        },
      ],
      users: [{ name: 'admin', user: { token: 'admin-token' } }],
      contexts: [{ name: 'admin@kubernetes', context: { cluster: 'kubernetes', user: 'admin' } }],
      'current-context': 'admin@kubernetes',
    };
    await new S3Client({}).send(
      new PutObjectCommand({
        Bucket: backend.bucket,
        Key: storeKey.kubeconfig(CLUSTER),
        Body: stringify(kubeconfig),
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: process.env.SECRETS_KEY_ARN,
      }),
    );
    const path = join(home, 'admin-config');
    const { err, io: cliIo } = io();

    const code = await inFunction('Cli', async () =>
      runExportKubeconfig(CLUSTER, { admin: true, kubeconfig: path }, await cliContext(), cliIo),
    );

    expect({ code, err }).toEqual({ code: 0, err: [] });
    expect(parse(readFileSync(path, 'utf8'))).toMatchObject({
      clusters: [{ name: CLUSTER, cluster: { server: `https://api.internal.${CLUSTER}:443` } }],
      users: [{ name: CLUSTER, user: { token: 'admin-token' } }],
      'current-context': CLUSTER,
    });
    expect(secretCalls('Cli')).toEqual([]);
    expect(secretCalls('ApiFunction').map((c) => [c.operation, c.input.Key])).toEqual([
      ['GetObject', storeKey.kubeconfig(CLUSTER)],
    ]);
  });

  it('exports the kubeconfig without --admin with no credentials in it', async () => {
    const path = join(home, 'plain-config');
    const { io: cliIo } = io();

    const code = await inFunction('Cli', async () =>
      runExportKubeconfig(CLUSTER, { kubeconfig: path }, await cliContext(), cliIo),
    );

    expect(code).toBe(0);
    expect(parse(readFileSync(path, 'utf8')).users).toEqual([{ name: CLUSTER, user: {} }]);
    expect(secretCalls('Cli')).toEqual([]);
  });

  it("reaches a cluster's API with the kubeconfig the API hands out, reading no secret itself", async () => {
    const ctx = await cliContext();

    const kube = await inFunction('Cli', () => ctx.kube(CLUSTER));

    expect(kube).toBeDefined();
    expect(secretCalls('Cli')).toEqual([]);
    expect(secretCalls('ApiFunction').map((c) => c.input.Key)).toEqual([
      storeKey.kubeconfig(CLUSTER),
    ]);
  });

  it('leaves etcd to the static pods, as out of reach, without reading its client certificate', async () => {
    const ctx = await cliContext();

    const etcd = inFunction('Cli', () => ctx.etcd(CLUSTER));

    await expect(etcd).rejects.toBeInstanceOf(TransientKubeError);
    expect(secretCalls('Cli')).toEqual([]);
  });

  it('refuses a direct read of a secret before any request, saying what to use', async () => {
    const ctx = await cliContext();

    const read = inFunction('Cli', () => ctx.objects.get(storeKey.kubeconfig(CLUSTER)));

    await expect(read).rejects.toThrow(
      /secrets\/kubeconfig: with --target aws the CLI does not use secrets\/ with your credentials/,
    );
    expect(secretCalls('Cli')).toEqual([]);
  });

  it("reports the API's refusal of a manifest whose name is not a cluster name, and registers nothing", async () => {
    const text = readFileSync(join(ROOT, 'test', 'fixtures', 'seed.yaml'), 'utf8');
    const ctx = await cliContext();

    const register = ctx.api!.register('Not_A_Cluster', text);

    await expect(register).rejects.toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/"Not_A_Cluster" is not a cluster name/),
    });
    expect(s3Calls('ApiFunction').filter((c) => c.operation === 'PutObject')).toEqual([]);
  });
});
