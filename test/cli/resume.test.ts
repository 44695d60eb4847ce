import { describe, expect, it } from 'vitest';
import { findDeadLock, mayTakeOver, takeOver } from '../../src/cli/resume.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { type HolderProbe, processHolder } from '../../src/state/holder.js';
import { memoryObjects } from '../support/memory-objects.js';

const CLUSTER = 'r.example.com';
const dead = { pid: 999_999, host: processHolder().host, bootId: 'boot-1', startTicks: '10' };
// This machine as the probe sees it: the dead holder's PID runs no process.
const probe: HolderProbe = {
  self: { pid: 1, host: dead.host, bootId: 'boot-1' },
  read: () => undefined,
  exists: () => false,
};

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

async function killedStore(operation: string) {
  const store = new ClusterStore(memoryObjects());
  await store.acquireLock(
    CLUSTER,
    'arn:aws:states:us-east-1:123456789012:execution:kopsless-x:killed',
    operation,
    7200,
    dead,
  );
  return store;
}

describe('mayTakeOver', () => {
  it.each([
    ['create', 'create', true],
    ['create', 'delete', true],
    ['create', 'rolling-update', false],
    ['create', 'update', false],
    ['rolling-update', 'rolling-update', true],
    ['rolling-update', 'update', true],
    ['update', 'rolling-update', false],
    ['delete', 'delete', true],
    ['delete', 'create', false],
    ['register', 'rolling-update', true],
    ['edit', 'update', true],
  ])('interrupted %s, next command %s: %s', (interrupted, next, allowed) => {
    expect(mayTakeOver(interrupted, next)).toBe(allowed);
  });
});

describe('findDeadLock', () => {
  it('finds a lock whose local runner is gone', async () => {
    const store = await killedStore('create');

    const found = await findDeadLock({ target: 'local', store }, CLUSTER, probe);

    expect(found?.lease).toMatchObject({ operation: 'create', holder: { pid: dead.pid } });
  });

  it('leaves a lock whose runner still runs', async () => {
    const store = await killedStore('create');

    expect(
      await findDeadLock({ target: 'local', store }, CLUSTER, {
        ...probe,
        exists: () => true,
        read: () => `1 (node) S ${'0 '.repeat(18)}10 0`,
      }),
    ).toBeUndefined();
  });

  it('leaves a lock held by a Step Functions execution (no local holder)', async () => {
    const store = new ClusterStore(memoryObjects());
    await store.acquireLock(
      CLUSTER,
      'arn:aws:states:us-east-1:123456789012:execution:kopsless-x:remote',
      'create',
      7200,
    );

    expect(await findDeadLock({ target: 'local', store }, CLUSTER, probe)).toBeUndefined();
  });

  it('never judges a lock by PID with --target aws', async () => {
    const store = await killedStore('create');

    expect(await findDeadLock({ target: 'aws', store }, CLUSTER, probe)).toBeUndefined();
  });
});

describe('takeOver', () => {
  it('takes the lock for the next execution, recording this process, and says so', async () => {
    const store = await killedStore('delete');
    const found = (await findDeadLock({ target: 'local', store }, CLUSTER, probe))!;
    const { out, io: streams } = io();

    const claim = await takeOver(
      { store },
      CLUSTER,
      found,
      { machine: 'delete-cluster', operation: 'delete' },
      streams,
    );

    expect(claim.executionName).toMatch(/^delete-cluster-/);
    expect(out[0]).toBe(
      `taking over the lock of execution arn:aws:states:us-east-1:123456789012:execution:kopsless-x:killed: its local runner (pid ${dead.pid}) is gone`,
    );
    expect(await store.readLock(CLUSTER)).toMatchObject({
      owner: `arn:aws:states:us-east-1:123456789012:execution:kopsless-delete-cluster:${claim.executionName}`,
      operation: 'delete',
      holder: { pid: process.pid },
    });
  });

  it('refuses a different operation on a half-done create, naming the command that finishes it, and leaves the lock', async () => {
    const store = await killedStore('create');
    const found = (await findDeadLock({ target: 'local', store }, CLUSTER, probe))!;
    const { err, io: streams } = io();

    const claim = await takeOver(
      { store },
      CLUSTER,
      found,
      { machine: 'rolling-update', operation: 'rolling-update' },
      streams,
    );

    expect(claim).toEqual({ exitCode: 1 });
    expect(err.join('\n')).toContain('held by the interrupted create execution');
    expect(err.join('\n')).toContain('kopsless create -f FILE --yes');
    expect(await store.readLock(CLUSTER)).toMatchObject({ owner: found.lease.owner });
  });

  it('loses to another command that took the same dead lock first', async () => {
    const store = await killedStore('delete');
    const found = (await findDeadLock({ target: 'local', store }, CLUSTER, probe))!;
    await takeOver(
      { store },
      CLUSTER,
      found,
      { machine: 'delete-cluster', operation: 'delete' },
      io().io,
    );
    const { err, io: streams } = io();

    const claim = await takeOver(
      { store },
      CLUSTER,
      found,
      { machine: 'delete-cluster', operation: 'delete' },
      streams,
    );

    expect(claim).toEqual({ exitCode: 1 });
    expect(err[0]).toContain('another command took over the lock');
  });
});
