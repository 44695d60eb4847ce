import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { s3ObjectStore } from '../../src/state/object-store.js';
import { startTestBackend, type TestBackend } from '../support/moto.js';

let backend: TestBackend;
let s3: S3Client;

beforeAll(async () => {
  backend = await startTestBackend('kopsless-secrets-encryption');
  s3 = new S3Client({});
}, 60_000);

afterAll(() => {
  s3?.destroy();
  backend?.stop();
});

async function encryptionOf(key: string) {
  const head = await s3.send(new HeadObjectCommand({ Bucket: backend.bucket, Key: key }));
  return { algorithm: head.ServerSideEncryption, key: head.SSEKMSKeyId };
}

describe('the state store encrypts secrets under the secrets key', () => {
  it('writes a secret with SSE-KMS under the configured key, and reads it back', async () => {
    const secretsKey = process.env.SECRETS_KEY_ARN!;
    const objects = s3ObjectStore(s3, backend.bucket, { secretsKey });

    await objects.put('a.example.com/secrets/bootstrap-token', 'abcdef.0123456789abcdef');

    expect(await encryptionOf('a.example.com/secrets/bootstrap-token')).toEqual({
      algorithm: 'aws:kms',
      key: secretsKey,
    });
    expect((await objects.get('a.example.com/secrets/bootstrap-token'))?.body).toBe(
      'abcdef.0123456789abcdef',
    );
  });

  it('leaves an object outside secrets/ under the bucket default', async () => {
    const objects = s3ObjectStore(s3, backend.bucket, { secretsKey: process.env.SECRETS_KEY_ARN });

    await objects.put('a.example.com/status.json', '{}');

    expect((await encryptionOf('a.example.com/status.json')).algorithm).not.toBe('aws:kms');
  });

  it('refuses to write a secret when no key is configured, and writes nothing', async () => {
    const objects = s3ObjectStore(s3, backend.bucket);

    await expect(objects.put('b.example.com/secrets/kubeconfig', 'x')).rejects.toThrow(ConfigError);
    await expect(objects.put('b.example.com/secrets/kubeconfig', 'x')).rejects.toThrow(
      /b\.example\.com\/secrets\/kubeconfig.*SECRETS_KEY_ARN/,
    );
    expect(await objects.get('b.example.com/secrets/kubeconfig')).toBeUndefined();
  });
});
