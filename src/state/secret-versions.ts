import { DeleteObjectCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { classifyAwsError } from '../errors.js';
import { clusterFolder } from './layout.js';

/**
 * The state bucket is versioned: deleting a key leaves its earlier versions (and a delete
 * marker) behind for the bucket's retention. For a cluster's secrets (CA and service-account
 * keys, the admin kubeconfig, bootstrap tokens) that is not acceptable once the cluster is gone,
 * so delete removes every version of each.
 */
export interface SecretVersionsApi {
  /** Deletes every version and delete marker under `<cluster>/secrets/`; returns how many. */
  deleteAll(cluster: string): Promise<number>;
}

/** The secret versions of the state bucket `bucket`, through `client`. */
export function s3SecretVersions(
  client: Pick<S3Client, 'send'>,
  bucket: string,
): SecretVersionsApi {
  return {
    async deleteAll(cluster) {
      const prefix = `${clusterFolder(cluster)}secrets/`;
      let deleted = 0;
      try {
        let keyMarker: string | undefined;
        let versionIdMarker: string | undefined;
        do {
          const page = await client.send(
            new ListObjectVersionsCommand({
              Bucket: bucket,
              Prefix: prefix,
              KeyMarker: keyMarker,
              VersionIdMarker: versionIdMarker,
            }),
          );
          for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
            if (!v.Key?.startsWith(prefix) || !v.VersionId) continue;
            await client.send(
              new DeleteObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId }),
            );
            deleted++;
          }
          keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
          versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
        } while (keyMarker !== undefined);
      } catch (error) {
        throw classifyAwsError(error);
      }
      return deleted;
    },
  };
}
