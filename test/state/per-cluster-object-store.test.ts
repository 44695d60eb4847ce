import { describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../src/state/object-store.js';
import { clusterOfKey, perClusterObjectStore } from '../../src/state/per-cluster-object-store.js';

/** An object store that records what it was asked, under the name of the cluster it serves. */
function recording(cluster: string, asked: string[]): ObjectStore {
  return {
    get: async (key) => (asked.push(`${cluster} get ${key}`), undefined),
    put: async (key) => (asked.push(`${cluster} put ${key}`), { etag: '"1"' }),
    delete: async (key) => void asked.push(`${cluster} delete ${key}`),
    list: async (prefix) => (asked.push(`${cluster} list ${prefix}`), []),
    listFolders: async () => (asked.push(`${cluster} listFolders`), [cluster]),
  };
}

describe('a state store acting for one cluster per key', () => {
  it('sends each key to the store of the cluster it names', async () => {
    const asked: string[] = [];
    const store = perClusterObjectStore((cluster) => recording(cluster, asked));

    await store.get('a.example.com/config');
    await store.put('b.example.com/lock', 'x');
    await store.delete('a.example.com/lock');
    await store.list('b.example.com/instancegroup/');

    expect(asked).toEqual([
      'a.example.com get a.example.com/config',
      'b.example.com put b.example.com/lock',
      'a.example.com delete a.example.com/lock',
      'b.example.com list b.example.com/instancegroup/',
    ]);
  });

  it('lists the clusters with the store it is given for that, and refuses to without one', async () => {
    const asked: string[] = [];

    const listed = await perClusterObjectStore(
      (cluster) => recording(cluster, asked),
      recording('own', asked),
    ).listFolders();

    expect(listed).toEqual(['own']);
    await expect(
      perClusterObjectStore((cluster) => recording(cluster, asked)).listFolders(),
    ).rejects.toThrow('acts for one cluster at a time');
  });

  it.each(['config', '/config', ''])('refuses the key "%s", which names no cluster', (key) => {
    expect(() => clusterOfKey(key)).toThrow(`state store key "${key}" names no cluster`);
  });
});
