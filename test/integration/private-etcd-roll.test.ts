import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoScalingApi } from '../../src/aws/autoscaling.js';
import { type AwsCall, observeAwsCalls } from '../../src/local/instrument/aws-calls.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { groupName } from '../../src/planning/names.js';
import {
  createCluster,
  etcdThroughClusterApi,
  startTestEnvironment,
  type TestEnvironment,
} from '../support/cluster.js';
import { CONTROL_PLANES, haManifest } from '../support/ha-manifest.js';

// A highly available cluster whose Kubernetes API and etcd answer only from inside its VPC, as
// a private-topology cluster's do on AWS: replacing a control-plane instance removes its etcd
// member through the cluster's API function, the one caller inside the VPC.
const cluster = 'private-ha.example.com';
const rolled = CONTROL_PLANES[0]!;
let env: TestEnvironment;
const calls: AwsCall[] = [];
let stopObserving: () => void = () => undefined;

async function instancesOf(group: string): Promise<string[]> {
  const [asg] = await autoScalingApi(new AutoScalingClient({})).describeGroups([
    groupName(group, cluster),
  ]);
  return asg?.instances.map((i) => i.instanceId) ?? [];
}

/** What the rolling update asked of the cluster's API function, one action per invocation. */
function invocationsFromRoll(): Array<{ action: string; instanceId?: string }> {
  return calls
    .filter((c) => c.functionId === 'RollingUpdateFunction' && c.operation === 'Invoke')
    .map((c) => JSON.parse(Buffer.from(c.input.Payload as Uint8Array).toString('utf8')));
}

beforeAll(async () => {
  env = await startTestEnvironment();
  await createCluster(env, haManifest(cluster), cluster);
  env.sim.backend.servePrivately(cluster);
  stopObserving = observeAwsCalls({ before: (call) => void calls.push(call) });
}, 240_000);
afterAll(async () => {
  stopObserving();
  await env?.stop();
});

describe('a private cluster of three control-plane groups', () => {
  it('refuses its etcd member API to a caller outside the VPC', async () => {
    const outside = await fetch(`${env.sim.urlFor(cluster)}/etcd/v3/cluster/member/list`, {
      method: 'POST',
      body: '{}',
    });

    expect(outside.status).toBe(403);
  });

  it("replaces a control-plane instance, its etcd member removed through the cluster's API function", async () => {
    const [outgoing] = await instancesOf(rolled);

    const result = await runStateMachine('rolling-update', {
      input: { cluster, instanceGroups: [rolled], force: true, cloudOnly: false },
      waitMs: 20,
    });

    expect(result.status, JSON.stringify(result.error)).toBe('SUCCEEDED');
    expect(await instancesOf(rolled)).not.toContain(outgoing);
    expect(invocationsFromRoll().filter((r) => r.action === 'removeEtcdMember')).toEqual([
      { cluster, action: 'removeEtcdMember', instanceId: outgoing },
    ]);
    const members = (await (await etcdThroughClusterApi()(cluster))!.listMembers())!;
    expect(members).toHaveLength(3);
    expect(members.every((m) => m.name !== '' && !m.isLearner)).toBe(true);
  }, 300_000);

  it('reads no secret in the rolling update itself: etcd credentials stay with the cluster function', () => {
    const secretReads = calls.filter(
      (c) =>
        c.functionId === 'RollingUpdateFunction' &&
        c.operation === 'GetObject' &&
        String(c.input.Key).includes('/secrets/'),
    );

    expect(calls.some((c) => c.functionId === 'RollingUpdateFunction')).toBe(true);
    expect(secretReads).toEqual([]);
  });
});
