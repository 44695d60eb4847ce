import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ConfigError, classifyAwsError, isAwsErrorCode, StateConflictError } from '../errors.js';

/** A stored object: its text and the ETag that conditional writes refer to. */
export interface StoredObject {
  body: string;
  etag: string;
}

/** Preconditions of a write: create only (`ifNoneMatch: '*'`) or replace a known version. */
export interface WriteCondition {
  ifNoneMatch?: '*';
  ifMatch?: string;
}

/** The four calls the state store makes; S3 on AWS and locally, a fake where a test wants one. */
export interface ObjectStore {
  get(key: string): Promise<StoredObject | undefined>;
  /** Throws StateConflictError when the condition does not hold (HTTP 412). */
  put(key: string, body: string, condition?: WriteCondition): Promise<{ etag: string }>;
  delete(key: string): Promise<void>;
  list(prefix: string): Promise<string[]>;
  /** The first-level "folders" of the bucket (`<cluster>/`), without listing every object. */
  listFolders(): Promise<string[]>;
}

/** Where a secret lives: any key with a `secrets/` folder (`<cluster>/secrets/...`). */
export function isSecretKey(key: string): boolean {
  return key.includes('/secrets/');
}

/** How the store writes; `secretsKey` is the KMS key (ARN or alias ARN) every secret is written under. */
export interface ObjectStoreOptions {
  secretsKey?: string;
}

/**
 * The encryption of one write: a secret under the secrets key with an S3 Bucket Key (one KMS
 * call per bucket key, not per object); anything else under the bucket's default.
 */
function encryptionOf(key: string, options: ObjectStoreOptions) {
  if (!isSecretKey(key)) return {};
  if (!options.secretsKey)
    throw new ConfigError(
      `s3 object ${key}: secrets are written only under the secrets KMS key, and none is configured (SECRETS_KEY_ARN)`,
    );
  return {
    ServerSideEncryption: 'aws:kms' as const,
    SSEKMSKeyId: options.secretsKey,
    BucketKeyEnabled: true,
  };
}

/** The ObjectStore over one S3 bucket. */
export function s3ObjectStore(
  s3: Pick<S3Client, 'send'>,
  bucket: string,
  options: ObjectStoreOptions = {},
): ObjectStore {
  return {
    async get(key) {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return { body: (await out.Body?.transformToString('utf-8')) ?? '', etag: out.ETag ?? '' };
      } catch (error) {
        if (isAwsErrorCode(error, 'NoSuchKey', 'NotFound')) return undefined;
        throw classifyAwsError(error);
      }
    },
    async put(key, body, condition = {}) {
      const encryption = encryptionOf(key, options);
      try {
        const out = await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: key.endsWith('.json') ? 'application/json' : 'text/plain; charset=utf-8',
            ...(condition.ifNoneMatch ? { IfNoneMatch: condition.ifNoneMatch } : {}),
            ...(condition.ifMatch ? { IfMatch: condition.ifMatch } : {}),
            ...encryption,
          }),
        );
        return { etag: out.ETag ?? '' };
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
          ?.httpStatusCode;
        // If-Match on an object deleted since it was read answers 404 NoSuchKey: changed under us too.
        if (
          status === 412 ||
          isAwsErrorCode(error, 'PreconditionFailed', 'ConditionalRequestConflict') ||
          (condition.ifMatch && isAwsErrorCode(error, 'NoSuchKey'))
        ) {
          throw new StateConflictError(
            `s3://${bucket}/${key} changed under us (conditional write refused)`,
            { cause: error },
          );
        }
        throw classifyAwsError(error);
      }
    },
    async delete(key) {
      try {
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      } catch (error) {
        throw classifyAwsError(error);
      }
    },
    async listFolders() {
      const folders: string[] = [];
      let token: string | undefined;
      try {
        do {
          const out = await s3.send(
            new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/', ContinuationToken: token }),
          );
          for (const p of out.CommonPrefixes ?? [])
            if (p.Prefix) folders.push(p.Prefix.replace(/\/$/, ''));
          token = out.IsTruncated ? out.NextContinuationToken : undefined;
        } while (token);
      } catch (error) {
        throw classifyAwsError(error);
      }
      return folders;
    },
    async list(prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      try {
        do {
          const out = await s3.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
          );
          for (const item of out.Contents ?? []) if (item.Key) keys.push(item.Key);
          token = out.IsTruncated ? out.NextContinuationToken : undefined;
        } while (token);
      } catch (error) {
        throw classifyAwsError(error);
      }
      return keys;
    },
  };
}
