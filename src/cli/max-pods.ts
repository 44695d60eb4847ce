import { lookupInstanceTypes } from '../aws/ec2.js';
import { calculateMaxPods, type MaxPodsOptions } from '../planning/max-pods.js';
import { VPC_CNI_VERSION } from '../planning/vpc-cni.js';
import type { CliContext } from './context.js';
import { parseOutputFormat, table, UsageError } from './format.js';

type Io = { out: (line: string) => void; err: (line: string) => void };

export interface MaxPodsCliOptions {
  cniVersion?: string;
  prefixDelegation?: boolean;
  customNetworking?: boolean;
  cniMaxEni?: string;
  showMaxAllowed?: boolean;
  output?: string;
}

export type MaxPodsEntry =
  | {
      instanceType: string;
      maxPods: number;
      enis: number;
      ipv4PerEni: number;
      vcpus: number;
      prefixDelegation: boolean;
      notes: string[];
    }
  | { instanceType: string; error: string };

/** Max pods for each type asked, from DescribeInstanceTypes (one batched call); unknown types get an error entry. */
export async function maxPodsFor(
  types: string[],
  options: MaxPodsOptions,
  ctx: Pick<CliContext, 'ec2' | 'region'>,
): Promise<MaxPodsEntry[]> {
  const infos = await lookupInstanceTypes(ctx.ec2, types);
  return types.map((type) => {
    const info = infos.get(type);
    if (!info)
      return {
        instanceType: type,
        error: `instance type "${type}" is not offered in ${ctx.region}`,
      };
    return calculateMaxPods(info, options);
  });
}

/** `kopsless max-pods TYPE...`: the EKS max-pods calculator's options, one answer per type. */
export async function runMaxPods(
  types: string[],
  options: MaxPodsCliOptions,
  ctx: CliContext,
  io: Io,
): Promise<number> {
  const format = parseOutputFormat(options.output, ['table', 'json']);
  if (types.length === 0)
    throw new UsageError('name at least one instance type (e.g. kopsless max-pods t3.medium)');
  const cniMaxEni = options.cniMaxEni === undefined ? undefined : Number(options.cniMaxEni);
  if (cniMaxEni !== undefined && !(Number.isInteger(cniMaxEni) && cniMaxEni > 0))
    throw new UsageError(
      `--cni-max-eni takes a whole number above zero, not "${options.cniMaxEni}"`,
    );
  if (options.cniVersion !== undefined && !/^v?\d+\.\d+(\.\d+)?/.test(options.cniVersion))
    throw new UsageError(
      `--cni-version takes a version such as ${VPC_CNI_VERSION}, not "${options.cniVersion}"`,
    );
  const entries = await maxPodsFor(
    types,
    {
      cniVersion: options.cniVersion ?? VPC_CNI_VERSION,
      ...(options.prefixDelegation ? { prefixDelegation: true } : {}),
      ...(options.customNetworking ? { customNetworking: true } : {}),
      ...(cniMaxEni !== undefined ? { cniMaxEni } : {}),
      ...(options.showMaxAllowed ? { showMaxAllowed: true } : {}),
    },
    ctx,
  );
  if (format === 'json') io.out(JSON.stringify(entries, null, 2));
  else {
    io.out(
      table(
        ['INSTANCE TYPE', 'MAXPODS', 'NOTES'],
        entries.map((e) =>
          'error' in e
            ? [e.instanceType, '-', e.error]
            : [e.instanceType, e.maxPods, e.notes.join('; ')],
        ),
      ),
    );
  }
  return entries.some((e) => 'error' in e) ? 1 : 0;
}
