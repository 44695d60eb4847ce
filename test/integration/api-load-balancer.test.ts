import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ListHostedZonesCommand, Route53Client } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoScalingApi } from '../../src/aws/autoscaling.js';
import { cloudFormationStackApi } from '../../src/aws/cloudformation.js';
import { type AwsCall, inFunction, observeAwsCalls } from '../../src/local/instrument/aws-calls.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { groupName, stackName } from '../../src/planning/names.js';
import { API_LOAD_BALANCER_OUTPUTS } from '../../src/planning/stack-nlb.js';
import { validateCluster } from '../../src/stages/validate-cluster.js';
import {
  createCluster,
  etcdThroughClusterApi,
  startTestEnvironment,
  type TestEnvironment,
  validationDeps,
} from '../support/cluster.js';
import { CONTROL_PLANES, haManifest } from '../support/ha-manifest.js';

// kOps's production shape on the local backend: three control-plane groups behind a Network Load
// Balancer, DNS None (no Route53 at all). Created, rolled, validated and deleted.
const cluster = 'nlb.example.com';
let env: TestEnvironment;
/** Every AWS call the handlers (and validate, below) make for this cluster, from create to delete. */
const calls: AwsCall[] = [];
let stopObserving: () => void = () => undefined;
const elb = new ElasticLoadBalancingV2Client({});

function nlbManifest(): string {
  return haManifest(cluster)
    .replace(
      '  api:\n    dns: {}\n',
      '  api:\n    loadBalancer:\n      class: Network\n      type: Public\n',
    )
    .replace('    dns:\n      type: Public\n', '    dns:\n      type: None\n');
}

async function controlPlaneInstances(): Promise<string[]> {
  const groups = await autoScalingApi(new AutoScalingClient({})).describeGroups(
    CONTROL_PLANES.map((g) => groupName(g, cluster)),
  );
  return groups.flatMap((g) => g.instances.map((i) => i.instanceId)).sort();
}

async function stackOutputs(): Promise<Record<string, string>> {
  const stack = await cloudFormationStackApi(new CloudFormationClient({})).describe(
    stackName(cluster),
  );
  return (stack?.outputs ?? {}) as Record<string, string>;
}

/** The target group's healthy targets, sorted. */
async function healthyTargets(targetGroupArn: string): Promise<string[]> {
  const answer = await elb.send(
    new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }),
  );
  return (answer.TargetHealthDescriptions ?? [])
    .filter((d) => d.TargetHealth?.State === 'healthy')
    .map((d) => d.Target!.Id!)
    .sort();
}

beforeAll(async () => {
  env = await startTestEnvironment();
  stopObserving = observeAwsCalls({ before: (call) => void calls.push(call) });
  await createCluster(env, nlbManifest(), cluster);
}, 180_000);
afterAll(async () => {
  stopObserving();
  await env?.stop();
});

