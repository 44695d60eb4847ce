import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import { ClusterExistsError, ClusterNotFoundError, InvalidInputError } from '../../src/errors.js';
import { checkManifest } from '../../src/manifest/check.js';
import { toManifestYaml } from '../../src/manifest/yaml.js';
import { type WriteStateDeps, writeState } from '../../src/stages/write-state.js';
import { ClusterStore, DEFAULT_LEASE_SECONDS } from '../../src/state/cluster-store.js';
import { ROOT, readFixture } from '../helpers.js';
import { clockAt } from '../support/clock.js';
import { memoryObjects } from '../support/memory-objects.js';

/** An in-memory bucket with S3's conditional writes (ETags are version counters). */

function setup(time = '2026-01-01T00:00:00Z') {
  const objects = memoryObjects();
  const clock = { now: new Date(time) };
  clockAt(() => clock.now);
  const store = new ClusterStore(objects);
  const deps: WriteStateDeps = { store, lockLeaseSeconds: 600 };
  return { objects, store, deps, clock };
}

const seed = checkManifest(readFixture('seed.yaml'));
const SEED = seed.manifest!.cluster.metadata.name;

async function registered() {
  const env = setup();
  await env.store.registerCluster(seed.manifest!, seed.completed!);
  return env;
}

describe('validateInput against the store', () => {
  it('refuses an update of a cluster that is not in the store with ClusterNotFoundError naming it', async () => {
    const { deps } = setup();

    const attempt = writeState(
      {
        action: 'validateInput',
        stateMachine: 'update-cluster',
        input: { cluster: 'nothere.example.com' },
      },
      deps,
    );

    await expect(attempt).rejects.toBeInstanceOf(ClusterNotFoundError);
    await expect(attempt).rejects.toThrow(/"nothere.example.com"/);
  });

  it('refuses a roll of a cluster that is not in the store', async () => {
    const { deps } = setup();

    await expect(
      writeState(
        {
          action: 'validateInput',
          stateMachine: 'rolling-update',
          input: { cluster: 'nothere.example.com' },
        },
        deps,
      ),
    ).rejects.toBeInstanceOf(ClusterNotFoundError);
  });

  it('names an instance group the cluster does not have, with its index', async () => {
    const { deps } = await registered();
    const group = seed.manifest!.instanceGroups[0]!.metadata.name;

    const attempt = writeState(
      {
        action: 'validateInput',
        stateMachine: 'rolling-update',
        input: { cluster: SEED, instanceGroups: [group, 'nope'] },
      },
      deps,
    );

    await expect(attempt).rejects.toBeInstanceOf(InvalidInputError);
    await expect(attempt).rejects.toThrow('instanceGroups[1]: InstanceGroup "nope" not found');
  });

  it('accepts a roll of instance groups the cluster has', async () => {
    const { deps } = await registered();
    const group = seed.manifest!.instanceGroups[0]!.metadata.name;

    const input = await writeState(
      {
        action: 'validateInput',
        stateMachine: 'rolling-update',
        input: { cluster: SEED, instanceGroups: [group] },
      },
      deps,
    );

    expect(input).toMatchObject({ cluster: SEED, instanceGroups: [group] });
  });
});

describe('status of a cluster the store does not know', () => {
  it('fail leaves no status.json behind', async () => {
    const { deps, objects } = setup();

    await writeState(
      {
        action: 'fail',
        cluster: 'nothere.example.com',
        owner: 'exec-1',
        error: { Error: 'ClusterNotFoundError', Cause: 'x' },
      },
      deps,
    );

    expect(await objects.list('')).toEqual([]);
  });

  it('phase and finish leave no status.json behind', async () => {
    const { deps, objects } = setup();

    await writeState(
      { action: 'phase', cluster: 'nothere.example.com', owner: 'exec-1', phase: 'Updating' },
      deps,
    );
    await writeState(
      { action: 'finish', cluster: 'nothere.example.com', owner: 'exec-1', phase: 'Ready' },
      deps,
    );

    expect(await objects.list('')).toEqual([]);
  });

  it('fail still records the error of a registered cluster', async () => {
    const { deps, store } = await registered();

    await writeState(
      {
        action: 'fail',
        cluster: SEED,
        owner: 'exec-1',
        error: { Error: 'StackFailedError', Cause: 'boom' },
      },
      deps,
    );

    expect(await store.readStatus(SEED)).toMatchObject({
      phase: 'Failed',
      lastError: { error: 'StackFailedError', cause: 'boom' },
    });
  });
});

