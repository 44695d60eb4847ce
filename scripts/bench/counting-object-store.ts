import { StateConflictError } from '../../src/errors.js';
import type { ObjectStore } from '../../src/state/object-store.js';

/** An in-memory bucket with S3's conditional writes (a new ETag on every write), counting requests. */
export function countingObjectStore(): ObjectStore & { requests: { get: number; put: number } } {
  const objects = new Map<string, { body: string; etag: string }>();
  const requests = { get: 0, put: 0 };
  let version = 0;
  return {
    requests,
    async get(key) {
      requests.get++;
      return objects.get(key);
    },
    async put(key, body, condition = {}) {
      requests.put++;
      const current = objects.get(key);
      if (
        (condition.ifNoneMatch && current) ||
        (condition.ifMatch && current?.etag !== condition.ifMatch)
      )
        throw new StateConflictError(`${key} changed (conditional write refused)`);
      const etag = `"${++version}"`;
      objects.set(key, { body, etag });
      return { etag };
    },
    async delete(key) {
      objects.delete(key);
    },
    async list(prefix) {
      return [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    },
    async listFolders() {
      return [...new Set([...objects.keys()].map((k) => k.split('/')[0]!))].sort();
    },
  };
}
