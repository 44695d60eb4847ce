import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterExistsError, ClusterLockedError, StateConflictError } from '../../src/errors.js';
import { checkManifest } from '../../src/manifest/check.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { type ObjectStore, s3ObjectStore } from '../../src/state/object-store.js';
import { readFixture } from '../helpers.js';
import { clockAt } from '../support/clock.js';
import { startTestBackend, type TestBackend } from '../support/moto.js';

// Conditional writes are checked against moto's S3, which enforces If-None-Match / If-Match (412).
let backend: TestBackend;
let objects: ObjectStore;

beforeAll(async () => {
  backend = await startTestBackend();
  objects = s3ObjectStore(new S3Client({}), backend.bucket);
});
afterAll(() => backend?.stop());

function storeAt(time: string): ClusterStore {
  clockAt(time);
  return new ClusterStore(objects);
}

describe('object store conditional writes', () => {
  it('refuses a create-only write over an existing object', async () => {
    await objects.put('t1/obj', 'first', { ifNoneMatch: '*' });

    await expect(objects.put('t1/obj', 'second', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(
      StateConflictError,
    );
    expect((await objects.get('t1/obj'))?.body).toBe('first');
  });

  it('refuses a replace when the ETag moved on', async () => {
    const { etag } = await objects.put('t2/obj', 'v1');
    await objects.put('t2/obj', 'v2');

    await expect(objects.put('t2/obj', 'v3', { ifMatch: etag })).rejects.toBeInstanceOf(
      StateConflictError,
    );
    expect((await objects.get('t2/obj'))?.body).toBe('v2');
  });
});

describe('cluster lock', () => {
  it('refuses a second holder, naming the first', async () => {
    const store = storeAt('2026-01-01T00:00:00Z');
    await store.acquireLock('lock-a.example.com', 'execution-1', 'create', 600);

    const second = store.acquireLock('lock-a.example.com', 'execution-2', 'create', 600);

    await expect(second).rejects.toBeInstanceOf(ClusterLockedError);
    await expect(second).rejects.toThrow(/locked by execution execution-1/);
  });

  it('lets the holder take it again (a Step Functions retry)', async () => {
    const store = storeAt('2026-01-01T00:00:00Z');
    await store.acquireLock('lock-b.example.com', 'execution-1', 'create', 600);

    const again = await store.acquireLock('lock-b.example.com', 'execution-1', 'create', 600);

    expect(again.owner).toBe('execution-1');
  });

  it('takes over an expired lease', async () => {
    await storeAt('2026-01-01T00:00:00Z').acquireLock(
      'lock-c.example.com',
      'crashed',
      'create',
      60,
    );

    const lease = await storeAt('2026-01-01T00:05:00Z').acquireLock(
      'lock-c.example.com',
      'execution-2',
      'update',
      60,
    );

    expect(lease.owner).toBe('execution-2');
  });

  it('is released only by its holder', async () => {
    const store = storeAt('2026-01-01T00:00:00Z');
    await store.acquireLock('lock-d.example.com', 'execution-1', 'create', 600);

    expect(await store.releaseLock('lock-d.example.com', 'execution-2')).toBe(false);
    expect(await store.readLock('lock-d.example.com')).toMatchObject({ owner: 'execution-1' });
    expect(await store.releaseLock('lock-d.example.com', 'execution-1')).toBe(true);
    expect(await store.readLock('lock-d.example.com')).toBeUndefined();
  });

  it('lets exactly one of several racing executions win', async () => {
    const store = storeAt('2026-01-01T00:00:00Z');

    const results = await Promise.allSettled(
      [1, 2, 3, 4].map((i) =>
        store.acquireLock('lock-e.example.com', `execution-${i}`, 'create', 600),
      ),
    );

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });
});

describe('taking over the lock of a dead local holder', () => {
  const holder = { pid: 4242, host: 'laptop', bootId: 'boot-1', startTicks: '1000' };

  it('records the local holder of a lease', async () => {
    const store = storeAt('2026-01-01T00:00:00Z');

    await store.acquireLock('take-a.example.com', 'execution-1', 'create', 600, holder);

    expect(await store.readLock('take-a.example.com')).toMatchObject({
      owner: 'execution-1',
      holder,
    });
  });

  it('replaces a live lease at once when the ETag still matches', async () => {
    const store = storeAt('2026-01-01T00:00:00Z');
    await store.acquireLock('take-b.example.com', 'killed', 'rolling-update', 600, holder);
    const seen = (await store.readLockVersion('take-b.example.com'))!;

    const lease = await store.takeOverLock(
      'take-b.example.com',
      { etag: seen.etag },
      'execution-2',
      'rolling-update',
      600,
      { ...holder, pid: 5151 },
    );

    expect(lease).toMatchObject({ owner: 'execution-2', holder: { pid: 5151 } });
    expect(await store.readLock('take-b.example.com')).toMatchObject({ owner: 'execution-2' });
  });

  it('lets exactly one of two takers that saw the same dead holder win', async () => {
    const store = storeAt('2026-01-01T00:00:00Z');
    await store.acquireLock('take-c.example.com', 'killed', 'delete', 600, holder);
    const seen = (await store.readLockVersion('take-c.example.com'))!;

    const results = await Promise.allSettled(
      ['taker-1', 'taker-2'].map((owner) =>
        store.takeOverLock('take-c.example.com', { etag: seen.etag }, owner, 'delete', 600),
      ),
    );

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(ClusterLockedError);
    const winner = (
      results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ owner: string }>
    ).value.owner;
    expect(refused.reason.message).toContain(`locked by execution ${winner}`);
  });

  it("lets the taker's own execution then acquire the lock it took (its retry path)", async () => {
    const store = storeAt('2026-01-01T00:00:00Z');
    await store.acquireLock('take-d.example.com', 'killed', 'create', 600, holder);
    await store.takeOverLock(
      'take-d.example.com',
      { etag: (await store.readLockVersion('take-d.example.com'))!.etag },
      'execution-2',
      'create',
      600,
    );

    const lease = await store.acquireLock('take-d.example.com', 'execution-2', 'create', 600, {
      ...holder,
      pid: 5151,
    });

    expect(lease).toMatchObject({ owner: 'execution-2', holder: { pid: 5151 } });
  });
});

describe('when an interrupted operation began (since)', () => {
  it('is carried to the execution that takes over the same operation, and kept when it acquires its lock', async () => {
    await storeAt('2026-01-01T00:00:00Z').acquireLock(
      'since-a.example.com',
      'killed',
      'rolling-update',
      600,
    );
    const later = storeAt('2026-01-01T00:03:00Z');
    await later.takeOverLock(
      'since-a.example.com',
      (await later.readLockVersion('since-a.example.com'))!,
      'taker',
      'rolling-update',
      600,
    );

    const lease = await storeAt('2026-01-01T00:03:01Z').acquireLock(
      'since-a.example.com',
      'taker',
      'rolling-update',
      600,
    );

    expect(lease).toMatchObject({
      owner: 'taker',
      acquiredAt: '2026-01-01T00:03:01.000Z',
      since: '2026-01-01T00:00:00.000Z',
    });
  });

  it('is not carried to another operation', async () => {
    await storeAt('2026-01-01T00:00:00Z').acquireLock(
      'since-b.example.com',
      'killed',
      'rolling-update',
      600,
    );
    const later = storeAt('2026-01-01T00:03:00Z');

    const lease = await later.takeOverLock(
      'since-b.example.com',
      (await later.readLockVersion('since-b.example.com'))!,
      'taker',
      'delete',
      600,
    );

    expect(lease.since).toBeUndefined();
  });
});

describe('cluster specs', () => {
  const check = checkManifest(readFixture('seed.yaml'));

  it('writes the kOps layout', async () => {
    const store = storeAt('2026-01-01T00:00:00Z');

    await store.registerCluster(check.manifest!, check.completed!);

    const keys = await objects.list('seed.example.com/');
    expect(keys).toEqual(
      expect.arrayContaining([
        'seed.example.com/config',
        'seed.example.com/cluster-completed.spec',
        'seed.example.com/kops-version.txt',
        'seed.example.com/instancegroup/control-plane-us-east-1a',
        'seed.example.com/instancegroup/nodes-us-east-1a',
        'seed.example.com/instancegroup/nodes-us-east-1b',
      ]),
    );
    expect(await store.readManifest('seed.example.com')).toEqual(check.manifest);
  });

  it('accepts a retry of the registration with its instance groups in another order', async () => {
    const store = storeAt('2026-01-01T00:00:00Z');
    await store.registerCluster(check.manifest!, check.completed!);
    const reordered = {
      ...check.manifest!,
      instanceGroups: [...check.manifest!.instanceGroups].reverse(),
    };

    await expect(store.registerCluster(reordered, check.completed!)).resolves.toBeUndefined();
  });

  it('refuses to register a different spec under an existing name', async () => {
    const store = storeAt('2026-01-01T00:00:00Z');
    const other = checkManifest(
      readFixture('seed.yaml').replace('machineType: t3.medium', 'machineType: t3.large'),
    );

    await expect(store.registerCluster(other.manifest!, other.completed!)).rejects.toBeInstanceOf(
      ClusterExistsError,
    );
  });

  it('lets a retry finish a registration that stopped half-way (config written, groups not yet)', async () => {
    const store = storeAt('2026-01-01T00:00:00Z');
    const half = checkManifest(
      readFixture('seed.yaml').replaceAll('seed.example.com', 'half.example.com'),
    );
    await objects.put(
      'half.example.com/config',
      (await import('../../src/manifest/yaml.js')).toManifestYaml(half.manifest!.cluster),
      { ifNoneMatch: '*' },
    );

    await store.registerCluster(half.manifest!, half.completed!);

    expect(await store.readManifest('half.example.com')).toEqual(half.manifest);
  });

  it('still refuses a half-done registration of a different spec', async () => {
    const store = storeAt('2026-01-01T00:00:00Z');
    const first = checkManifest(
      readFixture('seed.yaml').replaceAll('seed.example.com', 'race.example.com'),
    );
    const other = checkManifest(
      readFixture('seed.yaml')
        .replaceAll('seed.example.com', 'race.example.com')
        .replace('machineType: t3.medium', 'machineType: t3.large'),
    );
    const { toManifestYaml } = await import('../../src/manifest/yaml.js');
    await objects.put('race.example.com/config', toManifestYaml(first.manifest!.cluster), {
      ifNoneMatch: '*',
    });
    await objects.put(
      `race.example.com/instancegroup/${first.manifest!.instanceGroups[0]!.metadata.name}`,
      toManifestYaml(first.manifest!.instanceGroups[0]!),
    );

    await expect(store.registerCluster(other.manifest!, other.completed!)).rejects.toBeInstanceOf(
      ClusterExistsError,
    );
  });

  it('merges status updates', async () => {
    const store = storeAt('2026-01-01T00:00:00Z');
    await store.updateStatus('status.example.com', { phase: 'Creating', lastExecution: 'e1' });

    const status = await store.updateStatus('status.example.com', { phase: 'Ready' });

    expect(status).toMatchObject({ phase: 'Ready', lastExecution: 'e1' });
  });
});
