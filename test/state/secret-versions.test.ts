import {
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3SecretVersions } from '../../src/state/secret-versions.js';
import { startTestBackend, type TestBackend } from '../support/moto.js';

let backend: TestBackend;
let s3: S3Client;

beforeAll(async () => {
  backend = await startTestBackend('kopsless-secret-versions');
  s3 = new S3Client({});
  await s3.send(
    new PutBucketVersioningCommand({
      Bucket: backend.bucket,
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  );
}, 60_000);
afterAll(() => backend?.stop());

const put = (Key: string, Body: string) =>
  s3.send(new PutObjectCommand({ Bucket: backend.bucket, Key, Body }));
const versionsUnder = async (Prefix: string) => {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: backend.bucket, Prefix }));
  return [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])].map((v) => v.Key);
};

describe('secret versions of a deleted cluster', () => {
  it("deletes every version of the cluster's secrets and nothing of another cluster", async () => {
    await put('a.example.com/secrets/bootstrap-token', 'first');
    await put('a.example.com/secrets/bootstrap-token', 'second');
    await put('a.example.com/secrets/kubeconfig', 'admin');
    await put('a.example.com/config', 'spec');
    await put('a.example.com.other/secrets/kubeconfig', 'not this one');

    const deleted = await s3SecretVersions(s3, backend.bucket).deleteAll('a.example.com');

    expect(deleted).toBe(3);
    expect(await versionsUnder('a.example.com/secrets/')).toEqual([]);
    expect(await versionsUnder('a.example.com/config')).toEqual(['a.example.com/config']);
    expect(await versionsUnder('a.example.com.other/')).toEqual([
      'a.example.com.other/secrets/kubeconfig',
    ]);
  });

  it('finds nothing to delete the second time', async () => {
    expect(await s3SecretVersions(s3, backend.bucket).deleteAll('a.example.com')).toBe(0);
  });
});
