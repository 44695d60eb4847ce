import { UsageError } from './usage-error.js';

/**
 * The cluster a command is for, as kOps takes it: the argument, else `--name`, else
 * `KOPS_CLUSTER_NAME`. An argument and a `--name` that differ are a usage error.
 */
export function clusterName(
  argument: string | undefined,
  option: string | undefined,
  env: Record<string, string | undefined> = process.env,
): string {
  if (argument && option && argument !== option)
    throw new UsageError(`the cluster is named twice: "${argument}" and --name "${option}"`);
  const name = argument || option || env.KOPS_CLUSTER_NAME;
  if (!name)
    throw new UsageError('name the cluster: as an argument, with --name, or in KOPS_CLUSTER_NAME');
  return name;
}