describe('a cluster behind a Network Load Balancer with DNS None', () => {
  it('has a TCP 443 listener forwarding to a target group holding exactly the control-plane instances, and no hosted zone', async () => {
    const outputs = await stackOutputs();
    const targetGroupArn = outputs[API_LOAD_BALANCER_OUTPUTS.targetGroupArn]!;

    const [balancer] =
      (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers?.filter(
        (b) => b.DNSName === outputs[API_LOAD_BALANCER_OUTPUTS.dnsName],
      ) ?? [];
    const listeners = await elb.send(
      new DescribeListenersCommand({ LoadBalancerArn: balancer!.LoadBalancerArn! }),
    );
    const zones = await new Route53Client({}).send(new ListHostedZonesCommand({}));

    expect(balancer).toMatchObject({ Type: 'network', Scheme: 'internet-facing' });
    expect(
      listeners.Listeners?.map((l) => [l.Protocol, l.Port, l.DefaultActions?.[0]?.TargetGroupArn]),
    ).toEqual([['TCP', 443, targetGroupArn]]);
    expect(await healthyTargets(targetGroupArn)).toEqual(await controlPlaneInstances());
    expect(zones.HostedZones?.filter((z) => z.Name?.includes(cluster)) ?? []).toEqual([]);
  }, 60_000);

  it("has the control plane serve, and the nodes join through, the load balancer's name", async () => {
    const lbName = (await stackOutputs())[API_LOAD_BALANCER_OUTPUTS.dnsName]!;
    const ec2 = new EC2Client({});
    const templates = await ec2.send(
      new DescribeLaunchTemplatesCommand({
        Filters: [{ Name: 'tag:KubernetesCluster', Values: [cluster] }],
      }),
    );
    const scripts = new Map<string, string>();
    for (const t of templates.LaunchTemplates ?? []) {
      const versions = await ec2.send(
        new DescribeLaunchTemplateVersionsCommand({
          LaunchTemplateId: t.LaunchTemplateId!,
          Versions: ['$Latest'],
        }),
      );
      const data = versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.UserData ?? '';
      scripts.set(t.LaunchTemplateName!, Buffer.from(data, 'base64').toString('utf8'));
    }
    const controlPlane = [...scripts].filter(([n]) => n.includes('control-plane'));
    const nodes = [...scripts].filter(([n]) => n.includes('nodes'));

    expect(controlPlane).toHaveLength(3);
    expect(nodes.length).toBeGreaterThan(0);
    for (const [, script] of controlPlane) {
      expect(script).toContain(`KUBECONFIG_SERVER='"https://${lbName}:443"'`);
      expect(script).toContain(`controlPlaneEndpoint: "${lbName}:443"`);
      expect(script).not.toContain(`api.internal.${cluster}:443`);
    }
    for (const [, script] of nodes) {
      expect(script).toContain(`apiServerEndpoint: "${lbName}:443"`);
      expect(script).not.toContain(`api.internal.${cluster}`);
    }
  }, 60_000);

  it('rolls the control plane one member at a time, the target group following the instances', async () => {
    const before = await controlPlaneInstances();
    const targetGroupArn = (await stackOutputs())[API_LOAD_BALANCER_OUTPUTS.targetGroupArn]!;

    const result = await runStateMachine('rolling-update', {
      input: { cluster, instanceGroups: CONTROL_PLANES, force: true, cloudOnly: false },
      waitMs: 20,
    });

    expect(result.status, JSON.stringify(result.error)).toBe('SUCCEEDED');
    // Each outgoing instance left the target group before it was terminated, one at a time.
    const order = calls
      .filter(
        (c) =>
          (c.operation === 'DeregisterTargets' ||
            c.operation === 'TerminateInstanceInAutoScalingGroup') &&
          c.functionId === 'RollingUpdateFunction',
      )
      .map((c) =>
        c.operation === 'DeregisterTargets'
          ? `deregister ${(c.input.Targets as Array<{ Id: string }>).map((t) => t.Id).join(',')}`
          : `terminate ${String(c.input.InstanceId)}`,
      );
    expect(order).toEqual(before.flatMap(() => [expect.any(String), expect.any(String)]));
    for (let i = 0; i < order.length; i += 2) {
      const id = order[i]!.replace('deregister ', '');
      expect(before).toContain(id);
      expect(order[i + 1]).toBe(`terminate ${id}`);
    }
    const after = await controlPlaneInstances();
    expect(after.filter((id) => before.includes(id))).toEqual([]);
    expect(await healthyTargets(targetGroupArn)).toEqual(after);
    const members = await (await etcdThroughClusterApi()(cluster))!.listMembers();
    expect(members).toHaveLength(3);
  }, 300_000);

  it('validates', async () => {
    const result = await inFunction('ValidateCluster', () =>
      validateCluster(cluster, validationDeps(env)),
    );

    expect(result.failures).toEqual([]);
  }, 60_000);

  it('is deleted with its load balancer, listener and target group', async () => {
    const outputs = await stackOutputs();

    const result = await runStateMachine('delete-cluster', { input: { cluster }, waitMs: 20 });

    expect(result.status, JSON.stringify(result.error)).toBe('SUCCEEDED');
    const balancers = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
    const groups = (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
    expect(
      balancers.filter((b) => b.DNSName === outputs[API_LOAD_BALANCER_OUTPUTS.dnsName]),
    ).toEqual([]);
    expect(
      groups.filter((g) => g.TargetGroupArn === outputs[API_LOAD_BALANCER_OUTPUTS.targetGroupArn]),
    ).toEqual([]);
  }, 180_000);

  it('made no Route53 call at all, from create through the roll and validate to delete', () => {
    const route53 = calls.filter((c) => c.service === 'Route 53');

    expect(calls.length).toBeGreaterThan(0);
    expect(route53.map((c) => `${c.functionId} ${c.operation}`)).toEqual([]);
  });
});
