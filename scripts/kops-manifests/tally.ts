import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { checkExitCode, checkManifest } from '../../src/manifest/check.js';

/**
 * `kopsless check` over the AWS manifests of kOps's integration tests: which exit 0, and which
 * settings keep the rest from being built. Pure apart from reading the files.
 */

/** One manifest's verdict: its exit code and the setting paths `check` names as unsupported. */
export interface ManifestVerdict {
  file: string;
  exitCode: number;
  /** Unsupported paths, generalised by {@link blockerKey}, without repeats. */
  blockers: string[];
  errors: string[];
}

/** One row of the blocker table. */
export interface BlockerRow {
  blocker: string;
  /** Manifests that name it. */
  manifests: number;
  /** Manifests that name nothing else: lifting it alone makes them exit 0. */
  alone: number;
}

export interface Tally {
  total: number;
  byExitCode: Record<number, number>;
  blockers: BlockerRow[];
  verdicts: ManifestVerdict[];
}

/**
 * The AWS manifests under `dir` (a kOps checkout or its tests/integration): every
 * `*v1alpha2.yaml` whose cluster says `cloudProvider: aws`, as kOps's own tests read them.
 */
export function awsIntegrationManifests(dir: string): string[] {
  const root = existsSync(join(dir, 'tests', 'integration'))
    ? join(dir, 'tests', 'integration')
    : dir;
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((name) => {
      const path = join(d, name);
      if (statSync(path).isDirectory()) return walk(path);
      return name.endsWith('v1alpha2.yaml') ? [path] : [];
    });
  return walk(root)
    .filter((path) => /^\s*cloudProvider: aws\s*$/m.test(readFileSync(path, 'utf8')))
    .sort();
}

/**
 * A field path with what varies between manifests taken out: list indices become `[]`, instance
 * group names `[*]`, map keys under labels and env stay out, so one setting counts once per file.
 */
export function blockerKey(path: string): string {
  return path
    .replace(/^instanceGroups\[[^\]]*\]/, 'instanceGroups[*]')
    .replace(/^documents\[\d+\]/, 'documents[]')
    .replace(/\[\d+\]/g, '[]')
    .replace(/\.(nodeLabels|cloudLabels|env)\..*$/, '.$1');
}

/** Checks one manifest text as `kopsless check` does and names what keeps it from exit 0. */
export function verdictOf(file: string, text: string): ManifestVerdict {
  const check = checkManifest(text);
  return {
    file,
    exitCode: checkExitCode(check),
    blockers: [...new Set(check.unsupported.map((u) => blockerKey(u.path)))].sort(),
    errors: check.errors.map((e) => `${e.path}: ${e.message}`),
  };
}

/** Counts the verdicts: exit codes, and per blocker the manifests it keeps (alone or with others). */
export function tally(verdicts: ManifestVerdict[]): Tally {
  const byExitCode: Record<number, number> = {};
  const rows = new Map<string, BlockerRow>();
  for (const v of verdicts) {
    byExitCode[v.exitCode] = (byExitCode[v.exitCode] ?? 0) + 1;
    for (const blocker of v.blockers) {
      const row = rows.get(blocker) ?? { blocker, manifests: 0, alone: 0 };
      row.manifests += 1;
      if (v.blockers.length === 1) row.alone += 1;
      rows.set(blocker, row);
    }
  }
  return {
    total: verdicts.length,
    byExitCode,
    blockers: [...rows.values()].sort(
      (a, b) => b.manifests - a.manifests || a.blocker.localeCompare(b.blocker),
    ),
    verdicts,
  };
}

/**
 * How many manifests would exit 0 if every blocker matching one of `lifted` were built: those
 * valid today whose blockers all match. A projection from `check`'s own findings, not a build.
 */
export function exitZeroIfLifted(verdicts: ManifestVerdict[], lifted: RegExp[]): number {
  return verdicts.filter(
    (v) => v.exitCode !== 1 && v.blockers.every((b) => lifted.some((re) => re.test(b))),
  ).length;
}

/** Checks every AWS manifest under `dir`; file names are relative to it. */
export function checkDirectory(dir: string): ManifestVerdict[] {
  return awsIntegrationManifests(dir).map((path) =>
    verdictOf(relative(dir, path), readFileSync(path, 'utf8')),
  );
}
