import { type ClusterManifest, isControlPlaneRole } from '../manifest/types.js';
import type { CliContext } from './context.js';
import { parseOutputFormat, table, toYaml, UsageError } from './format.js';

type Io = { out: (line: string) => void; err: (line: string) => void };

function zonesOf(manifest: ClusterManifest, subnets?: string[]): string[] {
  const all = manifest.cluster.spec.subnets ?? [];
  const picked = subnets ? all.filter((s) => subnets.includes(s.name)) : all;
  return [...new Set(picked.map((s) => s.zone))];
}

/**
 * `kopsless get NAME` and `get all NAME`: the cluster and its instance groups (and, for `all`,
 * its instances) as kOps prints them; `-o yaml|json` gives the manifest, ready for `create -f`.
 */
export async function runGetAll(
  cluster: string,
  options: { output?: string; instances?: boolean },
  ctx: CliContext,
  io: Io,
): Promise<number> {
  const format = parseOutputFormat(options.output);
  if (!(await ctx.store.exists(cluster))) {
    io.err(`cluster "${cluster}" not found`);
    return 1;
  }
  if (format !== 'table') {
    const manifest = await ctx.store.readManifest(cluster);
    const docs = [manifest.cluster, ...manifest.instanceGroups];
    io.out(
      format === 'json' ? JSON.stringify(docs, null, 2) : docs.map(toYaml).join('---\n').trimEnd(),
    );
    return 0;
  }
  io.out('Cluster');
  await runGetClusters([cluster], {}, ctx, io);
  io.out('');
  io.out('Instance Groups');
  await runGetInstanceGroups([], { name: cluster }, ctx, io);
  if (options.instances) {
    const { instancesTable, listInstances } = await import('./get-instances.js');
    const rows = await listInstances(cluster, ctx);
    io.out('');
    io.out('Instances');
    io.out(rows.length > 0 ? instancesTable(rows) : 'none');
  }
  return 0;
}

/** `kopsless get clusters [NAME...]`: kOps's NAME CLOUD ZONES, or the objects with their status. */
export async function runGetClusters(
  names: string[],
  options: { output?: string },
  ctx: CliContext,
  io: Io,
): Promise<number> {
  const format = parseOutputFormat(options.output);
  const wanted = names.length > 0 ? names : await ctx.store.listClusters();
  // Each cluster's objects read at once: the list answers in one round trip, not one per object.
  const missing = (await Promise.all(wanted.map((name) => ctx.store.exists(name)))).findIndex(
    (exists) => !exists,
  );
  if (missing >= 0) {
    io.err(`cluster "${wanted[missing]}" not found`);
    return 1;
  }
  const clusters = await Promise.all(
    wanted.map(async (name) => {
      const [manifest, status, lock] = await Promise.all([
        ctx.store.readManifest(name),
        ctx.store.readStatus(name),
        ctx.store.readLock(name),
      ]);
      return { manifest, status: status ?? null, lock: lock ?? null };
    }),
  );
  if (format === 'table') {
    if (clusters.length === 0) {
      io.err('No clusters found');
      return 0;
    }
    io.out(
      table(
        ['NAME', 'CLOUD', 'ZONES'],
        clusters.map((c) => [
          c.manifest.cluster.metadata.name,
          c.manifest.cluster.spec.cloudProvider ?? 'aws',
          zonesOf(c.manifest).join(','),
        ]),
      ),
    );
    return 0;
  }
  const objects = clusters.map((c) => ({
    ...c.manifest.cluster,
    status: { ...(c.status ?? { phase: 'Unknown' }), lock: c.lock },
  }));
  const value = names.length === 1 ? objects[0] : objects;
  io.out(
    format === 'json'
      ? JSON.stringify(value, null, 2)
      : objects.map(toYaml).join('---\n').trimEnd(),
  );
  return 0;
}

/** `kopsless get ig --name CLUSTER [IG...]`: kOps's NAME ROLE MACHINETYPE MIN MAX ZONES. */
export async function runGetInstanceGroups(
  groups: string[],
  options: { name?: string; output?: string },
  ctx: CliContext,
  io: Io,
): Promise<number> {
  const format = parseOutputFormat(options.output);
  if (!options.name)
    throw new UsageError('--name is required: the cluster whose instance groups to list');
  if (!(await ctx.store.exists(options.name))) {
    io.err(`cluster "${options.name}" not found`);
    return 1;
  }
  const manifest = await ctx.store.readCompletedManifest(options.name);
  const selected =
    groups.length > 0
      ? manifest.instanceGroups.filter((ig) => groups.includes(ig.metadata.name))
      : manifest.instanceGroups;
  const missing = groups.filter(
    (g) => !manifest.instanceGroups.some((ig) => ig.metadata.name === g),
  );
  if (missing.length > 0) {
    io.err(`instance group(s) not found in cluster "${options.name}": ${missing.join(', ')}`);
    return 1;
  }
  if (format === 'table') {
    io.out(
      table(
        ['NAME', 'ROLE', 'MACHINETYPE', 'MIN', 'MAX', 'ZONES'],
        selected.map((ig) => [
          ig.metadata.name,
          isControlPlaneRole(ig.spec.role) ? 'ControlPlane' : ig.spec.role,
          ig.spec.machineType,
          ig.spec.minSize,
          ig.spec.maxSize,
          zonesOf(manifest, ig.spec.subnets).join(','),
        ]),
      ),
    );
    return 0;
  }
  const raw = await ctx.store.readManifest(options.name);
  const objects = raw.instanceGroups.filter((ig) =>
    selected.some((s) => s.metadata.name === ig.metadata.name),
  );
  io.out(
    format === 'json'
      ? JSON.stringify(objects.length === 1 && groups.length === 1 ? objects[0] : objects, null, 2)
      : objects.map(toYaml).join('---\n').trimEnd(),
  );
  return 0;
}
