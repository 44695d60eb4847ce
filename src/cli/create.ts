import { randomUUID } from 'node:crypto';
import { lookupInstanceTypes } from '../aws/ec2.js';
import { clusterZone } from '../aws/route53.js';
import type { SharedNetworkApi } from '../aws/shared-network.js';
import { now } from '../clock.js';
import { SpecInvalidError } from '../errors.js';
import { faultSummary } from '../local/instrument/faults.js';
import { bundleSummary } from '../local/sfn/bundles.js';
import { checkExitCode, checkManifest } from '../manifest/check.js';
import type { CompletedManifest } from '../manifest/completed.js';
import { type CreateClusterFlags, manifestFromFlags } from '../manifest/create-cluster.js';
import { flagsVpcId, needsNetworkLookup } from '../manifest/create-cluster-network.js';
import { decodeManifest } from '../manifest/parse.js';
import { regionOfZones, subnetZones } from '../manifest/region.js';
import { isControlPlaneRole } from '../manifest/types.js';
import { clusterRecordNames } from '../planning/dns.js';
import { resolveMaxPods } from '../planning/launch-plan.js';
import { prefixDelegationEnabled } from '../planning/max-pods.js';
import { groupInstanceTypes, smallestInstanceType } from '../planning/mixed-instances.js';
import { kopsGroupName, stackName } from '../planning/names.js';
import { renderStackTemplate } from '../planning/stack-template.js';
import { preflight } from '../stages/validate-spec.js';
import { writeState } from '../stages/write-state.js';
import { processHolder } from '../state/holder.js';
import type { CliContext, ContextOptions } from './context.js';
import { type CreateClusterExtras, importSshKey, withCreateExtras } from './create-extras.js';
import { seconds, table, toYaml, UsageError } from './format.js';
import { readManifestBytes } from './manifest-file.js';
import { progressPrinter } from './progress.js';
import { findDeadLock, releaseIfOurs, takeOver } from './resume.js';

export interface CreateOptions {
  filename?: string;
  yes?: boolean;
  /** `create cluster` flags; used when no file is given. */
  flags?: CreateClusterFlags;
  /** Print the manifest the flags produce and stop (`--dry-run -o yaml` in kOps). */
  printManifest?: boolean;
  /** kOps `create cluster` flags applied to the manifest the flags make. */
  extraFlags?: CreateClusterExtras;
}

type Io = { out: (line: string) => void; err: (line: string) => void };

async function manifestText(
  options: CreateOptions,
  context: (options?: ContextOptions) => Promise<CliContext>,
): Promise<string> {
  if (options.filename) {
    const decoded = decodeManifest(readManifestBytes(options.filename));
    if ('error' in decoded) throw new SpecInvalidError([decoded.error]);
    return decoded.text;
  }
  if (!options.flags)
    throw new UsageError(
      'give a manifest with -f FILE, or `create cluster --name NAME --zones ZONES ...`',
    );
  // kOps reads the VPC and subnets the flags name before it writes the manifest; so does this.
  const network = needsNetworkLookup(options.flags)
    ? await lookupNetwork(options.flags, (await context(zonesRegion(options.flags.zones))).network)
    : undefined;
  const manifest = withCreateExtras(
    manifestFromFlags(options.flags, network),
    options.extraFlags ?? {},
  );
  return [manifest.cluster, ...manifest.instanceGroups].map(toYaml).join('---\n');
}

/** The region the zones are in (kOps's), when they name one region; the context serves it. */
function zonesRegion(zones: readonly string[]): ContextOptions {
  const { region } = regionOfZones(zones);
  return region ? { region } : {};
}

/** What AWS says of the VPC and subnets the flags name. */
async function lookupNetwork(flags: CreateClusterFlags, api: SharedNetworkApi) {
  const subnets = await api.describeSubnets([
    ...(flags.subnets ?? []),
    ...(flags.utilitySubnets ?? []),
  ]);
  const lookup = { subnets };
  const vpcId = flagsVpcId(flags, lookup);
  const vpc = vpcId ? await api.describeVpc(vpcId) : undefined;
  return { subnets, ...(vpc ? { vpc } : {}) };
}

