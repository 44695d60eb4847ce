import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { kubeconfigKey } from '../kube/from-store.js';
import type { CliContext } from './context.js';
import { writeKubeconfigFile } from './kubeconfig-file.js';
import { type Io, UsageError } from './usage-error.js';

interface Named {
  name: string;
  [key: string]: unknown;
}

/** The parts of a kubeconfig that `export kubeconfig` merges. */
export interface Kubeconfig {
  apiVersion?: string;
  kind?: string;
  clusters?: Named[];
  users?: Named[];
  contexts?: Named[];
  'current-context'?: string;
  [key: string]: unknown;
}

/** The file kubectl reads first: `--kubeconfig`, the first of $KUBECONFIG, or ~/.kube/config. */
export function kubeconfigPath(
  option: string | undefined,
  env: Record<string, string | undefined> = process.env,
): string {
  if (option) return option;
  const first = env.KUBECONFIG?.split(delimiter).find((p) => p !== '');
  return first ?? join(env.HOME || homedir(), '.kube', 'config');
}

/** Replaces the entries of the same name, keeps the others, in kubectl's order. */
function upsert(list: Named[] | undefined, entries: Named[]): Named[] {
  const names = new Set(entries.map((e) => e.name));
  return [...(list ?? []).filter((e) => !names.has(e.name)), ...entries];
}

/**
 * The cluster's kubeconfig merged into `existing`, its context current. Without `admin` the user
 * entry carries no credentials, as kOps exports without `--admin`.
 */
export function mergeKubeconfig(
  existing: Kubeconfig,
  exported: Kubeconfig,
  cluster: string,
  admin: boolean,
): Kubeconfig {
  const source =
    exported.contexts?.find((c) => c.name === exported['current-context']) ??
    exported.contexts?.[0];
  const sourceContext = (source?.context ?? {}) as { cluster?: string; user?: string };
  const clusterEntry = exported.clusters?.find((c) => c.name === sourceContext.cluster);
  const userEntry = exported.users?.find((u) => u.name === sourceContext.user);
  if (!clusterEntry)
    throw new UsageError(`the kubeconfig stored for "${cluster}" has no cluster entry`);
  const user = (userEntry?.user ?? {}) as Record<string, unknown>;
  // Stored credentials are data: a user that would run a command is not written for kubectl.
  if ('exec' in user || 'auth-provider' in user)
    throw new UsageError(
      `the kubeconfig stored for "${cluster}" runs a command (exec/auth-provider): not exported`,
    );
  return {
    apiVersion: 'v1',
    kind: 'Config',
    ...existing,
    clusters: upsert(existing.clusters, [{ name: cluster, cluster: clusterEntry.cluster }]),
    users: upsert(existing.users, [{ name: cluster, user: admin ? user : {} }]),
    contexts: upsert(existing.contexts, [{ name: cluster, context: { cluster, user: cluster } }]),
    'current-context': cluster,
  };
}

/** `kopsless export kubeconfig [NAME] [--admin]`: kubectl pointed at the cluster. */
export async function runExportKubeconfig(
  cluster: string,
  options: { admin?: boolean; kubeconfig?: string },
  ctx: CliContext,
  io: Io,
): Promise<number> {
  if (!(await ctx.store.exists(cluster))) {
    io.err(`cluster "${cluster}" not found`);
    return 1;
  }
  // A deployed stack hands out kubeconfigs through its API (secrets/ is its functions' alone),
  // with credentials only on the admin route.
  const stored = ctx.api
    ? await ctx.api.kubeconfig(cluster, !!options.admin).then((body) => body && { body })
    : await ctx.objects.get(kubeconfigKey(cluster));
  if (!stored) {
    io.err(
      `cluster "${cluster}" has no kubeconfig yet (its control plane publishes one when it is up): build it with kopsless update cluster --name ${cluster} --yes`,
    );
    return 1;
  }
  const path = kubeconfigPath(options.kubeconfig);
  const existing = existsSync(path)
    ? ((parse(readFileSync(path, 'utf8'), { version: '1.1' }) ?? {}) as Kubeconfig)
    : {};
  const merged = mergeKubeconfig(
    existing,
    parse(stored.body, { version: '1.1' }) as Kubeconfig,
    cluster,
    !!options.admin,
  );
  mkdirSync(dirname(path), { recursive: true });
  // kubectl reads YAML 1.1: a string such as "no" or "on" must stay quoted, or it reads a bool.
  writeKubeconfigFile(path, stringify(merged, { version: '1.1' }), 0o600);
  io.out(`kopsless has set your kubectl context to ${cluster} (in ${path})`);
  if (!options.admin)
    io.err(
      'exported the cluster without user credentials; use --admin for the cluster admin credentials',
    );
  return 0;
}
