import { randomUUID } from 'node:crypto';
import { parseDocument } from 'yaml';
import { now } from '../clock.js';
import type { FieldIssue } from '../errors.js';
import { faultSummary } from '../local/instrument/faults.js';
import { bundleSummary } from '../local/sfn/bundles.js';
import { checkExitCode, checkManifest, type ManifestCheck } from '../manifest/check.js';
import type { CompletedManifest } from '../manifest/completed.js';
import {
  isDeprecatedKubernetesVersion,
  kubernetesVersionChangeIssues,
  OLDEST_RECOMMENDED_KUBERNETES_VERSION,
} from '../manifest/kubernetes-version.js';
import type { ClusterManifest } from '../manifest/types.js';
import {
  describeRunningVersion,
  type RunningControlPlaneVersion,
  runningControlPlaneVersion,
} from '../stages/control-plane-version.js';
import { previewUpdate, type UpdatePreview } from '../stages/update-preview.js';
import { processHolder } from '../state/holder.js';
import type { CliContext } from './context.js';
import { seconds, UsageError } from './format.js';
import { readManifestBytes } from './manifest-file.js';
import { progressPrinter } from './progress.js';
import { findDeadLock, interruptedNote, releaseIfOurs, takeOver } from './resume.js';

type Io = { out: (line: string) => void; err: (line: string) => void };

/** The preview as `update cluster` prints it, kOps's "Will modify resources" layout. */
export function previewLines(preview: UpdatePreview): string[] {
  if (!preview.hasChanges) return ['No changes need to be applied'];
  const lines = ['Will modify resources:'];
  if (preview.stack.changed) {
    lines.push(`  CloudFormation stack (network, security groups, IAM, DNS)`);
    for (const id of preview.stack.added) lines.push(`  \t+ ${id}`);
    for (const id of preview.stack.removed) lines.push(`  \t- ${id}`);
    for (const id of preview.stack.modified) lines.push(`  \t~ ${id}`);
  }
  for (const g of preview.groups) {
    if (g.create)
      lines.push(`  LaunchTemplate/${g.name} and AutoScalingGroup/${g.name}: will be created`);
    if (g.launchTemplate.length > 0) {
      lines.push(`  LaunchTemplate/${g.name} (new version)`);
      for (const c of g.launchTemplate.filter((c) => c.section !== 'UserData'))
        lines.push(`  \t${c.field.padEnd(28)}${c.from} -> ${c.to}`);
      // Settings inside the boot script, under it, as kOps's diff shows the lines of its userdata.
      const inScript = g.launchTemplate.filter((c) => c.section === 'UserData');
      if (inScript.length > 0) lines.push(`  \tUserData (bootstrap script)`);
      for (const c of inScript) lines.push(`  \t  ${`${c.field} `.padEnd(26)}${c.from} -> ${c.to}`);
    }
    if (g.group.length > 0) {
      lines.push(`  AutoScalingGroup/${g.name}`);
      for (const c of g.group) lines.push(`  \t${c.field.padEnd(28)}${c.from} -> ${c.to}`);
    }
  }
  return lines;
}