/** Exit code of create: 0 done (or registered), 1 invalid or failed, 3 unsupported. */
export async function runCreate(
  options: CreateOptions,
  context: (options?: ContextOptions) => Promise<CliContext>,
  io: Io,
): Promise<number> {
  let text: string;
  try {
    text = await manifestText(options, context);
  } catch (error) {
    if (error instanceof SpecInvalidError) {
      for (const i of error.issues) io.err(`${i.path}: ${i.message}`);
      return 1;
    }
    throw error;
  }
  if (options.printManifest) {
    io.out(text.trimEnd());
    return 0;
  }
  const check = checkManifest(text);
  const code = checkExitCode(check);
  if (code !== 0 || !check.completed) {
    for (const e of [...check.errors, ...check.unsupported]) io.err(`${e.path}: ${e.message}`);
    io.err(
      code === 3
        ? 'refusing to create: the manifest asks for settings kopsless does not build'
        : 'refusing to create: the manifest is invalid',
    );
    return code;
  }
  const ctx = await context(zonesRegion(subnetZones(check.completed.cluster.spec)));
  const name = check.cluster!;
  const sshKey = options.extraFlags?.sshPublicKey;
  if (sshKey) await importSshKey(ctx, name, sshKey);
  const cloudIssues = await preflight(check.completed, {
    ec2: ctx.ec2,
    dns: ctx.dns,
    network: ctx.network,
    region: ctx.region,
    ...(ctx.allowedHostedZoneId ? { allowedHostedZoneId: ctx.allowedHostedZoneId } : {}),
  });
  if (cloudIssues.length > 0) {
    for (const e of cloudIssues) io.err(`${e.path}: ${e.message}`);
    return 1;
  }
  if (!options.yes) return register(text, name, check.completed, ctx, io);
  return create(text, name, ctx, io);
}

/**
 * `update cluster` of a cluster that `create` registered and never built: the plan, or (with
 * --yes) the create state machine on the spec in the state store, as kOps's first update builds.
 */
export async function firstBuild(
  name: string,
  options: { yes?: boolean },
  ctx: CliContext,
  io: Io,
): Promise<number> {
  const manifest = await ctx.store.readManifest(name);
  const text = [manifest.cluster, ...manifest.instanceGroups].map(toYaml).join('---\n');
  if (options.yes) return create(text, name, ctx, io);
  await printPlan(name, await ctx.store.readCompletedManifest(name), ctx, io);
  return 0;
}

async function register(
  text: string,
  name: string,
  completed: CompletedManifest,
  ctx: CliContext,
  io: Io,
): Promise<number> {
  const owner = `cli-register-${randomUUID()}`;
  await writeState(
    { action: 'acquireLock', cluster: name, owner, operation: 'register', holder: processHolder() },
    { store: ctx.store, lockLeaseSeconds: 60 },
  );
  try {
    await writeState(
      { action: 'register', manifest: text, owner, operation: 'register' },
      { store: ctx.store, lockLeaseSeconds: 60 },
    );
  } finally {
    await writeState(
      { action: 'release', cluster: name, owner },
      { store: ctx.store, lockLeaseSeconds: 60 },
    );
  }
  io.out(`Registered cluster "${name}" in s3://${ctx.stateBucket}/${name}/`);
  io.out('');
  await printPlan(name, completed, ctx, io);
  io.out(`Build it with: kopsless update cluster --name ${name} --yes`);
  return 0;
}

