import { randomBytes } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { now as clockNow, sleep } from '../clock.js';
import { LONGEST_EXECUTION_SECONDS } from '../config.js';
import {
  ClusterExistsError,
  ClusterLockedError,
  ClusterNotFoundError,
  InstanceGroupClaimError,
  LockLostError,
  StateConflictError,
} from '../errors.js';
import type { CompletedManifest } from '../manifest/completed.js';
import { completeManifest } from '../manifest/defaults.js';
import { sameSpec } from '../manifest/same-spec.js';
import type { Cluster, ClusterManifest, InstanceGroup } from '../manifest/types.js';
import { toManifestYaml } from '../manifest/yaml.js';
import type { LockHolder } from './holder.js';
import { clusterFolder, storeKey } from './layout.js';
import type { ObjectStore } from './object-store.js';

/**
 * The state store: a cluster's spec, status and lock, read and written with the conditional
 * writes that keep two executions from racing. Where each object lives is src/state/layout.ts.
 */

import { KOPSLESS_VERSION } from '../version.js';

export { KOPSLESS_VERSION };

/** The phases status.json records (the input schemas take them from here). */
export const CLUSTER_PHASES = [
  'Registered',
  'Creating',
  'Ready',
  'Updating',
  'RollingUpdate',
  'Deleting',
  'Failed',
] as const;

export type ClusterPhase = (typeof CLUSTER_PHASES)[number];

export interface ClusterStatus {
  phase: ClusterPhase;
  lastExecution?: string;
  lastOperation?: string;
  lastError?: { error: string; cause: string; at: string } | null;
  updatedAt: string;
}

export interface LockLease {
  owner: string;
  operation: string;
  acquiredAt: string;
  expiresAt: string;
  /** The local process running the execution, when it runs locally (see src/state/holder.ts). */
  holder?: LockHolder;
  /**
   * When the operation first took the lock, kept across takeovers of its interrupted executions:
   * a resumed `rolling-update --force` replaces only instances launched before it.
   */
  since?: string;
  /**
   * A rolling update's current wave: the instance groups its child executions may roll now,
   * recorded by the parent before the wave starts (`beginWave`).
   */
  wave?: string[];
  /**
   * Which execution rolls each group of the wave (`claimGroup`): one at a time per group, so a
   * child started by hand with the parent's ARN cannot roll a group beside the parent's own.
   */
  claims?: Record<string, string>;
  /**
   * The execution name the parent gave the child it starts next for each group of the wave
   * (`reserveChild`, before StartExecution): only that execution may claim the group.
   */
  reservations?: Record<string, string>;
  /**
   * A digest of what the parent's plan gives every child (options, cloudOnly, batchLimit): a child
   * started by hand with options of its own (another roster, forced instances, --cloudonly) is
   * refused, though its group is in the wave.
   */
  planDigest?: string;
}

/**
 * The default lease: as long as the longest state machine may run (rolling-update's
 * TimeoutSeconds, 24 h), so a slow but live execution never loses its lock. A holder that died
 * does not keep it that long: locally its process is checked, on AWS its execution's status.
 */
export const DEFAULT_LEASE_SECONDS = LONGEST_EXECUTION_SECONDS;

const key = storeKey;

const toYaml = toManifestYaml;

/** A kubeadm bootstrap token: `[a-z0-9]{6}.[a-z0-9]{16}`. */
export function newBootstrapToken(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const pick = (n: number) =>
    Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
  return `${pick(6)}.${pick(16)}`;
}

export class ClusterStore {
  constructor(private readonly objects: ObjectStore) {}

  /** Cluster names with a `config` object (a folder holding only a lock or leftovers is no cluster). */
  async listClusters(): Promise<string[]> {
    const names: string[] = [];
    for (const folder of await this.objects.listFolders()) {
      if (await this.exists(folder)) names.push(folder);
    }
    return names.sort();
  }

  async exists(cluster: string): Promise<boolean> {
    return (await this.objects.get(key.config(cluster))) !== undefined;
  }