describe('lock ownership while writing status', () => {
  it('phase renews the lease of the execution that holds the lock', async () => {
    const { deps, store, clock } = await registered();
    await writeState(
      { action: 'acquireLock', cluster: SEED, owner: 'exec-1', operation: 'rolling-update' },
      deps,
    );
    clock.now = new Date('2026-01-01T00:09:00Z');

    await writeState(
      { action: 'phase', cluster: SEED, owner: 'exec-1', phase: 'RollingUpdate' },
      deps,
    );

    expect((await store.readLock(SEED))?.expiresAt).toBe('2026-01-01T00:19:00.000Z');
  });

  it('a renewed lease keeps a second execution out after the first lease would have run out', async () => {
    const { deps, clock } = await registered();
    await writeState(
      { action: 'acquireLock', cluster: SEED, owner: 'exec-1', operation: 'rolling-update' },
      deps,
    );
    clock.now = new Date('2026-01-01T00:09:00Z');
    await writeState(
      { action: 'phase', cluster: SEED, owner: 'exec-1', phase: 'RollingUpdate' },
      deps,
    );
    clock.now = new Date('2026-01-01T00:15:00Z');

    await expect(
      writeState(
        { action: 'acquireLock', cluster: SEED, owner: 'exec-2', operation: 'rolling-update' },
        deps,
      ),
    ).rejects.toMatchObject({ name: 'ClusterLockedError' });
  });

  it('phase, finish and fail refuse with LockLostError once another execution took the expired lock, and change nothing', async () => {
    const { deps, store, clock } = await registered();
    await writeState(
      { action: 'acquireLock', cluster: SEED, owner: 'exec-1', operation: 'rolling-update' },
      deps,
    );
    clock.now = new Date('2026-01-01T00:11:00Z');
    await writeState(
      { action: 'acquireLock', cluster: SEED, owner: 'exec-2', operation: 'rolling-update' },
      deps,
    );
    await writeState(
      { action: 'phase', cluster: SEED, owner: 'exec-2', phase: 'RollingUpdate' },
      deps,
    );

    for (const stale of [
      { action: 'phase', cluster: SEED, owner: 'exec-1', phase: 'RollingUpdate' },
      { action: 'finish', cluster: SEED, owner: 'exec-1', phase: 'Ready' },
      { action: 'fail', cluster: SEED, owner: 'exec-1', error: { Error: 'E', Cause: 'c' } },
    ] as const) {
      await expect(writeState(stale, deps), stale.action).rejects.toMatchObject({
        name: 'LockLostError',
        message: expect.stringContaining('held by execution exec-2'),
      });
    }
    expect(await store.readStatus(SEED)).toMatchObject({
      phase: 'RollingUpdate',
      lastExecution: 'exec-2',
    });
    expect((await store.readLock(SEED))?.owner).toBe('exec-2');
  });

  it('fail records the error when nobody holds the lock', async () => {
    const { deps, store } = await registered();

    await writeState(
      { action: 'fail', cluster: SEED, owner: 'exec-1', error: { Error: 'E', Cause: 'c' } },
      deps,
    );

    expect(await store.readStatus(SEED)).toMatchObject({
      phase: 'Failed',
      lastExecution: 'exec-1',
    });
  });

  it('a retried finish after its lock was released succeeds', async () => {
    const { deps, store } = await registered();
    await writeState(
      { action: 'acquireLock', cluster: SEED, owner: 'exec-1', operation: 'update' },
      deps,
    );
    await writeState({ action: 'finish', cluster: SEED, owner: 'exec-1', phase: 'Ready' }, deps);

    await writeState({ action: 'finish', cluster: SEED, owner: 'exec-1', phase: 'Ready' }, deps);

    expect(await store.readStatus(SEED)).toMatchObject({ phase: 'Ready', lastExecution: 'exec-1' });
  });
});

describe('lease length', () => {
  it('outlasts the longest state machine TimeoutSeconds, by default and in the Lambda config', () => {
    const dir = join(ROOT, 'statemachines');
    const longest = Math.max(
      ...readdirSync(dir).map(
        (f) =>
          (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { TimeoutSeconds: number })
            .TimeoutSeconds,
      ),
    );

    expect(DEFAULT_LEASE_SECONDS).toBeGreaterThanOrEqual(longest);
    expect(
      readConfig({ STATE_BUCKET: 'b', AWS_REGION: 'us-east-1' }).lockLeaseSeconds,
    ).toBeGreaterThanOrEqual(longest);
  });
});

