import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { AwsStub } from 'aws-sdk-client-mock';
import { checkManifest } from '../../src/manifest/check.js';
import { toManifestYaml } from '../../src/manifest/yaml.js';
import { readFixture } from '../helpers.js';
import { awsError, body } from './support.js';

/** Serves the seed cluster's spec from a mocked S3 state store. */
export function serveSeedState(s3: AwsStub<any, any, any>, cluster = 'seed.example.com'): void {
  const manifest = checkManifest(readFixture('seed.yaml')).manifest!;
  // Any other key is absent, as S3 answers for it.
  s3.on(GetObjectCommand).rejects(awsError('NoSuchKey', 404));
  s3.on(GetObjectCommand, { Key: `${cluster}/config` }).callsFake(async () => ({
    Body: body(toManifestYaml(manifest.cluster)),
    ETag: '"c"',
  }));
  s3.on(ListObjectsV2Command, { Prefix: `${cluster}/instancegroup/` }).resolves({
    Contents: manifest.instanceGroups.map((ig) => ({
      Key: `${cluster}/instancegroup/${ig.metadata.name}`,
    })),
  });
  for (const ig of manifest.instanceGroups) {
    s3.on(GetObjectCommand, { Key: `${cluster}/instancegroup/${ig.metadata.name}` }).callsFake(
      async () => ({ Body: body(toManifestYaml(ig)), ETag: '"i"' }),
    );
  }
}

export type { S3Client };