  /** The manifest as the user wrote it (Cluster and InstanceGroups). */
  async readManifest(cluster: string): Promise<ClusterManifest> {
    const config = await this.objects.get(key.config(cluster));
    if (!config) throw new ClusterNotFoundError(cluster);
    const igKeys = await this.objects.list(key.instanceGroups(cluster));
    const instanceGroups: InstanceGroup[] = [];
    for (const igKey of igKeys.sort()) {
      const obj = await this.objects.get(igKey);
      if (obj) instanceGroups.push(parseAllDocuments(obj.body)[0]?.toJS() as InstanceGroup);
    }
    return { cluster: parseAllDocuments(config.body)[0]?.toJS() as Cluster, instanceGroups };
  }

  /**
   * The manifest with kOps's defaults filled in, what the stages plan and render from. Completed
   * from what the user wrote (not read from `cluster-completed.spec`, which holds no instance
   * groups), so it is the same wherever it is read.
   */
  async readCompletedManifest(cluster: string): Promise<CompletedManifest> {
    return completeManifest(await this.readManifest(cluster));
  }

  /**
   * Registers a new cluster. The `config` object is written create-only, so two creates of one
   * name cannot both win; a retry by the same execution that already wrote the same spec passes.
   */
  async registerCluster(manifest: ClusterManifest, completed: CompletedManifest): Promise<void> {
    const name = manifest.cluster.metadata.name;
    const body = toYaml(manifest.cluster);
    try {
      await this.objects.put(key.config(name), body, { ifNoneMatch: '*' });
    } catch (error) {
      if (!(error instanceof StateConflictError)) throw error;
      // Idempotent for a retry of the same registration: the whole manifest must be the same, or,
      // while the registration is half done (the version file comes last), what it wrote so far.
      const existing = await this.readManifest(name);
      const complete = (await this.objects.get(key.version(name))) !== undefined;
      const wanted = new Map(manifest.instanceGroups.map((ig) => [ig.metadata.name, toYaml(ig)]));
      const same = complete
        ? sameSpec(existing, manifest)
        : toYaml(existing.cluster) === toYaml(manifest.cluster) &&
          existing.instanceGroups.every((ig) => wanted.get(ig.metadata.name) === toYaml(ig));
      if (!same)
        throw new ClusterExistsError(`cluster "${name}" already exists in the state store`, {
          cause: error,
        });
    }
    await this.writeSpecs(manifest, completed);
  }

  /** Replaces the spec of an existing cluster (instance groups no longer listed are removed). */
  async writeSpecs(manifest: ClusterManifest, completed: CompletedManifest): Promise<void> {
    const name = manifest.cluster.metadata.name;
    await this.objects.put(key.config(name), toYaml(manifest.cluster));
    const wanted = new Set<string>();
    for (const ig of manifest.instanceGroups) {
      wanted.add(key.instanceGroup(name, ig.metadata.name));
      await this.objects.put(key.instanceGroup(name, ig.metadata.name), toYaml(ig));
    }
    for (const existing of await this.objects.list(key.instanceGroups(name))) {
      if (!wanted.has(existing)) await this.objects.delete(existing);
    }
    await this.objects.put(key.completed(name), toYaml(completed.cluster));
    await this.objects.put(key.version(name), `${KOPSLESS_VERSION}\n`);
  }

  /** The bootstrap token nodes join with; made once per cluster and kept. */
  async ensureBootstrapToken(cluster: string): Promise<void> {
    try {
      await this.objects.put(key.bootstrapToken(cluster), newBootstrapToken(), {
        ifNoneMatch: '*',
      });
    } catch (error) {
      if (!(error instanceof StateConflictError)) throw error;
    }
  }

  async readStatus(cluster: string): Promise<ClusterStatus | undefined> {
    const obj = await this.objects.get(key.status(cluster));
    return obj ? (JSON.parse(obj.body) as ClusterStatus) : undefined;
  }