/** `kopsless update cluster NAME [--yes]`: preview, or apply with the update-cluster state machine. */
export async function runUpdate(
  cluster: string,
  options: { yes?: boolean },
  ctx: CliContext,
  io: Io,
): Promise<number> {
  if (!(await ctx.store.exists(cluster))) {
    io.err(`cluster "${cluster}" not found`);
    return 1;
  }
  // Registered by `create` without --yes and never built: kOps's first update builds it.
  if ((await ctx.store.readStatus(cluster))?.phase === 'Registered') {
    const { firstBuild } = await import('./create.js');
    return firstBuild(cluster, options, ctx, io);
  }
  const preview = await previewUpdate(cluster, {
    ...ctx,
    stateBucket: ctx.stateBucket,
    region: ctx.region,
  });
  if (preview.versionIssues.length > 0) {
    // The control plane runs runningVersion; kubeadm on a new instance would refuse the jump.
    for (const e of preview.versionIssues) io.err(`${e.path}: ${e.message}`);
    io.err(
      `the cluster was not changed: ${preview.running ? describeRunningVersion(preview.running) : 'the control plane runs an unknown version'}; set spec.kubernetesVersion to a version it can move to`,
    );
    return 1;
  }
  if (preview.wantedVersion && isDeprecatedKubernetesVersion(preview.wantedVersion)) {
    // kOps 1.37 prints this on every update of such a cluster; it still applies it.
    const { major, minor } = OLDEST_RECOMMENDED_KUBERNETES_VERSION;
    io.err(
      `Kops support for this Kubernetes version (${preview.wantedVersion}) is deprecated and will be removed in a future release. Upgrading Kubernetes is recommended (to ${major}.${minor} or later).`,
    );
  }
  for (const line of previewLines(preview)) io.out(line);
  // An interrupted update may have applied every change before it was killed: it still holds
  // the lock and the Updating phase, so the state machine runs again to finish and record it.
  const dead = await findDeadLock(ctx, cluster);
  if (dead) io.out(interruptedNote(dead));
  if (!options.yes) {
    if (preview.hasChanges || dead) io.out('\nMust specify --yes to apply changes');
    return 0;
  }
  if (!preview.hasChanges && !dead) return 0;
  const claim = await takeOver(
    ctx,
    cluster,
    dead,
    { machine: 'update-cluster', operation: 'update' },
    io,
  );
  if (claim.exitCode !== undefined) return claim.exitCode;
  const started = now().getTime();
  io.out('');
  io.out(`Updating cluster "${cluster}" (state machine update-cluster)`);
  const result = await ctx.run('update-cluster', {
    input: { cluster },
    cluster,
    log: io.out,
    ...(claim.executionName ? { executionName: claim.executionName } : {}),
    onProgress: progressPrinter(io.out, started),
  });
  if (result.status !== 'SUCCEEDED') {
    await releaseIfOurs(ctx, cluster, result.executionArn);
    io.err(`update failed: ${result.error?.name}: ${result.error?.cause}`);
    return 1;
  }
  io.out('');
  io.out(
    `Cluster changes have been applied to the cloud (${seconds(now().getTime() - started)}${faultSummary()}${bundleSummary()}).`,
  );
  if (preview.groups.some((g) => g.launchTemplate.length > 0)) {
    io.out(`Changes may require instances to restart: kopsless rolling-update cluster ${cluster}`);
  }
  return 0;
}

/** Why a changed spec cannot be written: its problems and the exit code, or the checked spec. */
export type SpecVerdict =
  | { code: 0; check: ManifestCheck & { manifest: ClusterManifest; completed: CompletedManifest } }
  | { code: number; issues: FieldIssue[]; summary: string };

/**
 * Checks a changed spec: valid, built by kopsless, and a version change the control plane can make
 * from what it runs (`running`: its oldest instance's version, else the last applied; never a
 * spec that was only set).
 */
export function checkChangedSpec(
  manifest: ClusterManifest,
  running: RunningControlPlaneVersion | undefined,
): SpecVerdict {
  const text = [manifest.cluster, ...manifest.instanceGroups]
    .map((d) => JSON.stringify(d))
    .join('\n---\n');
  const check = checkManifest(text);
  const code = checkExitCode(check);
  if (code !== 0 || !check.manifest || !check.completed)
    return {
      code,
      issues: [...check.errors, ...check.unsupported],
      summary: 'the spec was not changed',
    };
  const versionIssues = kubernetesVersionChangeIssues(
    running?.version,
    check.manifest.cluster.spec.kubernetesVersion,
  );
  if (versionIssues.length > 0)
    return {
      code: 1,
      issues: versionIssues,
      summary: `the spec was not changed: ${describeRunningVersion(running!)}`,
    };
  return { code: 0, check: { ...check, manifest: check.manifest, completed: check.completed } };
}

/** Writes a checked spec with a short-lived lock; refuses while an execution holds the cluster. */
export async function writeCheckedSpec(
  manifest: ClusterManifest,
  completed: CompletedManifest,
  ctx: CliContext,
): Promise<void> {
  const name = manifest.cluster.metadata.name;
  const owner = `cli-edit-${randomUUID()}`;
  await ctx.store.acquireLock(name, owner, 'edit', 60, processHolder());
  try {
    await ctx.store.writeSpecs(manifest, completed);
  } finally {
    await ctx.store.releaseLock(name, owner);
  }
}

/** Checks a changed spec and writes it, or prints why not (then nothing is written). */
async function writeSpec(
  manifest: ClusterManifest,
  running: RunningControlPlaneVersion | undefined,
  ctx: CliContext,
  io: Io,
): Promise<number> {
  const verdict = checkChangedSpec(manifest, running);
  if (!('check' in verdict)) {
    for (const e of verdict.issues) io.err(`${e.path}: ${e.message}`);
    io.err(verdict.summary);
    return verdict.code;
  }
  await writeCheckedSpec(verdict.check.manifest, verdict.check.completed, ctx);
  return 0;
}