/** What a roll's parent planned for its children (options, cloudOnly, batchLimit). */
const PLAN = { options: {}, cloudOnly: false, batchLimit: 5 };

describe('requireLock (a child execution of a roll)', () => {
  const PARENT = 'arn:aws:states:us-east-1:123456789012:execution:kopsless-rolling-update:roll-1';
  const CHILD =
    'arn:aws:states:us-east-1:123456789012:execution:kopsless-rolling-update-group:child-1';
  const NODES = 'nodes-us-east-1a';
  const require = (
    owner = PARENT,
    instanceGroup = NODES,
    execution = CHILD,
    plan: Record<string, unknown> = PLAN,
  ) => ({ action: 'requireLock' as const, cluster: SEED, owner, instanceGroup, execution, plan });

  /** The parent holds the lock for a roll, has begun a wave of `groups` and named CHILD the next child of each. */
  async function rolling(groups = [NODES]) {
    const env = await registered();
    await writeState(
      { action: 'acquireLock', cluster: SEED, owner: PARENT, operation: 'rolling-update' },
      env.deps,
    );
    await writeState(
      { action: 'beginWave', cluster: SEED, owner: PARENT, instanceGroups: groups, plan: PLAN },
      env.deps,
    );
    for (const group of groups) await env.store.reserveChild(SEED, PARENT, group, 'child-1');
    return env;
  }

  it("reserves a child's name in the lock: the same name for a retried reservation, at most 80 characters of Step Functions' alphabet", async () => {
    const { deps, store } = await rolling();
    const reserve = (sequence: number) =>
      writeState(
        { action: 'reserveChild', cluster: SEED, owner: PARENT, instanceGroup: NODES, sequence },
        deps,
      ) as Promise<{ name: string }>;

    const first = await reserve(1);
    const retried = await reserve(1);
    const second = await reserve(2);

    expect(retried).toEqual(first);
    expect(second.name).not.toBe(first.name);
    expect(first.name).toMatch(/^nodes-us-east-1a-1-[0-9a-f]{16}$/);
    expect((await store.readLock(SEED))?.reservations).toEqual({ [NODES]: second.name });
  });

  it('refuses to reserve a child of a group outside the wave, or for an execution that does not hold the lock, changing nothing', async () => {
    const { deps, store } = await rolling();
    const before = await store.readLockVersion(SEED);

    await expect(
      writeState(
        {
          action: 'reserveChild',
          cluster: SEED,
          owner: PARENT,
          instanceGroup: 'nodes-us-east-1b',
          sequence: 1,
        },
        deps,
      ),
    ).rejects.toMatchObject({ name: 'InstanceGroupClaimError' });
    await expect(
      writeState(
        {
          action: 'reserveChild',
          cluster: SEED,
          owner: 'someone-else',
          instanceGroup: NODES,
          sequence: 1,
        },
        deps,
      ),
    ).rejects.toMatchObject({ name: 'LockLostError' });
    expect(await store.readLockVersion(SEED)).toEqual(before);
  });

  it('passes when the parent holds the lock, and renews its lease', async () => {
    const { deps, store, clock } = await rolling();
    clock.now = new Date('2026-01-01T00:09:00Z');

    await writeState(require(), deps);

    expect(await store.readLock(SEED)).toMatchObject({
      owner: PARENT,
      expiresAt: '2026-01-01T00:19:00.000Z',
    });
  });

  it('claims its instance group of the current wave for this child execution', async () => {
    const { deps, store } = await rolling();

    await writeState(require(), deps);

    expect((await store.readLock(SEED))?.claims).toEqual({ [NODES]: CHILD });
  });

  it('fails with ClusterLockedError naming the holder when another execution holds the lock, and changes nothing', async () => {
    const { deps, store } = await registered();
    await writeState(
      { action: 'acquireLock', cluster: SEED, owner: 'other-exec', operation: 'update' },
      deps,
    );
    const before = await store.readLock(SEED);

    const result = writeState(require(), deps);

    await expect(result).rejects.toMatchObject({
      name: 'ClusterLockedError',
      holder: 'other-exec',
      message: expect.stringContaining('locked by execution other-exec'),
    });
    expect(await store.readLock(SEED)).toEqual(before);
  });

  it("fails with ClusterLockedError when the holder execution has ended (a child started by hand with a stopped parent's ARN), leaving the lease as it was", async () => {
    const { deps, store } = await rolling();
    const before = await store.readLock(SEED);
    const stopped: WriteStateDeps = {
      ...deps,
      executionStatus: async (arn) => (arn === PARENT ? 'ABORTED' : undefined),
    };

    const result = writeState(require(), stopped);

    await expect(result).rejects.toMatchObject({
      name: 'ClusterLockedError',
      message: expect.stringContaining(`${PARENT} (ABORTED: it no longer runs`),
    });
    expect(await store.readLock(SEED)).toEqual(before);
  });

  it("fails with ClusterLockedError when the holder is a running execution of another operation (a delete's ARN given as lockOwner), leaving the lease as it was", async () => {
    const { deps, store } = await registered();
    const DELETE =
      'arn:aws:states:us-east-1:123456789012:execution:kopsless-delete-cluster:delete-1';
    await writeState(
      { action: 'acquireLock', cluster: SEED, owner: DELETE, operation: 'delete' },
      deps,
    );
    const before = await store.readLock(SEED);

    const result = writeState(require(DELETE), { ...deps, executionStatus: async () => 'RUNNING' });

    await expect(result).rejects.toMatchObject({
      name: 'ClusterLockedError',
      message: expect.stringContaining('for delete, not a rolling update'),
    });
    expect(await store.readLock(SEED)).toEqual(before);
  });

  it('passes on AWS when the holder execution is still running', async () => {
    const { deps, store } = await rolling();
    const running: WriteStateDeps = {
      ...deps,
      executionStatus: async (arn) => (arn === PARENT ? 'RUNNING' : undefined),
    };

    await writeState(require(), running);

    expect(await store.readLock(SEED)).toMatchObject({ owner: PARENT, claims: { [NODES]: CHILD } });
  });

  it('fails with ClusterLockedError when nobody holds the lock (a child started by hand), writing no lock', async () => {
    const { deps, store } = await registered();

    await expect(writeState(require(), deps)).rejects.toMatchObject({
      name: 'ClusterLockedError',
      message: expect.stringContaining(`parent ${PARENT} does not hold it`),
    });
    expect(await store.readLock(SEED)).toBeUndefined();
  });
});

