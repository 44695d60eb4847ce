import { observeGroups } from '../stages/roll-observe.js';
import type { CliContext } from './context.js';
import { parseOutputFormat, table, toYaml } from './format.js';
import type { Io } from './usage-error.js';

/** One row of `kops get instances`. */
export interface InstanceRow {
  id: string;
  nodeName: string;
  status: 'UpToDate' | 'NeedsUpdate';
  roles: string;
  state: string;
  internalIp: string;
  instanceGroup: string;
  machineType: string;
}

/**
 * The cluster's instances as kOps lists them: up to date or not (its spec-hash tag against its
 * group's), detached (surged by a roll), its node name from the Kubernetes API when it answers.
 */
export async function listInstances(cluster: string, ctx: CliContext): Promise<InstanceRow[]> {
  const groups = await observeGroups(cluster, ctx);
  const ids = groups.flatMap((g) => [...g.members.map((m) => m.instanceId), ...g.detached]);
  const instances = new Map(
    (ids.length > 0
      ? await ctx.ec2.describeInstances([{ Name: 'instance-id', Values: ids }])
      : []
    ).map((i) => [i.InstanceId ?? '', i]),
  );
  const nodes = new Map<string, string>();
  try {
    for (const node of (await (await ctx.kube(cluster))?.listNodes()) ?? [])
      nodes.set(node.instanceId, node.name);
  } catch {
    // The cloud's view is still worth listing when the API does not answer.
  }
  return groups.flatMap((g) =>
    [
      ...g.members.map((m) => ({ id: m.instanceId, hash: m.specHash, state: '' })),
      ...g.detached.map((id) => ({ id, hash: undefined, state: 'Detached' })),
    ].map(({ id, hash, state }) => {
      const instance = instances.get(id);
      return {
        id,
        nodeName: nodes.get(id) ?? '',
        status: hash !== undefined && hash === g.specHash ? 'UpToDate' : 'NeedsUpdate',
        roles:
          g.role === 'Master' || g.role === 'ControlPlane' ? 'control-plane' : g.role.toLowerCase(),
        state,
        internalIp: instance?.PrivateIpAddress ?? '',
        instanceGroup: g.instanceGroup,
        machineType: instance?.InstanceType ?? '',
      } satisfies InstanceRow;
    }),
  );
}

/** kOps's `get instances` table. */
export function instancesTable(rows: InstanceRow[]): string {
  return table(
    [
      'ID',
      'NODE-NAME',
      'STATUS',
      'ROLES',
      'STATE',
      'INTERNAL-IP',
      'INSTANCE-GROUP',
      'MACHINE-TYPE',
    ],
    rows.map((r) => [
      r.id,
      r.nodeName,
      r.status,
      r.roles,
      r.state,
      r.internalIp,
      r.instanceGroup,
      r.machineType,
    ]),
  );
}

/** `kopsless get instances [NAME]`. */
export async function runGetInstances(
  cluster: string,
  options: { output?: string },
  ctx: CliContext,
  io: Io,
): Promise<number> {
  const format = parseOutputFormat(options.output);
  if (!(await ctx.store.exists(cluster))) {
    io.err(`cluster "${cluster}" not found`);
    return 1;
  }
  const rows = await listInstances(cluster, ctx);
  if (format === 'json') io.out(JSON.stringify(rows, null, 2));
  else if (format === 'yaml') io.out(toYaml(rows).trimEnd());
  else if (rows.length === 0) io.err(`No instances found in cluster "${cluster}"`);
  else io.out(instancesTable(rows));
  return 0;
}
