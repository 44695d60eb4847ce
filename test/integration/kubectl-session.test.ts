import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoScalingApi } from '../../src/aws/autoscaling.js';
import { cloudFormationStackApi } from '../../src/aws/cloudformation.js';
import { ec2Api } from '../../src/aws/ec2.js';
import { route53Api } from '../../src/aws/route53.js';
import type { CliContext } from '../../src/cli/context.js';
import { runValidate } from '../../src/cli/validate.js';
import { runWatchEni } from '../../src/cli/watch-eni.js';
import { kubeForCluster } from '../../src/kube/from-store.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { readFixture } from '../helpers.js';
import {
  createCluster,
  kubeconfigFile,
  kubectlIn,
  startTestEnvironment,
  type TestEnvironment,
} from '../support/cluster.js';

// The prefix-delegation walkthrough a kOps user types on a t3.medium cluster (17 pods a node),
// with the real kubectl against the local backend, and the ENI watcher acting in between.
// One session: each step runs on what the step before it left.
const cluster = 'session.example.com';
const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports:
        - containerPort: 80
`;
let env: TestEnvironment;
let ctx: CliContext;
let kubeconfig: string;
let manifestPath: string;
const lines: string[] = [];
const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };

const kubectl = (...args: string[]) => kubectlIn(kubeconfig, args);

/** Ready replicas of the Deployment, once the simulated API server has synced with moto. */
async function readyReplicas(): Promise<string> {
  await env.sim.backend.cluster(cluster, { fresh: true });
  return kubectl(
    'get',
    'deployment',
    'nginx-deployment',
    '-o',
    'jsonpath={.status.readyReplicas}/{.spec.replicas}',
  );
}

beforeAll(async () => {
  env = await startTestEnvironment();
  await createCluster(
    env,
    readFixture('seed.yaml').replaceAll('seed.example.com', cluster),
    cluster,
  );
  kubeconfig = kubeconfigFile(env, cluster);
  manifestPath = join(mkdtempSync(join(tmpdir(), 'kopsless-session-')), 'nginx-dp.yaml');
  writeFileSync(manifestPath, DEPLOYMENT);
  ctx = {
    target: 'local',
    where: 'test backend',
    run: (name, options) => runStateMachine(name, { ...options, waitMs: 20 }),
    objects: env.objects,
    store: env.store,
    ec2: ec2Api(new EC2Client({})),
    autoscaling: autoScalingApi(new AutoScalingClient({})),
    stacks: cloudFormationStackApi(new CloudFormationClient({})),
    dns: route53Api(new Route53Client({})),
    kube: (name) => kubeForCluster(env.objects, name, env.kubeServers),
    region: 'us-east-1',
    stateBucket: env.backend.bucket,
  } as CliContext;
}, 120_000);
afterAll(async () => env?.stop());

describe('the prefix-delegation kubectl session on the local backend', () => {
  it('kubectl apply -f creates the Deployment with validation on (no --validate=false)', async () => {
    const out = await kubectl('apply', '-f', manifestPath);

    expect(out.trim()).toBe('deployment.apps/nginx-deployment created');
    expect(await readyReplicas()).toBe('3/3');
  });

  it('kubectl scale to 30 leaves pods Pending on the full t3.medium nodes', async () => {
    expect((await kubectl('scale', 'deployment', 'nginx-deployment', '--replicas=30')).trim()).toBe(
      'deployment.apps/nginx-deployment scaled',
    );

    const pending = (await kubectl('get', 'pods')).split('\n').filter((l) => l.includes('Pending'));

    expect(pending.length).toBeGreaterThan(0);
  });

  it("kubectl describe pod shows the scheduler's FailedScheduling event", async () => {
    const pod = (
      await kubectl('get', 'pods', '--field-selector', 'status.phase=Pending', '-o', 'name')
    ).split('\n')[0]!;

    const out = await kubectl('describe', pod);

    expect(out).toMatch(
      /Warning\s+FailedScheduling\s+\S+\s+default-scheduler\s+0\/3 nodes are available: 1 node\(s\) had untolerated taint \{node-role\.kubernetes\.io\/control-plane: \}, 2 Too many pods\. preemption: 0\/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod\./,
    );
  });

  it('kubectl set env turns prefix delegation on in aws-node', async () => {
    expect(
      (
        await kubectl(
          'set',
          'env',
          'daemonset',
          'aws-node',
          '-n',
          'kube-system',
          'ENABLE_PREFIX_DELEGATION=true',
        )
      ).trim(),
    ).toBe('daemonset.apps/aws-node env updated');
  });

  it('two watch-eni runs raise maxPods and roll the nodes (WARM_PREFIX_TARGET=1 too); validate cluster --wait passes', async () => {
    await env.sim.backend.cluster(cluster, { fresh: true });
    expect(await runWatchEni(cluster, {}, ctx, io)).toBe(0);
    expect(lines.join('\n')).toContain('Decision: none');

    expect(await runWatchEni(cluster, {}, ctx, io)).toBe(0);
    expect(lines.join('\n')).toContain('Decision: enable-prefix-delegation');

    await env.sim.backend.cluster(cluster, { fresh: true });
    expect(await runValidate(cluster, { wait: '30s', interval: 500 }, ctx, io)).toBe(0);
  }, 90_000);

  it("kubectl describe daemonset shows ENABLE_PREFIX_DELEGATION=true, WARM_PREFIX_TARGET=1 and the watcher's event", async () => {
    const out = await kubectl('describe', 'daemonsets.apps', '-n', 'kube-system', 'aws-node');

    const envLines = out
      .split('\n')
      .filter((l) => /^\s+(ENABLE_PREFIX_DELEGATION|WARM_PREFIX_TARGET):/.test(l))
      .map((l) => l.trim());
    expect(envLines).toEqual(['ENABLE_PREFIX_DELEGATION:  true', 'WARM_PREFIX_TARGET:        1']);
    expect(out).toMatch(
      /Normal\s+PrefixDelegationEnabled\s+\S+\s+kopsless\s+ENI capacity watcher set ENABLE_PREFIX_DELEGATION=true, WARM_PREFIX_TARGET=1/,
    );
  });

  it('kubectl describe node shows allocatable pods 110 on the rolled nodes', async () => {
    const out = await kubectl('describe', 'node', '-l', '!node-role.kubernetes.io/control-plane');

    const allocatable = [...out.matchAll(/Allocatable:\n(?:\s+.+\n){0,5}?\s+pods:\s+(\d+)/g)].map(
      (m) => m[1],
    );
    expect(allocatable).toEqual(['110', '110']);
  });

  it('the roll left its cordon, drain and eviction events', async () => {
    const events = JSON.parse(
      await kubectl('get', 'events', '-A', '--field-selector', 'source=kopsless', '-o', 'json'),
    ).items as Array<{ reason: string }>;

    expect(new Set(events.map((e) => e.reason))).toEqual(
      new Set(['PrefixDelegationEnabled', 'Drain', 'Evicted']),
    );
  });

  it('30 replicas are ready after the roll, then 110 after kubectl scale', async () => {
    expect(await readyReplicas()).toBe('30/30');

    await kubectl('scale', 'deployment', 'nginx-deployment', '--replicas=110');

    expect(await readyReplicas()).toBe('110/110');
  });

  it("kubectl get replicasets shows the Deployment's set, owning its pods", async () => {
    const out = await kubectl('get', 'replicasets');

    expect(out).toMatch(
      /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\nnginx-deployment-[a-z0-9]{10}\s+110\s+110\s+110\s+\S+\n$/,
    );
    const rs = out.split('\n')[1]!.split(/\s+/)[0]!;
    const owners = JSON.parse(
      await kubectl('get', 'pods', '-l', 'app=nginx', '-o', 'json'),
    ).items.map(
      (p: { metadata: { ownerReferences: Array<{ kind: string; name: string }> } }) =>
        `${p.metadata.ownerReferences[0]!.kind}/${p.metadata.ownerReferences[0]!.name}`,
    );
    expect(new Set(owners)).toEqual(new Set([`ReplicaSet/${rs}`]));
  });

  it('every node still runs aws-node and kube-proxy', async () => {
    const pods = JSON.parse(
      await kubectl(
        'get',
        'pods',
        '-n',
        'kube-system',
        '-l',
        'k8s-app in (aws-node,kube-proxy)',
        '-o',
        'json',
      ),
    ).items as Array<{
      metadata: { labels: Record<string, string> };
      spec: { nodeName?: string };
      status: { phase: string };
    }>;
    const nodes = (await kubectl('get', 'nodes', '-o', 'name'))
      .trim()
      .split('\n')
      .map((n) => n.replace('node/', ''));

    for (const app of ['aws-node', 'kube-proxy']) {
      const running = pods
        .filter((p) => p.metadata.labels['k8s-app'] === app && p.status.phase === 'Running')
        .map((p) => p.spec.nodeName);
      expect(running.sort(), app).toEqual([...nodes].sort());
    }
  });
});
