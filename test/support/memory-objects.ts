import { StateConflictError } from '../../src/errors.js';
import type { ObjectStore } from '../../src/state/object-store.js';

/** An in-memory state store with S3's conditional writes (ETags change on every write). */
export function memoryObjects(): ObjectStore {
  const objects = new Map<string, { body: string; etag: string }>();
  let version = 0;
  return {
    get: async (key) => objects.get(key),
    async put(key, body, condition = {}) {
      const current = objects.get(key);
      if ((condition.ifNoneMatch && current) || (condition.ifMatch && current?.etag !== condition.ifMatch)) throw new StateConflictError(`${key} changed`);
      const etag = `"${++version}"`;
      objects.set(key, { body, etag });
      return { etag };
    },
    delete: async (key) => void objects.delete(key),
    list: async (prefix) => [...objects.keys()].filter((k) => k.startsWith(prefix)),
    listFolders: async () => [...new Set([...objects.keys()].map((k) => k.split('/')[0]!))],
  };
}

