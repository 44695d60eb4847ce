import { AppsV1Api } from '@kubernetes/client-node';
import { kubeconfigKey, trustedServers } from '../kube/from-store.js';
import { storedKubeConfig } from '../kube/stored-kubeconfig.js';
import { backendEnv } from '../local/moto/backend.js';
import type { CreateClusterFlags } from '../manifest/create-cluster.js';
import { regionOfZones } from '../manifest/region.js';
import { clusterFolder } from '../state/layout.js';
import type { CliContext, ContextOptions } from './context.js';
import { runCreate } from './create.js';
import { runDelete } from './delete.js';
import { createZoneCommand, ensureDemoZone } from './demo-zone.js';
import { table } from './format.js';
import { runGetClusters, runGetInstanceGroups } from './get.js';
import { runRollingUpdate } from './rolling-update.js';
import { runSet, runUpdate } from './update.js';
import { runValidate } from './validate.js';
import { runWatchEni } from './watch-eni.js';

type Io = { out: (line: string) => void; err: (line: string) => void };

/** The seed scenario's cluster, as a kOps user would ask for it. */
export const SEED_FLAGS: CreateClusterFlags = {
  name: 'seed.example.com',
  zones: ['us-east-1a', 'us-east-1b'],
  networking: 'amazonvpc',
  nodeCount: 2,
  nodeSize: 't3.medium',
  controlPlaneSize: 't3.medium',
  networkCidr: '172.30.0.0/16',
};

/** The user's hosted zone the demo's cluster records go into (the longest match of its name). */
export const DEMO_ZONE = 'example.com';

/** The machine type the demo moves the nodes to. */
const NEW_NODE_SIZE = 'm5.large';

/** Pods the demo runs: more than two t3.medium nodes hold without prefix delegation (17 slots each). */
const DEMO_PODS = 30;

/** Creates the demo's Deployment through the cluster's Kubernetes API, as `kubectl create` would. */
async function deployPods(ctx: CliContext, cluster: string, replicas: number): Promise<number> {
  const kubeconfig = await ctx.objects.get(kubeconfigKey(cluster));
  if (!kubeconfig) return 1;
  const localKubeApi = ctx.backend ? backendEnv(ctx.backend).KOPSLESS_KUBE_API : undefined;
  const config = storedKubeConfig(
    cluster,
    kubeconfig.body,
    trustedServers(cluster, localKubeApi ? { localKubeApi } : {}),
  );
  const labels = { app: 'web' };
  await config.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: 'default',
    body: {
      metadata: { name: 'web', labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
        },
      },
    },
  });
  return 0;
}

/** Pods and nodes as kubectl would show them: phases, the scheduler's message, allocatable pods. */
async function showPods(ctx: CliContext, cluster: string, io: Io): Promise<number> {
  const kube = await ctx.kube(cluster);
  if (!kube) return 1;
  const pods = await kube.listPods({ labelSelector: 'app=web' });
  const pending = pods.filter((p) => p.phase === 'Pending');
  io.out(
    `pods app=web: ${pods.length}, Running ${pods.filter((p) => p.phase === 'Running').length}, Pending ${pending.length}`,
  );
  if (pending[0]?.unschedulableMessage)
    io.out(`  Pending because: ${pending[0].unschedulableMessage}`);
  const nodes = await kube.listNodes();
  io.out(
    table(
      ['NODE', 'INSTANCE GROUP', 'ALLOCATABLE PODS'],
      nodes.map((n) => [n.name, n.instanceGroup ?? '', n.allocatablePods]),
    ),
  );
  return 0;
}

async function showMaxPods(ctx: CliContext, cluster: string, io: Io): Promise<number> {
  const manifest = await ctx.store.readManifest(cluster);
  const env = manifest.cluster.spec.networking?.amazonvpc?.env ?? [];
  io.out(
    `networking.amazonvpc.env: ${env.map((e) => `${e.name}=${e.value}`).join(' ') || '(none)'}`,
  );
  for (const ig of manifest.instanceGroups)
    io.out(`${ig.metadata.name}: kubelet.maxPods ${ig.spec.kubelet?.maxPods ?? '(calculated)'}`);
  return 0;
}

function banner(io: Io, text: string): void {
  io.out('');
  io.out(`==> ${text}`);
}

/**
 * `kopsless demo` (the README's first command): the lifecycle a kOps user knows, on the local
 * backend: create, validate, change the node machine type, update, rolling-update, validate,
 * delete; each stage shown as it runs, and a check at the end that nothing is left behind.
 */