  /** Merges `patch` into status.json with a compare-and-swap on its ETag. */
  async updateStatus(cluster: string, patch: Partial<ClusterStatus>): Promise<ClusterStatus> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.objects.get(key.status(cluster));
      const base: ClusterStatus = current
        ? (JSON.parse(current.body) as ClusterStatus)
        : { phase: 'Registered', updatedAt: '' };
      const next: ClusterStatus = { ...base, ...patch, updatedAt: clockNow().toISOString() };
      try {
        await this.objects.put(
          key.status(cluster),
          JSON.stringify(next, null, 2),
          current ? { ifMatch: current.etag } : { ifNoneMatch: '*' },
        );
        return next;
      } catch (error) {
        if (!(error instanceof StateConflictError) || attempt >= 4) throw error;
      }
    }
  }

  async readLock(cluster: string): Promise<LockLease | undefined> {
    const obj = await this.objects.get(key.lock(cluster));
    return obj ? (JSON.parse(obj.body) as LockLease) : undefined;
  }

  /**
   * Takes the cluster lock for `owner`. Create-only write first; if a lock exists it is ours
   * (a Step Functions retry: refreshed), expired (taken over with If-Match on its ETag, so two
   * takers cannot both win) or live (ClusterLockedError naming the holder).
   */
  async acquireLock(
    cluster: string,
    owner: string,
    operation: string,
    leaseSeconds = DEFAULT_LEASE_SECONDS,
    holder?: LockHolder,
  ): Promise<LockLease> {
    const lease = this.newLease(owner, operation, leaseSeconds, holder);
    const now = new Date(lease.acquiredAt);
    const body = JSON.stringify(lease, null, 2);
    try {
      await this.objects.put(key.lock(cluster), body, { ifNoneMatch: '*' });
      return lease;
    } catch (error) {
      if (!(error instanceof StateConflictError)) throw error;
    }
    const current = await this.objects.get(key.lock(cluster));
    if (!current) return this.acquireLock(cluster, owner, operation, leaseSeconds, holder);
    const held = JSON.parse(current.body) as LockLease;
    if (held.owner !== owner && new Date(held.expiresAt) > now)
      throw new ClusterLockedError(cluster, held.owner, held.expiresAt);
    // Our own lease (a retry, or a lock taken over for us) keeps when the operation began.
    const renewed = held.owner === owner && held.since ? { ...lease, since: held.since } : lease;
    try {
      await this.objects.put(key.lock(cluster), JSON.stringify(renewed, null, 2), {
        ifMatch: current.etag,
      });
    } catch (error) {
      if (error instanceof StateConflictError) {
        const winner = await this.readLock(cluster);
        throw new ClusterLockedError(
          cluster,
          winner?.owner ?? 'unknown',
          winner?.expiresAt ?? 'unknown',
        );
      }
      throw error;
    }
    return renewed;
  }

  /** The lock as stored, with the ETag a takeover must name. */
  async readLockVersion(cluster: string): Promise<{ lease: LockLease; etag: string } | undefined> {
    const obj = await this.objects.get(key.lock(cluster));
    return obj ? { lease: JSON.parse(obj.body) as LockLease, etag: obj.etag } : undefined;
  }

  /**
   * Takes a live lease from a holder known to be gone (its local process no longer runs), without
   * waiting for the lease to expire. The write names the ETag the caller read, so of two takers
   * that saw the same dead holder only one wins; the other gets ClusterLockedError naming it.
   */
  async takeOverLock(
    cluster: string,
    from: { etag: string; lease?: LockLease },
    owner: string,
    operation: string,
    leaseSeconds = DEFAULT_LEASE_SECONDS,
    holder?: LockHolder,
  ): Promise<LockLease> {
    const fresh = this.newLease(owner, operation, leaseSeconds, holder);
    // Resuming the same operation: it began when the interrupted one did.
    const lease =
      from.lease?.operation === operation
        ? { ...fresh, since: from.lease.since ?? from.lease.acquiredAt }
        : fresh;
    try {
      await this.objects.put(key.lock(cluster), JSON.stringify(lease, null, 2), {
        ifMatch: from.etag,
      });
    } catch (error) {
      if (!(error instanceof StateConflictError)) throw error;
      const winner = await this.readLock(cluster);
      throw new ClusterLockedError(
        cluster,
        winner?.owner ?? 'nobody (released)',
        winner?.expiresAt ?? 'unknown',
      );
    }
    return lease;
  }

  private newLease(
    owner: string,
    operation: string,
    leaseSeconds: number,
    holder?: LockHolder,
  ): LockLease {
    const now = clockNow();
    return {
      owner,
      operation,
      acquiredAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + leaseSeconds * 1000).toISOString(),
      ...(holder ? { holder } : {}),
    };
  }

  /**
   * Extends `owner`'s lease by `leaseSeconds` from now (If-Match on the lock's ETag, so a takeover
   * in between is not overwritten). Undefined when no lock is stored; LockLostError when another
   * execution holds it.
   */
  async renewLock(
    cluster: string,
    owner: string,
    leaseSeconds = DEFAULT_LEASE_SECONDS,
  ): Promise<LockLease | undefined> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.readLockVersion(cluster);
      if (!current) return undefined;
      if (current.lease.owner !== owner)
        throw new LockLostError(cluster, owner, current.lease.owner);
      const renewed: LockLease = {
        ...current.lease,
        expiresAt: new Date(clockNow().getTime() + leaseSeconds * 1000).toISOString(),
      };
      try {
        await this.objects.put(key.lock(cluster), JSON.stringify(renewed, null, 2), {
          ifMatch: current.etag,
        });
        return renewed;
      } catch (error) {
        if (!(error instanceof StateConflictError) || attempt >= 4) throw error;
      }
    }
  }

  /**
   * Records the wave `owner` (a roll's parent) rolls next: the groups its children may claim, and
   * no claims yet (the last wave's children have all ended). Renews the lease. If-Match on the
   * lock's ETag; LockLostError when another execution holds the lock, or nobody does.
   */
  async beginWave(
    cluster: string,
    owner: string,
    instanceGroups: string[],
    planDigest: string,
    leaseSeconds = DEFAULT_LEASE_SECONDS,
  ): Promise<LockLease> {
    return this.rewriteLock(cluster, undefined, (lease) => {
      if (lease?.owner !== owner) throw new LockLostError(cluster, owner, lease?.owner);
      return {
        ...lease,
        expiresAt: this.leaseEnd(leaseSeconds),
        wave: [...instanceGroups],
        claims: {},
        reservations: {},
        planDigest,
      };
    });
  }

  /**
   * Reserves `name` for the child execution `owner` (a roll's parent) starts next for
   * `instanceGroup`, before it starts it: only an execution of that name may then claim the group.
   * Renews the lease. A retried reservation of the same name changes nothing else.
   * LockLostError when another execution holds the lock; InstanceGroupClaimError when the group is
   * not in the wave.
   */
  async reserveChild(
    cluster: string,
    owner: string,
    instanceGroup: string,
    name: string,
    leaseSeconds = DEFAULT_LEASE_SECONDS,
  ): Promise<LockLease> {
    return this.rewriteLock(cluster, undefined, (lease) => {
      if (lease?.owner !== owner) throw new LockLostError(cluster, owner, lease?.owner);
      if (!lease.wave?.includes(instanceGroup))
        throw new InstanceGroupClaimError(
          cluster,
          instanceGroup,
          owner,
          `it is not in the wave execution ${owner} is rolling`,
        );
      return {
        ...lease,
        expiresAt: this.leaseEnd(leaseSeconds),
        reservations: { ...lease.reservations, [instanceGroup]: name },
      };
    });
  }

  /**
   * Claims `instanceGroup` of the current wave for `claimant` (a child execution of `owner`) and
   * renews the lease. Refused with InstanceGroupClaimError when the group is not in the wave, when
   * the child's plan is not the one the parent recorded (`planDigest`), when the child's name is
   * not the one the parent reserved for the group (`reserveChild`), or when another execution
   * holds its claim and `mayTakeOver(holder)` says no (it still runs).
   * A claim already `claimant`'s (a retried step) is kept. `read`: the lock as the caller just
   * read it (saves a GET; a lost race reads again). The write names the lock's ETag: of
   * two children claiming at once one writes first, the other reads the lock again and is
   * judged against the winner (also when they claim different groups: then both get theirs).
   */
  async claimGroup(
    cluster: string,
    owner: string,
    {
      instanceGroup,
      claimant,
      planDigest,
    }: { instanceGroup: string; claimant: string; planDigest: string },
    mayTakeOver: (holder: string) => Promise<boolean>,
    leaseSeconds = DEFAULT_LEASE_SECONDS,
    read?: { lease: LockLease; etag: string },
  ): Promise<LockLease> {
    return this.rewriteLock(cluster, read, async (lease) => {
      if (!lease || lease.owner !== owner)
        throw new ClusterLockedError(
          cluster,
          lease ? lease.owner : `nobody (this child's parent ${owner} does not hold it)`,
          lease?.expiresAt ?? 'unknown',
        );
      if (!lease.wave?.includes(instanceGroup)) {
        const wave = lease.wave?.length
          ? `its current wave is ${lease.wave.join(', ')}`
          : 'it records no wave';
        throw new InstanceGroupClaimError(
          cluster,
          instanceGroup,
          owner,
          `it is not in the wave execution ${owner} is rolling (${wave})`,
        );
      }
      if (lease.planDigest !== planDigest) {
        throw new InstanceGroupClaimError(
          cluster,
          instanceGroup,
          owner,
          `its options, cloudOnly or batchLimit are not those execution ${owner} planned for its children`,
        );
      }
      const reserved = lease.reservations?.[instanceGroup];
      // The execution's name is the last field of its ARN.
      const name = claimant.slice(claimant.lastIndexOf(':') + 1);
      if (reserved !== name) {
        throw new InstanceGroupClaimError(
          cluster,
          instanceGroup,
          owner,
          reserved
            ? `execution ${owner} reserved the name ${reserved} for its next child of this group, not ${name}`
            : `execution ${owner} has reserved no child execution for it`,
        );
      }
      const holder = lease.claims?.[instanceGroup];
      if (holder !== undefined && holder !== claimant && !(await mayTakeOver(holder))) {
        throw new InstanceGroupClaimError(
          cluster,
          instanceGroup,
          holder,
          `execution ${holder} is rolling it and still runs`,
        );
      }
      return {
        ...lease,
        expiresAt: this.leaseEnd(leaseSeconds),
        claims: { ...lease.claims, [instanceGroup]: claimant },
      };
    });
  }

  /**
   * Reads the lock, computes its next version and writes it If-Match on the ETag read; on a lost
   * race reads again and recomputes (`change` judges the winner's lock). The children of a wave
   * claim their groups at about the same time, so a few rounds are normal: one writer wins each.
   */
  private async rewriteLock(
    cluster: string,
    read: { lease: LockLease; etag: string } | undefined,
    change: (lease: LockLease | undefined) => LockLease | Promise<LockLease>,
  ): Promise<LockLease> {
    const MAX_ATTEMPTS = 25; // more than the most groups a wave may hold (parallelGroups ≤ 20)
    for (let attempt = 1; ; attempt++) {
      const current = attempt === 1 && read ? read : await this.readLockVersion(cluster);
      const next = await change(current?.lease);
      // No lock stored: `change` has thrown (only a holder may rewrite it).
      if (!current) throw new LockLostError(cluster, next.owner, undefined);
      try {
        await this.objects.put(key.lock(cluster), JSON.stringify(next, null, 2), {
          ifMatch: current.etag,
        });
        return next;
      } catch (error) {
        if (!(error instanceof StateConflictError) || attempt >= MAX_ATTEMPTS) throw error;
        // A short random pause, so writers that collided do not collide again in step.
        await sleep(Math.random() * 20 * attempt);
      }
    }
  }

  private leaseEnd(leaseSeconds: number): string {
    return new Date(clockNow().getTime() + leaseSeconds * 1000).toISOString();
  }

  /** Releases the lock if `owner` holds it; releasing a lock one does not hold changes nothing. */
  async releaseLock(cluster: string, owner: string): Promise<boolean> {
    const current = await this.readLock(cluster);
    if (!current || current.owner !== owner) return false;
    await this.objects.delete(key.lock(cluster));
    return true;
  }

  /** Deletes every object of the cluster (the last step of delete). */
  async deleteCluster(cluster: string): Promise<number> {
    const keys = await this.objects.list(clusterFolder(cluster));
    for (const k of keys) await this.objects.delete(k);
    return keys.length;
  }
}
