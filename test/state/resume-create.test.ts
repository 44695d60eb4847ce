import { describe, expect, it } from 'vitest';
import { writeState } from '../../src/stages/write-state.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { editManifest, readFixture } from '../helpers.js';
import { memoryObjects } from '../support/memory-objects.js';

// A create killed after RegisterCluster leaves the cluster in phase Creating; the create that
// takes over its lock registers it again (same manifest) and goes on.
const seed = readFixture('seed.yaml');

async function interruptedCreate() {
  const store = new ClusterStore(memoryObjects());
  const deps = { store, lockLeaseSeconds: 600 };
  const cluster = (
    (await writeState(
      { action: 'register', manifest: seed, owner: 'killed', operation: 'create' },
      deps,
    )) as { cluster: string }
  ).cluster;
  return { store, deps, cluster };
}

describe('register after an interrupted create', () => {
  it('accepts the same manifest from the create that took over, which becomes the last execution', async () => {
    const { store, deps, cluster } = await interruptedCreate();

    await writeState(
      { action: 'register', manifest: seed, owner: 'taker', operation: 'create' },
      deps,
    );

    expect(await store.readStatus(cluster)).toMatchObject({
      phase: 'Creating',
      lastExecution: 'taker',
    });
  });

  it('refuses a different Cluster spec under the same name', async () => {
    const { deps } = await interruptedCreate();
    const other = editManifest(seed, (c) => (c.spec.kubernetesVersion = 'v1.33.0'));

    await expect(
      writeState(
        { action: 'register', manifest: other, owner: 'taker', operation: 'create' },
        deps,
      ),
    ).rejects.toMatchObject({
      name: 'ClusterExistsError',
      message: expect.stringContaining('interrupted create of a different spec'),
    });
  });

  it('still refuses create over a cluster that is Ready', async () => {
    const { store, deps, cluster } = await interruptedCreate();
    await store.updateStatus(cluster, { phase: 'Ready' });

    await expect(
      writeState({ action: 'register', manifest: seed, owner: 'taker', operation: 'create' }, deps),
    ).rejects.toMatchObject({ name: 'ClusterExistsError' });
  });
});
