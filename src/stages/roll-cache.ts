import type { StackApi } from '../aws/cloudformation.js';
import type { RecordState } from '../aws/route53.js';
import type { KubePort } from '../kube/port.js';
import type { ClusterManifest } from '../manifest/types.js';
import { fqdn, PLACEHOLDER_IP, stackName } from '../planning/names.js';
import type { ClusterStore } from '../state/cluster-store.js';
import type { RollingUpdateDeps } from './rolling-update.js';

/** What the cache keeps for a cluster while one lock holds it. */
interface CacheEntry {
  key: string;
  manifest?: Promise<ClusterManifest>;
  stack?: NonNullable<Awaited<ReturnType<StackApi['describe']>>>;
  /** The API records once seen pointed at the control plane, keyed by zone and names. */
  pointedRecords?: { key: string; records: RecordState[] };
}

/** True when every name has an A record and none is kOps's placeholder. */
function allPointed(records: RecordState[], names: string[]): boolean {
  return names.every((name) => {
    const values = records
      .filter((r) => r.type === 'A' && r.name.toLowerCase() === fqdn(name).toLowerCase())
      .flatMap((r) => r.values);
    return values.length > 0 && !values.includes(PLACEHOLDER_IP);
  });
}

/**
 * What a warm Lambda container keeps between the steps of one roll, so that a step asks AWS only
 * about what it acts on (a step re-reading the spec and the kubeconfig made a forced roll ask S3
 * some 30 times per replaced node):
 * - the spec and the stack's description, keyed by the cluster's lock (its owner). Nothing changes the spec while the lock is held: every spec write
 *   (`replace`/`set` from the CLI, the ENI watcher) takes the lock first, and register refuses an
 *   existing cluster outside create; the stack's hosted zone never changes. A new roll, a resumed
 *   one or a recreated cluster holds another lock. Without a lock nothing is cached.
 * - the Kubernetes port, per cluster, read again from the state store when a call through it
 *   fails (a cluster recreated under the same name has another CA): the kubeconfig a replaced
 *   control plane publishes names the same API server and is signed by the same CA (restored
 *   from the state store), so the one read first stays good for the whole roll.
 * - the API records, once validation has seen them pointed at the control plane, keyed by the
 *   lock as the spec is: nothing writes kOps's placeholder back under the lock (only the stack's
 *   first create writes it, and verify-dns replaces it), so the answer that passed stays
 *   passing. Records not pointed yet are read again at every poll.
 */
export class RollCache {
  private locked = new Map<string, CacheEntry>();
  private kubes = new Map<string, Promise<KubePort | undefined>>();

  /**
   * `deps` whose store, stacks and kube answer from the cache for `cluster`; its lock is read at
   * most once per call of this. A roll child's step passes its parent as `heldBy`: the lock is
   * then not read, since the entry can only be stale once that parent has lost the lock, and
   * every step that changes something checks the lock before it does.
   */
  bind<
    D extends Pick<RollingUpdateDeps, 'store' | 'kube' | 'stacks'> &
      Partial<Pick<RollingUpdateDeps, 'dns'>>,
  >(deps: D, forCluster: string, heldBy?: string): D {
    let entry: Promise<CacheEntry | undefined> | undefined;
    const locked = this.locked;
    // Keyed by the lock's owner, an execution's ARN: a new roll, a resumed one or a recreated
    // cluster has another.
    const entryOf = (cluster: string, key: string): CacheEntry => {
      const found = locked.get(cluster);
      if (found?.key === key) return found;
      const fresh: CacheEntry = { key };
      locked.set(cluster, fresh);
      return fresh;
    };
    const current = (cluster: string) =>
      cluster !== forCluster
        ? Promise.resolve(undefined)
        : (entry ??= heldBy
            ? Promise.resolve(entryOf(cluster, heldBy))
            : deps.store
                .readLock(cluster)
                .then((lock) => (lock ? entryOf(cluster, lock.owner) : undefined)));
    const store = Object.create(deps.store) as ClusterStore;
    store.readManifest = async (cluster: string) => {
      const e = await current(cluster);
      if (!e) return deps.store.readManifest(cluster);
      e.manifest ??= deps.store.readManifest(cluster);
      // A failed read is not kept: the next step reads again.
      return e.manifest.catch((error: unknown) => {
        delete e.manifest;
        throw error;
      });
    };
    const stacks: D['stacks'] = {
      describe: async (name: string) => {
        const e = name === stackName(forCluster) ? await current(forCluster) : undefined;
        if (!e) return deps.stacks.describe(name);
        // Only a stack that exists is kept (validation reads its hosted zone, which never changes).
        e.stack ??= await deps.stacks.describe(name);
        return e.stack;
      },
    };
    const kubes = this.kubes;
    const kube = async (cluster: string): Promise<KubePort | undefined> => {
      let port = kubes.get(cluster);
      if (!port) {
        port = deps.kube(cluster);
        kubes.set(cluster, port);
      }
      const got = await port.catch((error: unknown) => {
        kubes.delete(cluster);
        throw error;
      });
      // No kubeconfig yet is not kept: the control plane may publish it any moment.
      if (!got) {
        kubes.delete(cluster);
        return undefined;
      }
      return retryingWithFreshKubeconfig(got, async () => {
        kubes.delete(cluster);
        const fresh = await deps.kube(cluster);
        if (fresh) kubes.set(cluster, Promise.resolve(fresh));
        return fresh;
      });
    };
    const dns = deps.dns;
    const cachedDns = dns && {
      ...dns,
      listRecords: async (zoneId: string, names: string[]) => {
        const e = await current(forCluster);
        const key = `${zoneId}\n${[...names].sort().join('\n')}`;
        if (e?.pointedRecords?.key === key) return e.pointedRecords.records;
        const records = await dns.listRecords(zoneId, names);
        if (e && allPointed(records, names)) e.pointedRecords = { key, records };
        return records;
      },
    };
    return { ...deps, store, stacks, kube, ...(cachedDns ? { dns: cachedDns } : {}) };
  }
}

/** A port whose calls, when one fails, read the kubeconfig again and try once more with it. */
function retryingWithFreshKubeconfig(
  port: KubePort,
  reread: () => Promise<KubePort | undefined>,
): KubePort {
  let currentPort = port;
  return new Proxy(port, {
    get(_target, property) {
      const member = (currentPort as unknown as Record<PropertyKey, unknown>)[property];
      if (typeof member !== 'function') return member;
      return async (...args: unknown[]) => {
        const call = (p: KubePort) =>
          (
            (p as unknown as Record<PropertyKey, (...a: unknown[]) => Promise<unknown>>)[
              property
            ] as (...a: unknown[]) => Promise<unknown>
          ).apply(p, args);
        try {
          return await call(currentPort);
        } catch (error) {
          const fresh = await reread();
          if (!fresh) throw error;
          currentPort = fresh;
          return call(fresh);
        }
      };
    },
  });
}