/** `kopsless replace -f cluster.yaml`: replace the spec of an existing cluster. */
export async function runReplace(
  filename: string | undefined,
  ctx: CliContext,
  io: Io,
): Promise<number> {
  if (!filename) throw new UsageError('-f, --filename is required');
  const check = checkManifest(readManifestBytes(filename));
  if (!check.manifest) {
    for (const e of check.errors) io.err(`${e.path}: ${e.message}`);
    return 1;
  }
  const name = check.manifest.cluster.metadata.name;
  if (!(await ctx.store.exists(name))) {
    io.err(`cluster "${name}" not found: use create for a new cluster`);
    return 1;
  }
  const running = await runningControlPlaneVersion(name, await ctx.store.readManifest(name), ctx);
  const code = await writeSpec(check.manifest, running, ctx, io);
  if (code === 0)
    io.out(
      `Replaced the spec of cluster "${name}"; apply it with: kopsless update cluster ${name} --yes`,
    );
  return code;
}

/** Sets `a.b[0].c=value` in an object; the value is read as YAML (numbers, booleans, lists). */
export function setPath(target: Record<string, any>, path: string, raw: string): void {
  const parts = path.match(/[^.[\]]+/g);
  if (!parts || parts.length === 0) throw new UsageError(`"${path}" is not a field path`);
  // These names reach Object.prototype instead of a field of the spec.
  if (parts.some((part) => ['__proto__', 'constructor', 'prototype'].includes(part)))
    throw new UsageError(`"${path}" is not a field path`);
  let node: any = target;
  parts.slice(0, -1).forEach((part, i) => {
    const nextIsIndex = /^\d+$/.test(parts[i + 1]!);
    // Own properties only: "hasOwnProperty" or "toString" must become a new (unsupported) field,
    // not lead into Object.prototype's function of that name.
    if (!Object.hasOwn(node, part) || node[part] === undefined || node[part] === null)
      node[part] = nextIsIndex ? [] : {};
    if (typeof node[part] !== 'object' || node[part] === null) {
      throw new UsageError(
        `cannot set "${path}": ${parts.slice(0, i + 1).join('.')} holds ${JSON.stringify(node[part])}, not a mapping or a list`,
      );
    }
    node = node[part];
  });
  node[parts[parts.length - 1]!] =
    raw === '' ? undefined : TEXT_FIELDS.has(path) ? raw : parseValue(path, raw);
}

/**
 * Fields whose value is taken as the text given: kOps's `set` fills a string field with the text,
 * and read as YAML `1.34` would become the number 1.34, not the version kOps reads as 1.34.0.
 */
const TEXT_FIELDS = new Set(['spec.kubernetesVersion']);

/** A FIELD=VALUE value as YAML, one plain value: no aliases, no documents beyond the first. */
function parseValue(path: string, raw: string): unknown {
  const doc = parseDocument(raw, { uniqueKeys: true, resolveKnownTags: false });
  const error = doc.errors[0];
  if (error)
    throw new UsageError(`the value of ${path} is not valid YAML: ${error.message.split('\n')[0]}`);
  try {
    return doc.toJS({ maxAliasCount: 0 });
  } catch (error) {
    // maxAliasCount 0: a value on the command line has no use for aliases, and no bomb gets through.
    throw new UsageError(
      `the value of ${path} cannot hold YAML aliases (${(error as Error).message})`,
    );
  }
}

/** `kopsless set instancegroup IG spec.machineType=m5.large --name CLUSTER` (and `set cluster`). */
export async function runSet(
  kind: 'cluster' | 'instancegroup',
  target: string | undefined,
  assignments: string[],
  cluster: string | undefined,
  ctx: CliContext,
  io: Io,
): Promise<number> {
  if (!cluster) throw new UsageError('--name is required: the cluster to change');
  if (assignments.length === 0)
    throw new UsageError('give at least one FIELD=VALUE (for example spec.machineType=m5.large)');
  if (!(await ctx.store.exists(cluster))) {
    io.err(`cluster "${cluster}" not found`);
    return 1;
  }
  const manifest = await ctx.store.readManifest(cluster);
  const running = await runningControlPlaneVersion(cluster, manifest, ctx);
  const object =
    kind === 'cluster'
      ? manifest.cluster
      : manifest.instanceGroups.find((ig) => ig.metadata.name === target);
  if (!object) {
    io.err(`instance group "${target}" not found in cluster "${cluster}"`);
    return 1;
  }
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new UsageError(`"${assignment}" is not FIELD=VALUE`);
    const path = assignment.slice(0, eq);
    if (!path.startsWith('spec.'))
      throw new UsageError(`only spec fields can be set, not "${path}"`);
    setPath(object as Record<string, any>, path, assignment.slice(eq + 1));
  }
  const code = await writeSpec(
    JSON.parse(JSON.stringify(manifest)) as ClusterManifest,
    running,
    ctx,
    io,
  );
  if (code === 0)
    io.out(
      `Updated ${kind === 'cluster' ? `cluster "${cluster}"` : `instance group "${target}" of cluster "${cluster}"`}; apply it with: kopsless update cluster ${cluster} --yes`,
    );
  return code;
}
