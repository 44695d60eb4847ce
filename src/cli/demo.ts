import type { CreateClusterFlags } from '../spec/create-cluster.js';
import type { CliContext } from './context.js';
import { runCreate } from './create.js';
import { runDelete } from './delete.js';
import { runGetClusters, runGetInstanceGroups } from './get.js';
import { runRollingUpdate } from './rolling-update.js';
import { runSet, runUpdate } from './update.js';
import { runValidate } from './validate.js';

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
  kubernetesVersion: 'v1.32.0',
};

/** The machine type the demo moves the nodes to. */
const NEW_NODE_SIZE = 'm5.large';

function banner(io: Io, text: string): void {
  io.out('');
  io.out(`==> ${text}`);
}

/**
 * `kopsless demo` (the README's first command): the lifecycle a kOps user knows, on the local
 * backend: create, validate, change the node machine type, update, rolling-update, validate,
 * delete; each stage shown as it runs, and a check at the end that nothing is left behind.
 */
export async function runDemo(context: () => Promise<CliContext>, io: Io): Promise<number> {
  const ctx = await context();
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
      io.out(`cluster "${name}" exists already (phase ${status.phase}) from an earlier run: deleting it first`);
      if ((await step(`kopsless delete cluster ${name} --yes`, () => runDelete(name, { yes: true }, ctx, io))) !== 0) return 1;
    }
  }
  const nodeGroups = SEED_FLAGS.zones.map((z) => `nodes-${z}`);
  const steps: Array<[string, () => Promise<number>]> = [
    [
      `kopsless create cluster --name ${name} --zones ${SEED_FLAGS.zones.join(',')} --networking amazonvpc --node-count 2 --node-size t3.medium --master-size t3.medium --network-cidr 172.30.0.0/16 --yes`,
      () => runCreate({ flags: SEED_FLAGS, yes: true }, async () => ctx, io),
    ],
    ['kopsless get clusters', () => runGetClusters([], {}, ctx, io)],
    [`kopsless validate cluster ${name} --wait 2m`, () => runValidate(name, { wait: '2m', interval: 1000 }, ctx, io)],
    ...nodeGroups.map(
      (ig) => [`kopsless set instancegroup ${ig} spec.machineType=${NEW_NODE_SIZE} --name ${name}`, () => runSet('instancegroup', ig, [`spec.machineType=${NEW_NODE_SIZE}`], name, ctx, io)] as [string, () => Promise<number>],
    ),
    [`kopsless update cluster ${name} --yes`, () => runUpdate(name, { yes: true }, ctx, io)],
    [`kopsless rolling-update cluster ${name} --yes`, () => runRollingUpdate(name, { yes: true }, ctx, io)],
    [`kopsless validate cluster ${name} --wait 2m`, () => runValidate(name, { wait: '2m', interval: 1000 }, ctx, io)],
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
  const { Route53Client } = await import('@aws-sdk/client-route-53');
  const left = await discover(name, { store: ctx.store, stacks: ctx.stacks, inventory: inventoryApi({ ec2: new EC2Client({}), autoscaling: new AutoScalingClient({}), iam: new IAMClient({}), route53: new Route53Client({}) }) });
  const state = await ctx.objects.list(`${name}/`);
  banner(io, 'Left behind');
  io.out(`${left.length} AWS resource(s) tagged for ${name}, ${state.length} state store object(s)`);
  io.out('');
  io.out(`The local backend keeps running (kopsless local down stops it). Look around: eval "$(kopsless local env)"`);
  return left.length === 0 && state.length === 0 ? 0 : 1;
}
