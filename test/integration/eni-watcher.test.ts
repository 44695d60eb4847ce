import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateConflictError } from '../../src/errors.js';
import { kubeForCluster } from '../../src/kube/from-store.js';
import type { KubePort } from '../../src/kube/port.js';
import {
  type LocalSettings,
  lambdaContext,
  localHandler,
  localSettingsFromEnv,
} from '../../src/local/sfn/handlers.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import type { WatcherResult } from '../../src/stages/eni-watcher.js';
import { readFixture } from '../helpers.js';
import {
  createCluster,
  kubeconfigFile,
  kubectlIn,
  startTestEnvironment,
  type TestEnvironment,
} from '../support/cluster.js';

// The seed scenario of the ENI watcher: two t3.medium nodes, more pods than their 2 x 17 slots
// hold (32: wherever the scheduler put coredns, some stay Pending for want of slots).
const cluster = 'eni.example.com';
let env: TestEnvironment;
let kube: KubePort;
let settings: LocalSettings;

/**
 * The test backend's settings, but for the watcher's spacing: these runs come seconds apart and
 * stand in for scheduled runs five minutes apart; with the defaults (240 s between counted
 * observations, 60 s debounce) the second would not count.
 */
function watcherSettings(): LocalSettings {
  const base = localSettingsFromEnv(process.env);
  return {
    ...base,
    config: {
      ...base.config,
      watcher: {
        ...base.config.watcher,
        minObservationIntervalSeconds: 0,
        eventDebounceSeconds: 0,
      },
    },
  };
}

async function watch(event: unknown): Promise<WatcherResult[]> {
  const handler = await localHandler('WatchEniFunction', settings);
  await env.sim.backend.cluster(cluster);
  return (
    (await handler(event, lambdaContext('kopsless-WatchEniFunction'))) as {
      results: WatcherResult[];
    }
  ).results;
}

beforeAll(async () => {
  env = await startTestEnvironment();
  settings = watcherSettings();
  await createCluster(
    env,
    readFixture('seed.yaml').replaceAll('seed.example.com', cluster),
    cluster,
  );
  kube = (await kubeForCluster(env.objects, cluster, env.kubeServers))!;
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: 32,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'nginx' }] },
      },
    },
  };
  await kubectlIn(
    kubeconfigFile(env, cluster),
    ['create', '--validate=false', '-f', '-'],
    JSON.stringify(deployment),
  );
}, 120_000);
afterAll(async () => env?.stop());