export async function runDemo(
  context: (options?: ContextOptions) => Promise<CliContext>,
  io: Io,
): Promise<number> {
  // The seed's zones decide the backend's region, as for any create.
  const { region } = regionOfZones(SEED_FLAGS.zones);
  const ctx = await context(region ? { region } : {});
  const name = SEED_FLAGS.name;
  const step = async (title: string, run: () => Promise<number>) => {
    banner(io, title);
    const code = await run();
    if (code !== 0) io.err(`demo stopped: "${title}" exited ${code}`);
    return code;
  };
  if (await ctx.store.exists(name)) {
    const status = await ctx.store.readStatus(name);
    if (status && status.phase !== 'Registered') {
      io.out(
        `cluster "${name}" exists already (phase ${status.phase}) from an earlier run: deleting it first`,
      );
      if (
        (await step(`kopsless delete cluster ${name} --yes`, () =>
          runDelete(name, { yes: true }, ctx, io),
        )) !== 0
      )
        return 1;
    }
  }
  const nodeGroups = SEED_FLAGS.zones.map((z) => `nodes-${z}`);
  const { Route53Client } = await import('@aws-sdk/client-route-53');
  const { clientConfig } = await import('../aws/clients.js');
  const steps: Array<[string, () => Promise<number>]> = [
    [
      `${createZoneCommand(DEMO_ZONE)}   (the zone for the cluster's API records)`,
      () => ensureDemoZone(new Route53Client(clientConfig(ctx.aws)), DEMO_ZONE, io),
    ],
    [
      `kopsless create cluster --name ${name} --zones ${SEED_FLAGS.zones.join(',')} --networking amazonvpc --node-count 2 --node-size t3.medium --master-size t3.medium --network-cidr 172.30.0.0/16 --yes`,
      () => runCreate({ flags: SEED_FLAGS, yes: true }, async () => ctx, io),
    ],
    ['kopsless get clusters', () => runGetClusters([], {}, ctx, io)],
    [
      `kopsless validate cluster ${name} --wait 2m`,
      () => runValidate(name, { wait: '2m', interval: 1000 }, ctx, io),
    ],
    [
      `kubectl create deployment web --image=nginx:1.27 --replicas=${DEMO_PODS}   (through the Kubernetes API)`,
      () => deployPods(ctx, name, DEMO_PODS),
    ],
    ['kubectl get pods,nodes', () => showPods(ctx, name, io)],
    [`kopsless watch-eni ${name}   (first observation)`, () => runWatchEni(name, {}, ctx, io)],
    [
      `kopsless watch-eni ${name}   (second observation: acts)`,
      () => runWatchEni(name, {}, ctx, io),
    ],
    ['kubectl get pods,nodes', () => showPods(ctx, name, io)],
    [
      `kopsless get ${name} -o yaml   (excerpt: what the watcher wrote into the spec)`,
      () => showMaxPods(ctx, name, io),
    ],
    ...nodeGroups.map(
      (ig) =>
        [
          `kopsless set instancegroup ${ig} spec.machineType=${NEW_NODE_SIZE} --name ${name}`,
          () => runSet('instancegroup', ig, [`spec.machineType=${NEW_NODE_SIZE}`], name, ctx, io),
        ] as [string, () => Promise<number>],
    ),
    [`kopsless update cluster ${name} --yes`, () => runUpdate(name, { yes: true }, ctx, io)],
    [
      `kopsless rolling-update cluster ${name} --yes`,
      () => runRollingUpdate(name, { yes: true }, ctx, io),
    ],
    [
      `kopsless validate cluster ${name} --wait 2m`,
      () => runValidate(name, { wait: '2m', interval: 1000 }, ctx, io),
    ],
    [`kopsless get ig --name ${name}`, () => runGetInstanceGroups([], { name }, ctx, io)],
    [`kopsless delete cluster ${name} --yes`, () => runDelete(name, { yes: true }, ctx, io)],
  ];
  for (const [title, run] of steps) {
    if ((await step(title, run)) !== 0) return 1;
  }
  const { discover } = await import('../stages/delete-cluster.js');
  const { inventoryApi } = await import('../aws/inventory.js');
  const { EC2Client } = await import('@aws-sdk/client-ec2');
  const { AutoScalingClient } = await import('@aws-sdk/client-auto-scaling');
  const { IAMClient } = await import('@aws-sdk/client-iam');
  const aws = clientConfig(ctx.aws);
  const left = await discover(name, {
    store: ctx.store,
    stacks: ctx.stacks,
    dns: ctx.dns,
    inventory: inventoryApi({
      ec2: new EC2Client(aws),
      autoscaling: new AutoScalingClient(aws),
      iam: new IAMClient(aws),
      route53: new Route53Client(aws),
    }),
  });
  const state = await ctx.objects.list(clusterFolder(name));
  banner(io, 'Left behind');
  io.out(
    `${left.length} AWS resource(s) tagged for ${name}, ${state.length} state store object(s)`,
  );
  io.out('');
  io.out(
    `The local backend keeps running (kopsless local down stops it). Look around: eval "$(kopsless local env)"`,
  );
  return left.length === 0 && state.length === 0 ? 0 : 1;
}
