import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
// For its Promise.withResolvers stand-in on Node 20, which aws-local-stepfunctions needs.
import '../../src/local/sfn/step-functions.js';
import { InstanceGroupClaimError } from '../../src/errors.js';
import { checkManifest } from '../../src/manifest/check.js';
import { type WriteStateDeps, writeState } from '../../src/stages/write-state.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import type { ObjectStore } from '../../src/state/object-store.js';
import { ROOT, readFixture } from '../helpers.js';
import { clockAt } from '../support/clock.js';
import { memoryObjects } from '../support/memory-objects.js';

/**
 * Who may roll an instance group while a roll runs: the parent records each wave in the lock, and
 * a child claims its group there (requireLock). The attacks are those of a hostile tester with
 * states:StartExecution on the child machine and the running parent's ARN from status.json.
 */
const seed = checkManifest(readFixture('seed.yaml'));
const SEED = seed.manifest!.cluster.metadata.name;
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution';
const PARENT = `${EXECUTION}:kopsless-rolling-update:roll-1`;
const child = (name: string) => `${EXECUTION}:kopsless-rolling-update-group:${name}`;
const CONSOLE_CHILD = child('started-by-hand');
const NODES_A = 'nodes-us-east-1a';
const NODES_B = 'nodes-us-east-1b';
/** What the parent planned for its children (options, cloudOnly, batchLimit). */
const PLAN = {
  options: { roster: [{ instanceGroup: NODES_A }, { instanceGroup: NODES_B }] },
  cloudOnly: false,
  batchLimit: 5,
};

/**
 * The seed cluster in an in-memory store, a roll (PARENT) holding its lock on "AWS" (executions
 * have a status), and the wave `wave` begun. `statuses`: each execution's status (RUNNING unless
 * said). `objects`: a bucket to use instead of a fresh one.
 */
async function rolling(
  options: { wave?: string[]; statuses?: Record<string, string>; objects?: ObjectStore } = {},
) {
  const objects = options.objects ?? memoryObjects();
  clockAt('2026-01-01T00:00:00Z');
  const store = new ClusterStore(objects);
  await store.registerCluster(seed.manifest!, seed.completed!);
  const statuses = options.statuses ?? {};
  const deps: WriteStateDeps = {
    store,
    lockLeaseSeconds: 600,
    executionStatus: async (arn) => statuses[arn] ?? 'RUNNING',
  };
  await writeState(
    { action: 'acquireLock', cluster: SEED, owner: PARENT, operation: 'rolling-update' },
    deps,
  );
  await writeState(
    {
      action: 'beginWave',
      cluster: SEED,
      owner: PARENT,
      instanceGroups: options.wave ?? [NODES_A],
      plan: PLAN,
    },
    deps,
  );
  return { store, deps, statuses, objects };
}

/** The parent reserves the name of its `sequence`-th child of `instanceGroup` (ReserveChild); that child's ARN. */
async function reserve(deps: WriteStateDeps, instanceGroup: string, sequence = 1): Promise<string> {
  const { name } = (await writeState(
    { action: 'reserveChild', cluster: SEED, owner: PARENT, instanceGroup, sequence },
    deps,
  )) as { name: string };
  return child(name);
}

const claim = (instanceGroup: string, execution: string, plan: Record<string, unknown> = PLAN) => ({
  action: 'requireLock' as const,
  cluster: SEED,
  owner: PARENT,
  instanceGroup,
  execution,
  plan,
});