describe("beginWave (a roll's parent, before each wave)", () => {
  const PARENT = 'arn:aws:states:us-east-1:123456789012:execution:kopsless-rolling-update:roll-1';

  it("records the wave in the lock with no claims, dropping the last wave's", async () => {
    const { deps, store } = await registered();
    await writeState(
      { action: 'acquireLock', cluster: SEED, owner: PARENT, operation: 'rolling-update' },
      deps,
    );
    await writeState(
      {
        action: 'beginWave',
        cluster: SEED,
        owner: PARENT,
        instanceGroups: ['control-plane-us-east-1a'],
        plan: PLAN,
      },
      deps,
    );
    await store.reserveChild(SEED, PARENT, 'control-plane-us-east-1a', 'roll-1-child');
    await writeState(
      {
        action: 'requireLock',
        cluster: SEED,
        owner: PARENT,
        instanceGroup: 'control-plane-us-east-1a',
        execution: `${PARENT}-child`,
        plan: PLAN,
      },
      deps,
    );

    await writeState(
      {
        action: 'beginWave',
        cluster: SEED,
        owner: PARENT,
        instanceGroups: ['nodes-us-east-1a', 'nodes-us-east-1b'],
        plan: PLAN,
      },
      deps,
    );

    expect(await store.readLock(SEED)).toMatchObject({
      owner: PARENT,
      wave: ['nodes-us-east-1a', 'nodes-us-east-1b'],
      claims: {},
    });
  });

  it('fails with LockLostError when another execution holds the lock, and changes nothing', async () => {
    const { deps, store } = await registered();
    await writeState(
      { action: 'acquireLock', cluster: SEED, owner: 'other-exec', operation: 'rolling-update' },
      deps,
    );
    const before = await store.readLock(SEED);

    const attempt = writeState(
      {
        action: 'beginWave',
        cluster: SEED,
        owner: PARENT,
        instanceGroups: ['nodes-us-east-1a'],
        plan: PLAN,
      },
      deps,
    );

    await expect(attempt).rejects.toMatchObject({
      name: 'LockLostError',
      message: expect.stringContaining('held by execution other-exec'),
    });
    expect(await store.readLock(SEED)).toEqual(before);
  });
});

