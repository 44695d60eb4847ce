import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoScalingApi } from '../../src/aws/autoscaling.js';
import { kubeForCluster } from '../../src/kube/from-store.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { groupName } from '../../src/planning/names.js';
import { validateCluster } from '../../src/stages/validate-cluster.js';
import {
  createCluster,
  etcdThroughClusterApi,
  startTestEnvironment,
  type TestEnvironment,
  validationDeps,
} from '../support/cluster.js';
import { CONTROL_PLANES, haManifest } from '../support/ha-manifest.js';

// A highly available control plane on the local backend: three control-plane groups in three
// zones (stacked etcd), rolled one member at a time while the API is polled, then deleted.
const cluster = 'ha.example.com';
let env: TestEnvironment;

async function controlPlaneInstances(): Promise<string[]> {
  const groups = await autoScalingApi(new AutoScalingClient({})).describeGroups(
    CONTROL_PLANES.map((g) => groupName(g, cluster)),
  );
  return groups.flatMap((g) => g.instances.map((i) => i.instanceId)).sort();
}

/** The members, read through the cluster's API function as the roll reads them. */
async function etcdMembers() {
  return (await (await etcdThroughClusterApi()(cluster))!.listMembers())!;
}

beforeAll(async () => {
  env = await startTestEnvironment();
  await createCluster(env, haManifest(cluster), cluster);
}, 180_000);
afterAll(async () => env?.stop());

describe('a cluster of three control-plane groups', () => {
  it('runs one etcd member per control-plane node, each shown as the static pod etcd-<node>', async () => {
    const kube = (await kubeForCluster(env.objects, cluster, env.kubeServers))!;

    const members = await etcdMembers();
    const nodes = (await kube.listNodes()).filter((n) => n.role === 'control-plane');
    const pods = await kube.listPods({ labelSelector: 'component=etcd' });

    expect(members.map((m) => m.name).sort()).toEqual(nodes.map((n) => n.name).sort());
    expect(pods.map((p) => `${p.namespace}/${p.name}`).sort()).toEqual(
      nodes.map((n) => `kube-system/etcd-${n.name}`).sort(),
    );
  }, 60_000);

  it('rolls every control-plane instance by force without the API ever answering 503, and ends with three healthy members', async () => {
    const before = await controlPlaneInstances();
    const statuses: number[] = [];
    const poll = setInterval(() => {
      fetch(`${env.sim.urlFor(cluster)}/api/v1/nodes`)
        .then((r) => statuses.push(r.status))
        .catch(() => statuses.push(0));
    }, 1000);

    let result: Awaited<ReturnType<typeof runStateMachine>>;
    try {
      result = await runStateMachine('rolling-update', {
        input: { cluster, instanceGroups: CONTROL_PLANES, force: true, cloudOnly: false },
        waitMs: 20,
      });
    } finally {
      clearInterval(poll);
    }

    expect(result.status, JSON.stringify(result.error)).toBe('SUCCEEDED');
    const after = await controlPlaneInstances();
    expect(after.filter((id) => before.includes(id))).toEqual([]);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const members = await etcdMembers();
    const kube = (await kubeForCluster(env.objects, cluster, env.kubeServers))!;
    const nodes = (await kube.listNodes()).filter((n) => n.role === 'control-plane');
    expect(members.map((m) => m.name).sort()).toEqual(nodes.map((n) => n.name).sort());
    expect(members).toHaveLength(3);
  }, 300_000);

  it('validates, naming no failure', async () => {
    const deps = validationDeps(env);

    const result = await validateCluster(cluster, deps);

    expect(result.failures).toEqual([]);
  }, 60_000);
});

describe('etcd without member removal', () => {
  it('loses its quorum, and the API answers 503, when two of three control-plane instances are terminated', async () => {
    const [first, second] = await controlPlaneInstances();

    await new EC2Client({}).send(new TerminateInstancesCommand({ InstanceIds: [first!, second!] }));
    await env.sim.backend.cluster(cluster, { fresh: true });
    const answer = await fetch(`${env.sim.urlFor(cluster)}/api/v1/nodes`);

    expect(answer.status).toBe(503);
    expect(JSON.stringify(await answer.json())).toContain('fewer than a quorum');
  }, 60_000);
});
