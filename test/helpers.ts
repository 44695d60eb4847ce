import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The shared, read-only reference inputs (real kOps manifests, the VPC CNI table); beside the
 * checkout, or where KOPSLESS_REFERENCE_DIR says (a git worktree lives elsewhere).
 */
export const REFERENCE_DIR =
  process.env.KOPSLESS_REFERENCE_DIR ?? join(ROOT, '..', 'shared', 'reference');

export function referenceManifests(): string[] {
  return readdirSync(join(REFERENCE_DIR, 'kops-manifests'))
    .filter((f) => f.endsWith('.yaml'))
    .sort();
}

export function readReference(name: string): string {
  return readFileSync(join(REFERENCE_DIR, 'kops-manifests', name), 'utf8');
}

export function readFixture(name: string): string {
  return readFileSync(join(ROOT, 'test', 'fixtures', name), 'utf8');
}

type Doc = Record<string, any>;

/** Parses a manifest, lets `edit` change its documents, and writes it back as YAML. */
export function editManifest(
  text: string,
  edit: (cluster: Doc, groups: Map<string, Doc>) => void,
): string {
  const docs = parseAllDocuments(text)
    .map((d) => d.toJS() as Doc)
    .filter(Boolean);
  const cluster = docs.find((d) => d.kind === 'Cluster')!;
  const groups = new Map(
    docs.filter((d) => d.kind === 'InstanceGroup').map((d) => [d.metadata.name as string, d]),
  );
  edit(cluster, groups);
  return [cluster, ...groups.values()].map((d) => stringify(d)).join('---\n');
}
