import { now, sleep } from '../clock.js';
import { parseGoDuration } from '../planning/launch-plan.js';
import { type ValidationResult, validateCluster } from '../stages/validate-cluster.js';
import type { CliContext } from './context.js';
import { parseOutputFormat, table, UsageError } from './format.js';

type Io = { out: (line: string) => void; err: (line: string) => void };

export function printValidation(result: ValidationResult, io: Io): void {
  io.out(`Validating cluster ${result.cluster}`);
  io.out('');
  io.out('INSTANCE GROUPS');
  io.out(
    table(
      ['NAME', 'ROLE', 'MACHINETYPE', 'MIN', 'MAX', 'SUBNETS'],
      result.groups.map((g) => [g.name, g.role, g.machineType, g.min, g.max, g.subnets.join(',')]),
    ),
  );
  io.out('');
  io.out('NODE STATUS');
  io.out(
    table(
      ['NAME', 'ROLE', 'READY'],
      result.nodes.map((n) => [n.name, n.role, n.ready ? 'True' : 'False']),
    ),
  );
  io.out('');
  if (result.valid) {
    io.out(`Your cluster ${result.cluster} is ready`);
    return;
  }
  io.out('VALIDATION ERRORS');
  io.out(
    table(
      ['KIND', 'NAME', 'MESSAGE'],
      result.failures.map((f) => [f.type, f.name, f.message]),
    ),
  );
  io.out('');
  io.out('Validation Failed');
}

/** `kopsless validate cluster NAME [--wait DURATION] [-o json]`: exit 0 healthy, 1 not (yet). */
export async function runValidate(
  cluster: string,
  options: { wait?: string; output?: string; interval?: number },
  ctx: CliContext,
  io: Io,
): Promise<number> {
  const format = parseOutputFormat(options.output, ['table', 'json']);
  const waitSeconds = options.wait ? parseGoDuration(options.wait) : 0;
  if (waitSeconds === undefined)
    throw new UsageError(`--wait takes a duration such as 10m or 30s, not "${options.wait}"`);
  if (!(await ctx.store.exists(cluster))) {
    io.err(`cluster "${cluster}" not found`);
    return 1;
  }
  const deadline = now().getTime() + waitSeconds * 1000;
  for (;;) {
    const result = await validateCluster(cluster, ctx);
    const last = result.valid || now().getTime() >= deadline;
    if (last) {
      if (format === 'json')
        io.out(JSON.stringify({ failures: result.failures, nodes: result.nodes }, null, 2));
      else printValidation(result, io);
      if (!result.valid && waitSeconds > 0)
        io.err(`Error: validation failed: wait time exceeded during validation`);
      return result.valid ? 0 : 1;
    }
    io.err(
      `W validation: ${result.failures.length} failure(s), first: ${result.failures[0]?.message}; retrying`,
    );
    await sleep(options.interval ?? 2000);
  }
}
