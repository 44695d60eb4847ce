import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import type { Kubeconfig } from './export-kubeconfig.js';

/**
 * `kubeconfig` without what `export kubeconfig` wrote for `cluster`: the context, cluster and user
 * entries of that name, and the current context when it was that one (as kOps does when it deletes
 * a cluster). Everything else is kept as it was; undefined when nothing names the cluster.
 */
export function withoutCluster(kubeconfig: Kubeconfig, cluster: string): Kubeconfig | undefined {
  const named = (list: Kubeconfig['clusters']) => list?.some((entry) => entry.name === cluster);
  const current = kubeconfig['current-context'] === cluster;
  if (
    !current &&
    !named(kubeconfig.contexts) &&
    !named(kubeconfig.clusters) &&
    !named(kubeconfig.users)
  )
    return undefined;
  const others = (list: Kubeconfig['clusters']) =>
    list === undefined ? undefined : list.filter((entry) => entry.name !== cluster);
  const { 'current-context': _, ...rest } = kubeconfig;
  return {
    ...rest,
    ...(kubeconfig.contexts ? { contexts: others(kubeconfig.contexts) } : {}),
    ...(kubeconfig.clusters ? { clusters: others(kubeconfig.clusters) } : {}),
    ...(kubeconfig.users ? { users: others(kubeconfig.users) } : {}),
    ...(current ? {} : { 'current-context': kubeconfig['current-context'] }),
  };
}

/**
 * Removes the deleted `cluster` from the kubeconfig file at `path`, keeping its mode. Answers
 * whether the file named it; a file that is absent or not a kubeconfig is left untouched.
 */
export function forgetClusterInKubeconfig(path: string, cluster: string): boolean {
  if (!existsSync(path)) return false;
  let kubeconfig: unknown;
  try {
    kubeconfig = parse(readFileSync(path, 'utf8'));
  } catch {
    return false;
  }
  if (typeof kubeconfig !== 'object' || kubeconfig === null || Array.isArray(kubeconfig))
    return false;
  const kept = withoutCluster(kubeconfig as Kubeconfig, cluster);
  if (!kept) return false;
  const { mode } = statSync(path);
  writeFileSync(path, stringify(kept));
  chmodSync(path, mode & 0o777);
  return true;
}
