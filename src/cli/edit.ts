import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { FieldIssue } from '../errors.js';
import type { ClusterManifest } from '../manifest/types.js';
import { runningControlPlaneVersion } from '../stages/control-plane-version.js';
import type { CliContext } from './context.js';
import { toYaml } from './format.js';
import { checkChangedSpec, writeCheckedSpec } from './update.js';
import { type Io, UsageError } from './usage-error.js';

/** What `edit` opens: the Cluster, or one of its InstanceGroups. */
export interface EditTarget {
  cluster: string;
  instanceGroup?: string;
}

const HEADER = [
  '# Edit the object below and save to apply it to the state store; lines starting with "#"',
  '# are ignored, and an empty file cancels. When the result is invalid this file opens again',
  '# with the problems listed here. Apply saved changes with: kopsless update cluster --yes',
];

/** The editor kOps opens: $KUBE_EDITOR, then $EDITOR, then vi. */
export function editorCommand(env: Record<string, string | undefined> = process.env): string {
  return env.KUBE_EDITOR || env.EDITOR || 'vi';
}

/** The file's text without comment lines: what the user means. */
function withoutComments(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .trim();
}

/** Opens the editor on a file and waits for it; the command may carry arguments (`code -w`). */
function openEditor(editor: string, file: string): void {
  const result = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, 'kopsless-edit', file], {
    stdio: 'inherit',
  });
  if (result.error)
    throw new UsageError(`cannot run the editor "${editor}": ${result.error.message}`);
  if (result.status !== 0)
    throw new UsageError(
      `the editor "${editor}" exited with ${result.status ?? result.signal}: nothing was changed`,
    );
}

/**
 * The manifest with the edited object in place of the original, or the problems that keep it
 * out: YAML that does not parse, another kind, a renamed object.
 */
function applyEdit(
  manifest: ClusterManifest,
  target: EditTarget,
  text: string,
): { manifest: ClusterManifest } | { issues: FieldIssue[] } {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0)
    return {
      issues: doc.errors.map((e) => ({ path: 'YAML', message: e.message.split('\n')[0]! })),
    };
  let object: unknown;
  try {
    object = doc.toJS({ maxAliasCount: 0 });
  } catch (error) {
    return { issues: [{ path: 'YAML', message: (error as Error).message }] };
  }
  const kind = target.instanceGroup ? 'InstanceGroup' : 'Cluster';
  const name = target.instanceGroup ?? target.cluster;
  const edited = object as { kind?: unknown; metadata?: { name?: unknown } } | null;
  if (typeof edited !== 'object' || edited === null || edited.kind !== kind)
    return { issues: [{ path: 'kind', message: `must stay ${kind}` }] };
  if (edited.metadata?.name !== name)
    return { issues: [{ path: 'metadata.name', message: `cannot be changed (it is "${name}")` }] };
  if (!target.instanceGroup)
    return { manifest: { ...manifest, cluster: edited as ClusterManifest['cluster'] } };
  return {
    manifest: {
      ...manifest,
      instanceGroups: manifest.instanceGroups.map((ig) =>
        ig.metadata.name === name ? (edited as ClusterManifest['instanceGroups'][number]) : ig,
      ),
    },
  };
}

/**
 * `kopsless edit cluster` / `edit ig NAME`: the object's YAML in the user's editor, checked as
 * `set` checks a change, reopened with its problems until it is valid or left unchanged; nothing
 * invalid is written.
 */
export async function runEdit(
  target: EditTarget,
  ctx: CliContext,
  io: Io,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  if (!(await ctx.store.exists(target.cluster))) {
    io.err(`cluster "${target.cluster}" not found`);
    return 1;
  }
  const manifest = await ctx.store.readManifest(target.cluster);
  const object = target.instanceGroup
    ? manifest.instanceGroups.find((ig) => ig.metadata.name === target.instanceGroup)
    : manifest.cluster;
  if (!object) {
    io.err(`instance group "${target.instanceGroup}" not found in cluster "${target.cluster}"`);
    return 1;
  }
  const running = await runningControlPlaneVersion(target.cluster, manifest, ctx);
  const original = toYaml(object);
  const editor = editorCommand(env);
  const dir = mkdtempSync(join(tmpdir(), 'kopsless-edit-'));
  const file = join(dir, `${target.instanceGroup ?? target.cluster}.yaml`);
  let keepEdits = false;
  try {
    let body = original;
    let problems: string[] = [];
    let lastRejected: string | undefined;
    for (;;) {
      writeFileSync(file, `${[...HEADER, ...problems].join('\n')}\n${body}`, { mode: 0o600 });
      openEditor(editor, file);
      const edited = withoutComments(readFileSync(file, 'utf8'));
      if (edited === '' || edited === original.trim()) {
        io.out('Edit cancelled: no changes made.');
        return 0;
      }
      const result = applyEdit(manifest, target, edited);
      const verdict =
        'manifest' in result ? checkChangedSpec(result.manifest, running) : { code: 1, ...result };
      if ('check' in verdict) {
        await writeCheckedSpec(verdict.check.manifest, verdict.check.completed, ctx);
        io.out(
          `Updated ${target.instanceGroup ? `instance group "${target.instanceGroup}" of ` : ''}cluster "${target.cluster}"; apply it with: kopsless update cluster --name ${target.cluster} --yes`,
        );
        return 0;
      }
      // Saved again with the same problems: the user gave up on fixing them.
      if (edited === lastRejected) {
        for (const issue of verdict.issues) io.err(`${issue.path}: ${issue.message}`);
        io.err(`the spec was not changed; your edits are in ${file}`);
        keepEdits = true;
        return verdict.code;
      }
      lastRejected = edited;
      body = `${edited}\n`;
      problems = [
        '#',
        '# The edited object was not saved:',
        ...verdict.issues.map((issue) => `#   ${issue.path}: ${issue.message}`),
        '#',
      ];
    }
  } finally {
    if (!keepEdits) rmSync(dir, { recursive: true, force: true });
  }
}
