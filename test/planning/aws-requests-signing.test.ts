import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  awsRequestSteps,
  secretWriteSteps,
  stateStoreSteps,
} from '../../src/planning/aws-requests.js';

// The boot script's own request functions, run under bash with this machine's curl against a
// server on 127.0.0.1 that recomputes each request's SigV4 signature with the AWS SDK's signer
// over exactly the headers curl says it signed. IMDS is a bash function answering with a role's
// temporary credentials.

const CREDENTIALS = {
  accessKeyId: 'ASIAEXAMPLEKEY',
  secretAccessKey: 'example/secret+key',
  sessionToken: 'example-session-token',
};

interface Received {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
  service: string;
  signatureValid: boolean;
}

const received: Received[] = [];
let server: Server;
let base: string;

async function verify(
  request: IncomingMessage,
  body: Buffer,
): Promise<{ service: string; valid: boolean }> {
  const authorization = String(request.headers.authorization ?? '');
  const scope = /Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization);
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
  const signature = /Signature=([0-9a-f]{64})/.exec(authorization)?.[1];
  if (!scope || !signature) return { service: '', valid: false };
  const service = scope[4]!;
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) headers[name] = String(request.headers[name] ?? '');
  const url = new URL(request.url ?? '/', 'http://placeholder');
  const amzDate = String(request.headers['x-amz-date']);
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13)}`,
  );
  const signer = new SignatureV4({
    credentials: CREDENTIALS,
    region: scope[3]!,
    service,
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
    uriEscapePath: service !== 's3',
  });
  const signed = await signer.sign(
    {
      method: request.method ?? 'GET',
      protocol: 'http:',
      hostname: headers.host!.replace(/:\d+$/, ''),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      ...(body.length > 0 ? { body: body.toString('utf8') } : {}),
    },
    { signingDate, unsignableHeaders: new Set(), signableHeaders: new Set(signedHeaders) },
  );
  const recomputed = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1];
  return { service, valid: recomputed === signature };
}

/** How many of the next requests S3 answers 503 SlowDown, as it does when throttling. */
let slowDowns = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', async () => {
      const body = Buffer.concat(chunks);
      const { service, valid } = await verify(request, body);
      const url = new URL(request.url ?? '/', 'http://placeholder');
      received.push({
        method: request.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: request.headers as Record<string, string>,
        body: body.toString('utf8'),
        service,
        signatureValid: valid,
      });
      if (slowDowns > 0) {
        slowDowns -= 1;
        response.statusCode = 503;
        response.end('<Error><Code>SlowDown</Code></Error>');
        return;
      }
      response.statusCode = valid ? 200 : 403;
      response.end(
        service === 'ec2'
          ? '<DescribeVolumesResponse><volumeSet><item><volumeId>vol-0123</volumeId><status>available</status></item></volumeSet></DescribeVolumesResponse>'
          : request.method === 'GET' && url.searchParams.has('list-type')
            ? '<ListBucketResult><Contents><Key>seed.example.com/secrets/control-plane-pki.tar.gz</Key></Contents></ListBucketResult>'
            : 'stored-body',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/**
 * Runs `commands` after the boot script's request functions, pointed at the local server; not
 * synchronously, so the server in this process can answer.
 */
function runFunctions(
  commands: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const credentials = JSON.stringify({
    AccessKeyId: CREDENTIALS.accessKeyId,
    SecretAccessKey: CREDENTIALS.secretAccessKey,
    Token: CREDENTIALS.sessionToken,
  });
  const script = [
    'set -o errexit -o nounset -o pipefail',
    "readonly AWS_REGION='us-east-1'",
    'readonly CLUSTER_NAME=seed.example.com',
    `readonly STATE_BUCKET_URL='${base}/state-bucket'`,
    `readonly STATE_STORE='${base}/state-bucket/seed.example.com'`,
    'log() { printf "%s\\n" "$*" >&2; }',
    `imds() { if [ "$1" = iam/security-credentials/ ]; then printf role; else printf '%s' '${credentials}'; fi; }`,
    ...awsRequestSteps('us-east-1').map((line) =>
      line.startsWith('readonly EC2_URL=') ? `readonly EC2_URL='${base}/'` : line,
    ),
    ...stateStoreSteps(),
    commands,
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('the boot script signs its AWS requests with curl', () => {
  it('reads a state store object with a signature the AWS signer agrees with, the session token signed', async () => {
    received.length = 0;

    const run = await runFunctions('require_curl_sigv4; state_store_read pki/ca-cert-hash');

    expect(run).toMatchObject({ status: 0, stdout: 'stored-body' });
    expect(received).toMatchObject([
      {
        method: 'GET',
        path: '/state-bucket/seed.example.com/pki/ca-cert-hash',
        service: 's3',
        signatureValid: true,
      },
    ]);
    expect(received[0]!.headers).toMatchObject({
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      'x-amz-security-token': CREDENTIALS.sessionToken,
    });
    expect(received[0]!.headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-security-token/);
  });

  it('writes a secret under the KMS key, create-only, with every SSE header signed in order', async () => {
    received.length = 0;

    const run = await runFunctions(
      [
        ...secretWriteSteps('alias/example'),
        "printf 'secret data' | state_store_write_secret secrets/kubeconfig create-only",
      ].join('\n'),
    );

    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(received).toMatchObject([
      {
        method: 'PUT',
        path: '/state-bucket/seed.example.com/secrets/kubeconfig',
        body: 'secret data',
        signatureValid: true,
      },
    ]);
    expect(received[0]!.headers).toMatchObject({
      'if-none-match': '*',
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'alias/example',
    });
    expect(received[0]!.headers.authorization).toMatch(
      /SignedHeaders=[^,]*if-none-match[^,]*x-amz-server-side-encryption;x-amz-server-side-encryption-aws-kms-key-id;/,
    );
  });

  it('writes a secret again, signed anew, after S3 throttles the first try', async () => {
    received.length = 0;
    slowDowns = 1;

    const run = await runFunctions(
      [
        ...secretWriteSteps('alias/example'),
        "printf 'secret data' | state_store_write_secret secrets/kubeconfig",
      ].join('\n'),
    );

    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(received.map((r) => [r.method, r.path, r.signatureValid])).toEqual([
      ['PUT', '/state-bucket/seed.example.com/secrets/kubeconfig', true],
      ['PUT', '/state-bucket/seed.example.com/secrets/kubeconfig', true],
    ]);
  });

  it('writes a plain object with its body and a signature the AWS signer agrees with', async () => {
    received.length = 0;

    const run = await runFunctions("printf 'sha256:abc' | state_store_write pki/ca-cert-hash");

    expect(run.status).toBe(0);
    expect(received).toMatchObject([
      {
        method: 'PUT',
        path: '/state-bucket/seed.example.com/pki/ca-cert-hash',
        body: 'sha256:abc',
        signatureValid: true,
      },
    ]);
  });

  it('lists the store with a canonical query, and finds the key it asks for', async () => {
    received.length = 0;

    const run = await runFunctions(
      'if state_store_has secrets/control-plane-pki.tar.gz; then echo held; else echo absent; fi',
    );

    expect(run).toMatchObject({ status: 0, stdout: 'held\n' });
    expect(received).toMatchObject([
      {
        query: {
          delimiter: '/',
          'list-type': '2',
          prefix: 'seed.example.com/secrets/control-plane-pki.tar.gz',
        },
        signatureValid: true,
      },
    ]);
  });

  it('calls EC2 with form parameters whose hash is signed, and reads the answer', async () => {
    received.length = 0;

    const run = await runFunctions(
      "ec2_request DescribeVolumes 'Filter.1.Name=tag:KubernetesCluster' 'Filter.1.Value.1=a b&c=d' | xml_value volumeId",
    );

    expect(run).toMatchObject({ status: 0, stdout: 'vol-0123' });
    expect(received).toMatchObject([{ method: 'POST', service: 'ec2', signatureValid: true }]);
    expect(new URLSearchParams(received[0]!.body).get('Filter.1.Value.1')).toBe('a b&c=d');
  });
});