describe("a child started by hand with the running parent's ARN", () => {
  it("is refused, naming the group and the name the parent reserved, when the parent's own child is rolling that group, and changes nothing", async () => {
    const { store, deps } = await rolling();
    const own = await reserve(deps, NODES_A);
    await writeState(claim(NODES_A, own), deps);
    const before = await store.readLockVersion(SEED);

    const attempt = writeState(claim(NODES_A, CONSOLE_CHILD), deps);

    await expect(attempt).rejects.toBeInstanceOf(InstanceGroupClaimError);
    await expect(attempt).rejects.toThrow(
      `instance group "${NODES_A}" of cluster "${SEED}" may not be rolled by this execution: execution ${PARENT} reserved the name ${own.split(':').pop()} for its next child of this group, not started-by-hand`,
    );
    expect(await store.readLockVersion(SEED)).toEqual(before);
  });

  it('is refused, changing nothing, for a group of the wave the parent has reserved no child for yet', async () => {
    const { store, deps } = await rolling({ wave: [NODES_A] });
    const before = await store.readLockVersion(SEED);

    const attempt = writeState(claim(NODES_A, CONSOLE_CHILD), deps);

    await expect(attempt).rejects.toThrow(
      `execution ${PARENT} has reserved no child execution for it`,
    );
    expect(await store.readLockVersion(SEED)).toEqual(before);
  });

  it("is refused between two of the parent's children of a group: the next name is reserved before the next child starts", async () => {
    const { store, deps, statuses } = await rolling();
    const first = await reserve(deps, NODES_A, 1);
    await writeState(claim(NODES_A, first), deps);
    statuses[first] = 'SUCCEEDED';
    const before = await store.readLockVersion(SEED);

    const attempt = writeState(claim(NODES_A, CONSOLE_CHILD), deps);

    await expect(attempt).rejects.toMatchObject({ name: 'InstanceGroupClaimError' });
    expect(await store.readLockVersion(SEED)).toEqual(before);
  });

  it("is refused, naming the group and the parent's wave, for a group not in the current wave, and changes nothing", async () => {
    const { store, deps } = await rolling({ wave: [NODES_A] });
    const before = await store.readLockVersion(SEED);

    const attempt = writeState(claim(NODES_B, CONSOLE_CHILD), deps);

    await expect(attempt).rejects.toMatchObject({
      name: 'InstanceGroupClaimError',
      instanceGroup: NODES_B,
      holder: PARENT,
    });
    await expect(attempt).rejects.toThrow(
      `it is not in the wave execution ${PARENT} is rolling (its current wave is ${NODES_A})`,
    );
    expect(await store.readLockVersion(SEED)).toEqual(before);
  });

  it('is refused for a group no wave has begun for (a lock that records no wave), and changes nothing', async () => {
    const { store, deps, objects } = await rolling();
    const held = await store.readLockVersion(SEED);
    const { wave: _wave, claims: _claims, ...noWave } = held!.lease;
    await objects.put(`${SEED}/lock`, JSON.stringify(noWave), { ifMatch: held!.etag });
    const before = await store.readLockVersion(SEED);

    const attempt = writeState(claim(NODES_A, CONSOLE_CHILD), deps);

    await expect(attempt).rejects.toThrow('(it records no wave)');
    expect(await store.readLockVersion(SEED)).toEqual(before);
  });
});

/**
 * The child machine as built (statemachines/rolling-update-group.asl.json), with the real
 * requireLock behind RequireLock and every other Task a recorder of what would have been touched.
 */
async function runChildByHand(
  input: { instanceGroup: string; options?: Record<string, unknown>; cloudOnly?: boolean },
  deps: WriteStateDeps,
  executionArn = CONSOLE_CHILD,
) {
  const asl = JSON.parse(
    readFileSync(join(ROOT, 'statemachines/rolling-update-group.asl.json'), 'utf8').replace(
      /\$\{(\w+)Arn\}/g,
      (_, id: string) => `arn:aws:lambda:us-east-1:123456789012:function:kopsless-${id}`,
    ),
  ) as {
    States: Record<string, { Type: string }>;
  };
  const touched: string[] = [];
  const handlers: Record<string, (i: unknown) => Promise<unknown>> = {};
  for (const [name, state] of Object.entries(asl.States)) {
    if (state.Type === 'Task') handlers[name] = async () => (touched.push(name), {});
  }
  handlers.RequireLock = async (i) => writeState(i as Parameters<typeof writeState>[0], deps);
  const machine = new StateMachine(
    asl as never,
    { validationOptions: { checkPaths: true, checkArn: false } } as never,
  );
  const execution = machine.run({ cluster: SEED, lockOwner: PARENT, ...PLAN, ...input } as never, {
    overrides: { taskResourceLocalHandlers: handlers as never },
    context: { Execution: { Id: executionArn } } as never,
  });
  const error = await execution.result.then(
    () => undefined,
    (e: Error & { cause?: Error }) => e.cause ?? e,
  );
  return { error, touched };
}