describe('ENI capacity watcher', () => {
  it('sees pods Pending with "Too many pods" on full t3.medium nodes', async () => {
    const pods = await kube.listPods({ labelSelector: 'app=web' });

    expect(pods.filter((p) => p.phase === 'Pending').length).toBeGreaterThan(0);
    expect(pods.find((p) => p.phase === 'Pending')?.unschedulableMessage).toContain(
      'Too many pods',
    );
  });

  it('changes nothing in a dry run, but records its decision', async () => {
    const [result] = await watch({ cluster, dryRun: true });

    expect(result!.dryRun).toBe(true);
    expect(await env.objects.get(`${cluster}/eni-watcher/state.json`)).toBeUndefined();
    expect(
      JSON.parse((await env.objects.get(`${cluster}/eni-watcher/last-decision.json`))!.body),
    ).toMatchObject({ cluster, dryRun: true });
  });

  it('only watches on the first scheduled observation', async () => {
    const [result] = await watch({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      detail: {},
    });

    expect(result!.decision.action).toBe('none');
    expect(result!.decision.groups.map((g) => [g.instanceGroup, g.full, g.consecutive])).toEqual([
      ['nodes-us-east-1a', true, 1],
      ['nodes-us-east-1b', true, 1],
    ]);
    expect(await kube.getDaemonSetEnv('kube-system', 'aws-node', 'aws-node')).toMatchObject({
      ENABLE_PREFIX_DELEGATION: 'false',
    });
  });

  it('acts on the second observation (an EC2 state-change event): aws-node env, the spec, and an update + rolling update', async () => {
    const instance = (await kube.listNodes())[0]!.instanceId;

    const [result] = await watch({
      source: 'aws.ec2',
      'detail-type': 'EC2 Instance State-change Notification',
      detail: { 'instance-id': instance, state: 'running' },
    });

    expect(result!.decision.action).toBe('enable-prefix-delegation');
    expect(result!.decision.raise).toEqual([
      { instanceGroup: 'nodes-us-east-1a', from: 17, to: 110 },
      { instanceGroup: 'nodes-us-east-1b', from: 17, to: 110 },
    ]);
    expect(await kube.getDaemonSetEnv('kube-system', 'aws-node', 'aws-node')).toMatchObject({
      ENABLE_PREFIX_DELEGATION: 'true',
      WARM_PREFIX_TARGET: '1',
      WARM_ENI_TARGET: '1',
    });
    const manifest = await env.store.readManifest(cluster);
    expect(manifest.cluster.spec.networking?.amazonvpc?.env).toEqual(
      expect.arrayContaining([
        { name: 'ENABLE_PREFIX_DELEGATION', value: 'true' },
        { name: 'WARM_PREFIX_TARGET', value: '1' },
      ]),
    );
    expect(
      manifest.instanceGroups
        .filter((ig) => ig.spec.role === 'Node')
        .map((ig) => ig.spec.kubelet?.maxPods),
    ).toEqual([110, 110]);
    expect(result!.start).toMatchObject({
      stateMachine: 'rolling-update',
      input: { cluster, instanceGroups: ['nodes-us-east-1a', 'nodes-us-east-1b'], update: true },
    });

    const roll = await runStateMachine('rolling-update', {
      input: result!.start!.input,
      waitMs: 20,
    });

    expect(roll.error).toBeUndefined();
    await env.sim.backend.cluster(cluster, { fresh: true });
    const pods = await kube.listPods({ labelSelector: 'app=web' });
    expect(pods.filter((p) => p.phase === 'Running')).toHaveLength(32);
    expect(
      (await kube.listNodes()).filter((n) => n.role === 'node').map((n) => n.allocatablePods),
    ).toEqual([110, 110]);
  }, 120_000);

  it('does not act again within the cooldown', async () => {
    const [result] = await watch({ cluster });

    expect(result!.decision.action).toBe('none');
    expect(result!.start).toBeUndefined();
  });

  it('takes an SQS batch of EC2 events (its instances looked up in moto) and answers with no failed message', async () => {
    const handler = await localHandler('WatchEniFunction', settings);
    const nodes = (await kube.listNodes()).filter((n) => n.role === 'node');
    const event = (id: string) =>
      JSON.stringify({
        version: '0',
        source: 'aws.ec2',
        'detail-type': 'EC2 Instance State-change Notification',
        detail: { 'instance-id': id, state: 'running' },
      });
    const ids = [...nodes.map((n) => n.instanceId), 'i-0000000000000dead'];
    const records = ids.map((id, i) => ({
      messageId: `m-${i}`,
      receiptHandle: `r-${i}`,
      body: event(id),
      attributes: {},
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q',
      awsRegion: 'us-east-1',
    }));
    const before = (await env.objects.get(`${cluster}/eni-watcher/last-decision.json`))!.etag;

    const response = await handler(
      { Records: records },
      lambdaContext('kopsless-WatchEniFunction'),
    );

    expect(response).toEqual({ batchItemFailures: [] });
    expect((await env.objects.get(`${cluster}/eni-watcher/last-decision.json`))!.etag).not.toBe(
      before,
    );
  });

  it('is refused by moto when it writes its state on an ETag that is no longer current (412)', async () => {
    const key = `${cluster}/eni-watcher/state.json`;
    const stale = (await env.objects.get(key))!.etag;
    // S3's ETag is the content's MD5: another run's write changes it only if it changes the state.
    await env.objects.put(
      key,
      JSON.stringify({ consecutive: {}, lastCountedAt: new Date().toISOString() }),
      { ifMatch: stale },
    );

    const write = env.objects.put(key, '{}', { ifMatch: stale });

    await expect(write).rejects.toThrow(StateConflictError);
  });
});