/** What the create state machine will build, kOps's plan layout. */
async function printPlan(
  name: string,
  completed: CompletedManifest,
  ctx: CliContext,
  io: Io,
): Promise<void> {
  const zone = await clusterZone(ctx.dns, completed);
  const hostedZone = zone && 'zone' in zone ? zone.zone : undefined;
  const template = renderStackTemplate({
    manifest: completed,
    stateBucket: ctx.stateBucket,
    ...(hostedZone ? { hostedZoneId: hostedZone.id } : {}),
  }) as {
    Resources: Record<string, { Type: string }>;
  };
  const counts = new Map<string, number>();
  for (const r of Object.values(template.Resources))
    counts.set(r.Type, (counts.get(r.Type) ?? 0) + 1);
  const types = await lookupInstanceTypes(
    ctx.ec2,
    completed.instanceGroups.flatMap(groupInstanceTypes),
  );
  // A mixed-instances group's maxPods fits the smallest type it may launch (launch-plan.ts).
  const sizing = (ig: (typeof completed.instanceGroups)[number]) =>
    smallestInstanceType(
      groupInstanceTypes(ig).flatMap((t) => types.get(t) ?? []),
      prefixDelegationEnabled(completed.cluster.spec.networking?.amazonvpc?.env),
    );
  io.out(`Will create CloudFormation stack ${stackName(name)}:`);
  io.out(
    table(
      ['TYPE', 'COUNT'],
      [...counts.entries()].sort().map(([t, c]) => [t, c]),
    ),
  );
  if (hostedZone)
    io.out(
      `Will write ${clusterRecordNames(completed).join(' and ')} in hosted zone ${hostedZone.name} (${hostedZone.id}, ${hostedZone.private ? 'private' : 'public'})`,
    );
  io.out('');
  io.out('Will create launch templates and Auto Scaling groups:');
  io.out(
    table(
      ['NAME', 'ROLE', 'MACHINETYPE', 'MIN', 'MAX', 'MAXPODS', 'SUBNETS'],
      completed.instanceGroups.map((ig) => [
        kopsGroupName(ig.metadata.name, name),
        isControlPlaneRole(ig.spec.role) ? 'ControlPlane' : ig.spec.role,
        ig.spec.machineType,
        ig.spec.minSize,
        ig.spec.maxSize,
        ig.spec.role === 'Bastion'
          ? '-'
          : resolveMaxPods(completed.cluster, ig, sizing(ig)).maxPods,
        ig.spec.subnets.join(','),
      ]),
    ),
  );
  io.out('');
  io.out('Must specify --yes to apply changes');
}

async function create(text: string, name: string, ctx: CliContext, io: Io): Promise<number> {
  const dead = await findDeadLock(ctx, name);
  const claim = await takeOver(
    ctx,
    name,
    dead,
    { machine: 'create-cluster', operation: 'create' },
    io,
  );
  if (claim.exitCode !== undefined) return claim.exitCode;
  const started = now().getTime();
  io.out(`Creating cluster "${name}" (state machine create-cluster, ${ctx.where})`);
  const result = await ctx.run('create-cluster', {
    input: { manifest: text },
    cluster: name,
    log: io.out,
    ...(claim.executionName ? { executionName: claim.executionName } : {}),
    onProgress: progressPrinter(io.out, started),
  });
  if (result.status !== 'SUCCEEDED') {
    await releaseIfOurs(ctx, name, result.executionArn);
    io.err(`create failed: ${result.error?.name}: ${result.error?.cause}`);
    io.err(`execution ${result.executionArn}`);
    return 1;
  }
  const output = result.output as any;
  io.out('');
  io.out(
    `Cluster "${name}" is ready (${seconds(now().getTime() - started)}${faultSummary()}${bundleSummary()}).`,
  );
  io.out(
    table(
      ['INSTANCE GROUP', 'AUTO SCALING GROUP', 'IN SERVICE', 'LAUNCH TEMPLATE', 'MAXPODS'],
      output.groups.groups.map((g: any) => {
        const status = output.instances.groups.find((s: any) => s.name === g.name);
        return [
          g.instanceGroup,
          g.name,
          `${status?.inService ?? 0}/${status?.desired ?? 0}`,
          `v${g.launchTemplateVersion}`,
          `${g.maxPods} (${g.maxPodsSource})`,
        ];
      }),
    ),
  );
  for (const [record, values] of Object.entries(output.dns.records as Record<string, string[]>))
    io.out(`DNS  ${record} -> ${values.join(', ')}`);
  io.out(`State store  s3://${ctx.stateBucket}/${name}/`);
  io.out(`Stack        ${output.stack.stackName}`);
  return 0;
}