describe("the child machine started by hand from the console with the running parent's ARN", () => {
  it("fails at RequireLock and runs no other Task when the parent's own child is rolling the same group", async () => {
    const { store, deps } = await rolling();
    await writeState(claim(NODES_A, await reserve(deps, NODES_A)), deps);
    const before = await store.readLockVersion(SEED);

    const { error, touched } = await runChildByHand({ instanceGroup: NODES_A }, deps);

    expect(error).toMatchObject({ name: 'InstanceGroupClaimError' });
    expect(touched).toEqual([]);
    expect(await store.readLockVersion(SEED)).toEqual(before);
  });

  it('fails at RequireLock and runs no other Task for a group outside the current wave', async () => {
    const { store, deps } = await rolling({ wave: [NODES_A] });
    const before = await store.readLockVersion(SEED);

    const { error, touched } = await runChildByHand({ instanceGroup: NODES_B }, deps);

    expect(error).toMatchObject({ name: 'InstanceGroupClaimError' });
    expect(touched).toEqual([]);
    expect(await store.readLockVersion(SEED)).toEqual(before);
  });

  it('fails at RequireLock, naming the plan, when it brings options of its own (instances to force) for an unclaimed group of the wave', async () => {
    const { store, deps } = await rolling({ wave: [NODES_A] });
    const before = await store.readLockVersion(SEED);

    const { error, touched } = await runChildByHand(
      { instanceGroup: NODES_A, options: { ...PLAN.options, forceIds: ['i-0123456789abcdef0'] } },
      deps,
    );

    expect(error).toMatchObject({
      name: 'InstanceGroupClaimError',
      message: expect.stringContaining(
        `its options, cloudOnly or batchLimit are not those execution ${PARENT} planned`,
      ),
    });
    expect(touched).toEqual([]);
    expect(await store.readLockVersion(SEED)).toEqual(before);
  });

  it('fails at RequireLock when it asks to skip the drain (cloudOnly) the parent planned', async () => {
    const { store, deps } = await rolling({ wave: [NODES_A] });
    const before = await store.readLockVersion(SEED);

    const { error, touched } = await runChildByHand(
      { instanceGroup: NODES_A, cloudOnly: true },
      deps,
    );

    expect(error).toMatchObject({ name: 'InstanceGroupClaimError' });
    expect(touched).toEqual([]);
    expect(await store.readLockVersion(SEED)).toEqual(before);
  });

  it("fails at RequireLock, with the parent's own plan, for an unclaimed group of the wave whose child the parent has not named", async () => {
    const { store, deps } = await rolling({ wave: [NODES_A] });
    const before = await store.readLockVersion(SEED);

    const { error, touched } = await runChildByHand({ instanceGroup: NODES_A }, deps);

    expect(error).toMatchObject({
      name: 'InstanceGroupClaimError',
      message: expect.stringContaining('has reserved no child execution for it'),
    });
    expect(touched).toEqual([]);
    expect(await store.readLockVersion(SEED)).toEqual(before);
  });

  it('claims the group and goes on to NextStep when it runs under the name the parent reserved', async () => {
    const { store, deps } = await rolling({ wave: [NODES_A] });
    const reserved = await reserve(deps, NODES_A);

    const { touched } = await runChildByHand({ instanceGroup: NODES_A }, deps, reserved);

    expect(touched[0]).toBe('NextStep');
    expect((await store.readLock(SEED))?.claims).toEqual({ [NODES_A]: reserved });
  });
});

