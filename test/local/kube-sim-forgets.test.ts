import { EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsSimBackend } from '../../src/local/kube-sim/aws-backend.js';
import { checkManifest } from '../../src/manifest/check.js';
import { completeManifest } from '../../src/manifest/defaults.js';
import { readFixture } from '../helpers.js';
import { startTestEnvironment, type TestEnvironment } from '../support/cluster.js';

// A cluster deleted and registered again under the same name is a new cluster: the simulated API
// must not hand it the workloads of the one before.
const cluster = 'forgets.example.com';
let env: TestEnvironment;
let backend: AwsSimBackend;

async function register(): Promise<void> {
  const { manifest } = checkManifest(
    readFixture('seed.yaml').replaceAll('seed.example.com', cluster),
  );
  await env.store.registerCluster(manifest!, completeManifest(manifest!));
  await env.store.ensureBootstrapToken(cluster);
}

beforeAll(async () => {
  env = await startTestEnvironment();
  backend = new AwsSimBackend({
    ec2: new EC2Client({}),
    store: env.store,
    objects: env.objects,
    urlFor: () => 'http://127.0.0.1:1',
  });
}, 120_000);
afterAll(async () => env?.stop());

describe('the simulated API and a deleted cluster', () => {
  it('starts a cluster registered again under a deleted name without the old workloads', async () => {
    await register();
    const before = await backend.cluster(cluster, { fresh: true });
    before!.addDeployment({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'left-over', namespace: 'default' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'left-over' } },
        template: { metadata: { labels: { app: 'left-over' } }, spec: { containers: [] } },
      },
    });

    await env.store.deleteCluster(cluster);
    await register();
    const after = await backend.cluster(cluster, { fresh: true });

    expect(before!.deployments.has('default/left-over')).toBe(true);
    expect(after).not.toBe(before);
    expect([...after!.deployments.keys()]).not.toContain('default/left-over');
  });

  it('keeps the workloads of a cluster that was not deleted', async () => {
    const first = await backend.cluster(cluster, { fresh: true });
    const again = await backend.cluster(cluster, { fresh: true });

    expect(again).toBe(first);
  });
});
