import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { clientConfig } from '../aws/clients.js';
import { inventoryApi } from '../aws/inventory.js';
import { now } from '../clock.js';
import { faultSummary } from '../local/instrument/faults.js';
import { bundleSummary } from '../local/sfn/bundles.js';
import { parseManifest } from '../manifest/parse.js';
import { discover, unregisteredDetail } from '../stages/delete-cluster.js';
import type { CliContext } from './context.js';
import { kubeconfigPath } from './export-kubeconfig.js';
import { forgetClusterInKubeconfig } from './forget-kubeconfig.js';
import { seconds, table, UsageError } from './format.js';
import { readManifestBytes } from './manifest-file.js';
import { progressPrinter } from './progress.js';
import { findDeadLock, interruptedNote, releaseIfOurs, takeOver } from './resume.js';

type Io = { out: (line: string) => void; err: (line: string) => void };

/** The cluster a manifest describes, for `delete -f FILE` (its Cluster's metadata.name). */
export function clusterOfManifest(filename: string): string {
  const parsed = parseManifest(readManifestBytes(filename));
  const name = parsed.manifest?.cluster.metadata.name;
  if (!name) {
    const problem = parsed.errors[0];
    throw new UsageError(
      `${filename} names no cluster${problem ? ` (${problem.path}: ${problem.message})` : ''}`,
    );
  }
  return name;
}

/** `kopsless delete cluster NAME [--yes]`: kOps's TYPE NAME ID list, or the delete-cluster state machine. */
export async function runDelete(
  cluster: string,
  options: { yes?: boolean },
  ctx: CliContext,
  io: Io,
): Promise<number> {
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
    dns: ctx.dns,
    inventory,
  });
  const registered = await ctx.store.exists(cluster);
  // A delete killed after the state store went may have left only its lock: that is finished here.
  const dead = await findDeadLock(ctx, cluster);
  if (!registered && !dead) {
    io.err(`cluster "${cluster}" not found${unregisteredDetail(resources.length)}`);
    return 1;
  }
  if (resources.length > 0)
    io.out(
      table(
        ['TYPE', 'NAME', 'ID'],
        resources.map((r) => [r.type, r.name, r.id]),
      ),
    );
  if (registered)
    io.out(
      `${resources.length > 0 ? '\n' : ''}and the state store s3://${ctx.stateBucket}/${cluster}/`,
    );
  if (dead) io.out(interruptedNote(dead));
  if (!options.yes) {
    io.out('');
    io.out('Must specify --yes to delete cluster');
    return 0;
  }
  const claim = await takeOver(
    ctx,
    cluster,
    dead,
    { machine: 'delete-cluster', operation: 'delete' },
    io,
  );
  if (claim.exitCode !== undefined) return claim.exitCode;
  const started = now().getTime();
  io.out('');
  io.out(`Deleting cluster "${cluster}" (state machine delete-cluster)`);
  const result = await ctx.run('delete-cluster', {
    input: { cluster },
    cluster,
    log: io.out,
    ...(claim.executionName ? { executionName: claim.executionName } : {}),
    onProgress: progressPrinter(io.out, started),
  });
  if (result.status !== 'SUCCEEDED') {
    await releaseIfOurs(ctx, cluster, result.executionArn);
    io.err(`delete failed: ${result.error?.name}: ${result.error?.cause}`);
    io.err('run the same command again to retry what is left');
    return 1;
  }
  // As kOps does: kubectl is not left pointing at a cluster that is gone.
  const kubeconfig = kubeconfigPath(undefined);
  if (forgetClusterInKubeconfig(kubeconfig, cluster))
    io.out(`Deleted kubectl config for ${cluster} (in ${kubeconfig})`);
  io.out('');
  io.out(
    `Deleted cluster: "${cluster}" (${seconds(now().getTime() - started)}${faultSummary()}${bundleSummary()})`,
  );
  return 0;
}
