import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeForCluster } from '../../src/kube/from-store.js';
import { invokeLocalClusterApi } from '../../src/local/sfn/cluster-api.js';
import {
  type LocalSettings,
  lambdaContext,
  localHandler,
  localSettingsFromEnv,
} from '../../src/local/sfn/handlers.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { clusterApiFunctionName } from '../../src/planning/names.js';
import type { WatcherResult } from '../../src/stages/eni-watcher.js';
import { readFixture } from '../helpers.js';
import { createCluster, startTestEnvironment, type TestEnvironment } from '../support/cluster.js';

// A cluster whose Kubernetes API answers only from inside its VPC, as a private-topology cluster
// (or a public one whose kubernetesApiAccess leaves out 0.0.0.0/0) does on AWS: the simulated API
// refuses every request that does not come through the cluster's API function.
const cluster = 'inside.example.com';
const other = 'other.example.com';
let env: TestEnvironment;
let settings: LocalSettings;

beforeAll(async () => {
  env = await startTestEnvironment();
  settings = localSettingsFromEnv(process.env);
  await createCluster(
    env,
    readFixture('seed.yaml').replaceAll('seed.example.com', cluster),
    cluster,
  );
  env.sim.backend.servePrivately(cluster);
}, 180_000);
afterAll(async () => env?.stop());

describe('a cluster whose API answers only from inside its VPC', () => {
  it('refuses the API to a caller outside the VPC', async () => {
    const outside = (await kubeForCluster(env.objects, cluster, env.kubeServers))!;

    await expect(outside.listNodes()).rejects.toThrow(/reachable only from inside its VPC/);
  });

  it('rolls a node group: drain and validation go through the cluster API function', async () => {
    const result = await runStateMachine('rolling-update', {
      input: { cluster, instanceGroups: ['nodes-us-east-1a'], force: true, cloudOnly: false },
      waitMs: 20,
    });

    expect(result.error).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
  }, 300_000);

  it("is watched: the ENI watcher observes every node's pod slots", async () => {
    const handler = await localHandler('WatchEniFunction', settings);
    await env.sim.backend.cluster(cluster);

    const { results } = (await handler(
      { cluster },
      lambdaContext('kopsless-WatchEniFunction'),
    )) as { results: WatcherResult[] };

    expect(results).toHaveLength(1);
    expect(results[0]!.observed).toBe(true);
    expect(results[0]!.decision.groups.length).toBeGreaterThan(0);
  });

  it("finds no function for a request sent to another cluster's function", async () => {
    const answer = await invokeLocalClusterApi(
      settings,
      clusterApiFunctionName(other),
      JSON.stringify({ cluster, action: 'listNodes', limit: 10 }),
    );

    expect(answer.status).toBe(404);
    expect(answer.payload).toMatch(/Function not found/);
  });
});