describe('fail after a child execution failed', () => {
  it("records the child's error and kOps's message, not States.TaskFailed", async () => {
    const { deps, store } = await registered();
    const child = {
      ExecutionArn:
        'arn:aws:states:us-east-1:123456789012:execution:kopsless-rolling-update-group:abc',
      Status: 'FAILED',
      Error: 'DrainTimeoutError',
      Cause: JSON.stringify({
        errorType: 'DrainTimeoutError',
        errorMessage: 'error draining node(s) "n1": drain did not complete',
      }),
    };

    await writeState(
      {
        action: 'fail',
        cluster: SEED,
        owner: 'exec-1',
        error: { Error: 'States.TaskFailed', Cause: JSON.stringify(child) },
      },
      deps,
    );

    expect((await store.readStatus(SEED))?.lastError).toMatchObject({
      error: 'DrainTimeoutError',
      cause: 'error draining node(s) "n1": drain did not complete',
    });
  });

  it('keeps a States.TaskFailed whose cause is not a failed execution as it is', async () => {
    const { deps, store } = await registered();

    await writeState(
      {
        action: 'fail',
        cluster: SEED,
        owner: 'exec-1',
        error: { Error: 'States.TaskFailed', Cause: 'not json' },
      },
      deps,
    );

    expect((await store.readStatus(SEED))?.lastError).toMatchObject({
      error: 'States.TaskFailed',
      cause: 'not json',
    });
  });
});

describe('register of a name already registered and never built', () => {
  // Another machine type for the control plane: a spec that is valid and not the same.
  const changed = readFixture('seed.yaml').replace(
    'machineType: t3.medium',
    'machineType: m5.large',
  );
  const controlPlaneType = async (store: ClusterStore) =>
    (await store.readManifest(SEED)).instanceGroups.find((ig) => ig.spec.role === 'Master')?.spec
      .machineType;

  async function registeredBy(owner: string) {
    const env = setup();
    await writeState(
      { action: 'register', manifest: readFixture('seed.yaml'), owner, operation: 'register' },
      env.deps,
    );
    return env;
  }

  it.each(['register', 'create'] as const)(
    'refuses another %s with a different spec, naming the cluster, and keeps the stored spec',
    async (operation) => {
      const { deps, store } = await registeredBy('first-registration');

      const attempt = writeState(
        { action: 'register', manifest: changed, owner: 'someone-else', operation },
        deps,
      );

      await expect(attempt).rejects.toBeInstanceOf(ClusterExistsError);
      await expect(attempt).rejects.toThrow(
        `cluster "${SEED}" is already registered with a different spec`,
      );
      expect(await controlPlaneType(store)).toBe('t3.medium');
      expect((await store.readStatus(SEED))?.lastExecution).toBe('first-registration');
    },
  );

  it.each(['register', 'create'] as const)(
    'accepts another %s of the same spec, in another order of documents',
    async (operation) => {
      const { deps, store } = await registeredBy('first-registration');
      const reordered = [...seed.manifest!.instanceGroups, seed.manifest!.cluster]
        .map((d) => toManifestYaml(d))
        .join('---\n');

      await writeState(
        { action: 'register', manifest: reordered, owner: 'retry', operation },
        deps,
      );

      expect((await store.readStatus(SEED))?.lastExecution).toBe('retry');
    },
  );

  it('refuses a create after an interrupted create with other instance groups, keeping the stored ones', async () => {
    const { deps, store } = setup();
    await writeState(
      {
        action: 'register',
        manifest: readFixture('seed.yaml'),
        owner: 'interrupted',
        operation: 'create',
      },
      deps,
    );

    const attempt = writeState(
      { action: 'register', manifest: changed, owner: 'taker', operation: 'create' },
      deps,
    );

    await expect(attempt).rejects.toBeInstanceOf(ClusterExistsError);
    await expect(attempt).rejects.toThrow('interrupted create of a different spec');
    expect(await controlPlaneType(store)).toBe('t3.medium');
    expect((await store.readStatus(SEED))?.lastExecution).toBe('interrupted');
  });

  it('lets the registration that wrote it write a changed spec again (its own retry)', async () => {
    const { deps, store } = await registeredBy('first-registration');

    await writeState(
      { action: 'register', manifest: changed, owner: 'first-registration', operation: 'register' },
      deps,
    );

    expect(await controlPlaneType(store)).toBe('m5.large');
  });
});
