import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { clientConfig } from '../aws/clients.js';
import { inventoryApi } from '../aws/inventory.js';
import type { KubeNode } from '../kube/port.js';
import { discover } from '../stages/delete-cluster.js';
import type { CliContext } from './context.js';
import { toYaml } from './format.js';
import { listInstances } from './get-instances.js';
import type { Io } from './usage-error.js';

/**
 * `kopsless toolbox dump [NAME] [-o yaml|json]`: what an operator needs to see a cluster whole, as
 * kOps's dump gives it: every cloud resource tagged for it (what delete would remove), its
 * instances, and the nodes the Kubernetes API reports.
 */
export async function runToolboxDump(
  cluster: string,
  options: { output?: string },
  ctx: CliContext,
  io: Io,
): Promise<number> {
  if (!(await ctx.store.exists(cluster))) {
    io.err(`cluster "${cluster}" not found`);
    return 1;
  }
  const aws = clientConfig(ctx.aws);
  const inventory = inventoryApi({
    ec2: new EC2Client(aws),
    autoscaling: new AutoScalingClient(aws),
    iam: new IAMClient(aws),
    route53: new Route53Client(aws),
  });
  const resources = await discover(cluster, {
    store: ctx.store,
    stacks: ctx.stacks,
    inventory,
    dns: ctx.dns,
  });
  const instances = await listInstances(cluster, ctx);
  let nodes: KubeNode[] | { error: string } = [];
  try {
    nodes = (await (await ctx.kube(cluster))?.listNodes()) ?? [];
  } catch (error) {
    nodes = { error: `the Kubernetes API did not answer: ${(error as Error).message}` };
  }
  const dump = {
    cluster,
    status: (await ctx.store.readStatus(cluster)) ?? null,
    resources,
    instances,
    nodes,
  };
  io.out(options.output === 'json' ? JSON.stringify(dump, null, 2) : toYaml(dump).trimEnd());
  return 0;
}