describe('the claim of a group', () => {
  it('is taken over by a continued child once its predecessor has succeeded', async () => {
    const { store, deps, statuses } = await rolling();
    const first = await reserve(deps, NODES_A, 1);
    await writeState(claim(NODES_A, first), deps);
    statuses[first] = 'SUCCEEDED';
    const continued = await reserve(deps, NODES_A, 2);

    await writeState(claim(NODES_A, continued), deps);

    expect((await store.readLock(SEED))?.claims).toEqual({ [NODES_A]: continued });
  });

  it('is kept by a retried claim of the same child', async () => {
    const { store, deps } = await rolling();
    const own = await reserve(deps, NODES_A);
    await writeState(claim(NODES_A, own), deps);

    await writeState(claim(NODES_A, own), deps);

    expect((await store.readLock(SEED))?.claims).toEqual({ [NODES_A]: own });
  });

  it('is taken over locally (no execution status: only the runner starts children, one after another)', async () => {
    const { store, deps } = await rolling();
    await writeState(claim(NODES_A, await reserve(deps, NODES_A, 1)), deps);
    const { executionStatus: _onAwsOnly, ...local } = deps;
    const continued = await reserve(deps, NODES_A, 2);

    await writeState(claim(NODES_A, continued), local);

    expect((await store.readLock(SEED))?.claims).toEqual({ [NODES_A]: continued });
  });

  it('goes to the reserved child when another claims the same group at the same moment; the other is refused and writes nothing', async () => {
    const { store, deps } = await rolling();
    const own = await reserve(deps, NODES_A);

    const results = await Promise.allSettled([
      writeState(claim(NODES_A, CONSOLE_CHILD), deps),
      writeState(claim(NODES_A, own), deps),
    ]);

    expect((await store.readLock(SEED))?.claims).toEqual({ [NODES_A]: own });
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    expect((results[0] as PromiseRejectedResult).reason).toMatchObject({
      name: 'InstanceGroupClaimError',
    });
  });

  it('of each group of a wave goes to its child when the children claim at the same moment (a lost write is tried again)', async () => {
    const objects = lockWritesMeetingAt(2);
    const { store, deps } = await rolling({ wave: [NODES_A, NODES_B], objects: objects.store });
    const a = await reserve(deps, NODES_A);
    const b = await reserve(deps, NODES_B);
    objects.arm();

    await Promise.all([writeState(claim(NODES_A, a), deps), writeState(claim(NODES_B, b), deps)]);

    expect((await store.readLock(SEED))?.claims).toEqual({ [NODES_A]: a, [NODES_B]: b });
    expect(objects.conflicts).toBe(1);
  });

  it('is dropped, with the reservations, when the parent begins the next wave', async () => {
    const { store, deps } = await rolling({ wave: [NODES_A] });
    await writeState(claim(NODES_A, await reserve(deps, NODES_A)), deps);

    await writeState(
      { action: 'beginWave', cluster: SEED, owner: PARENT, instanceGroups: [NODES_B], plan: PLAN },
      deps,
    );

    expect(await store.readLock(SEED)).toMatchObject({
      wave: [NODES_B],
      claims: {},
      reservations: {},
    });
  });
});

/**
 * An in-memory bucket whose next `n` writes of a lock, once armed, all wait until the n-th has
 * arrived: so every claimant has read the same lock version before any of them writes.
 */
function lockWritesMeetingAt(n: number) {
  const objects = memoryObjects();
  let waiting: Array<() => void> | undefined;
  const store: ObjectStore = {
    ...objects,
    put: async (key, body, condition) => {
      if (waiting && key.endsWith('/lock')) {
        const arrived = waiting;
        await new Promise<void>((resolve) => {
          arrived.push(resolve);
          if (arrived.length === n) {
            waiting = undefined;
            for (const release of arrived) release();
          }
        });
      }
      try {
        return await objects.put(key, body, condition);
      } catch (error) {
        result.conflicts++;
        throw error;
      }
    },
  };
  const result = { store, conflicts: 0, arm: () => void (waiting = []) };
  return result;
}
