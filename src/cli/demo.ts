import type { CreateClusterFlags } from '../spec/create-cluster.js';
import type { CliContext } from './context.js';
import { runCreate } from './create.js';
import { runGetClusters, runGetInstanceGroups } from './get.js';

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

function banner(io: Io, text: string): void {
  io.out('');
  io.out(`==> ${text}`);
}

/** `kopsless demo` (the README's first command): the seed lifecycle on the local backend. */
export async function runDemo(context: () => Promise<CliContext>, io: Io): Promise<number> {
  const ctx = await context();
  const name = SEED_FLAGS.name;
  banner(io, `kopsless create cluster --name ${name} --zones ${SEED_FLAGS.zones.join(',')} --networking amazonvpc --node-count 2 --node-size t3.medium --master-size t3.medium --network-cidr 172.30.0.0/16 --yes`);
  const status = (await ctx.store.exists(name)) ? await ctx.store.readStatus(name) : undefined;
  if (status && status.phase !== 'Registered') {
    io.out(`cluster "${name}" exists already (phase ${status.phase}); start over with: kopsless local down`);
  } else {
    const code = await runCreate({ flags: SEED_FLAGS, yes: true }, async () => ctx, io);
    if (code !== 0) return code;
  }
  banner(io, 'kopsless get clusters');
  await runGetClusters([], {}, ctx, io);
  banner(io, `kopsless get ig --name ${name}`);
  await runGetInstanceGroups([], { name }, ctx, io);
  io.out('');
  io.out(`Look around with the AWS CLI: eval "$(kopsless local env)"; aws ec2 describe-instances --filters Name=tag:KubernetesCluster,Values=${name}`);
  return 0;
}
