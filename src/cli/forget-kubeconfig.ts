import { existsSync, readFileSync, statSync } from 'node:fs';
import { type Document, isMap, isSeq, parseDocument } from 'yaml';
import type { Kubeconfig } from './export-kubeconfig.js';
import { writeKubeconfigFile } from './kubeconfig-file.js';

type Section = 'contexts' | 'clusters' | 'users';
const SECTIONS: Section[] = ['contexts', 'clusters', 'users'];

/** What is removed for a deleted cluster: the positions of entries in each list, and the current context. */
interface Forgotten {
  positions: Record<Section, number[]>;
  currentContext: boolean;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The entries of a section that are objects, with their positions; anything else is not kopsless's. */
function entriesOf(kubeconfig: Record<string, unknown>, section: Section) {
  const list = kubeconfig[section];
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry, position) => (isRecord(entry) ? [{ entry, position }] : []));
}

/**
 * The entries `export kubeconfig` wrote for `cluster`: its context, and its cluster and user
 * entries unless a context that stays still uses them; the current context when it was that one
 * (as kOps does when it deletes a cluster). Undefined when nothing is to go.
 */
function forgotten(kubeconfig: Record<string, unknown>, cluster: string): Forgotten | undefined {
  const contexts = entriesOf(kubeconfig, 'contexts');
  const staying = contexts
    .filter(({ entry }) => entry.name !== cluster)
    .map(({ entry }) => (isRecord(entry.context) ? entry.context : {}));
  const usedAs = (field: 'cluster' | 'user') => new Set(staying.map((c) => c[field]));
  const still = {
    contexts: new Set<unknown>(),
    clusters: usedAs('cluster'),
    users: usedAs('user'),
  };
  const positions = Object.fromEntries(
    SECTIONS.map((section) => [
      section,
      entriesOf(kubeconfig, section)
        .filter(({ entry }) => entry.name === cluster && !still[section].has(cluster))
        .map(({ position }) => position),
    ]),
  ) as Record<Section, number[]>;
  const currentContext = kubeconfig['current-context'] === cluster;
  const any = currentContext || SECTIONS.some((s) => positions[s].length > 0);
  return any ? { positions, currentContext } : undefined;
}

/**
 * `kubeconfig` without what `export kubeconfig` wrote for `cluster` (see `forgotten`). Everything
 * else is kept as it was; undefined when nothing names the cluster.
 */
export function withoutCluster(kubeconfig: Kubeconfig, cluster: string): Kubeconfig | undefined {
  const gone = forgotten(kubeconfig, cluster);
  if (!gone) return undefined;
  const kept: Kubeconfig = { ...kubeconfig };
  for (const section of SECTIONS) {
    const list = kubeconfig[section];
    if (Array.isArray(list))
      kept[section] = list.filter((_, position) => !gone.positions[section].includes(position));
  }
  if (gone.currentContext) delete kept['current-context'];
  return kept;
}

/** The same removal on the parsed file, so its comments, quoting and order stay as they were. */
function forgetInDocument(doc: Document, gone: Forgotten): void {
  for (const section of SECTIONS) {
    const list = doc.get(section);
    if (!isSeq(list)) continue;
    for (const position of [...gone.positions[section]].sort((x, y) => y - x))
      list.items.splice(position, 1);
  }
  if (gone.currentContext) doc.delete('current-context');
}

/**
 * Removes the deleted `cluster` from the kubeconfig file at `path`, keeping its mode, comments and
 * quoting (read and written as YAML 1.1, as kubectl reads it). Answers whether the file named it;
 * a file that is absent or not a kubeconfig is left untouched.
 */
export function forgetClusterInKubeconfig(path: string, cluster: string): boolean {
  if (!existsSync(path)) return false;
  const doc = parseDocument(readFileSync(path, 'utf8'), { version: '1.1' });
  if (doc.errors.length > 0 || !isMap(doc.contents)) return false;
  const gone = forgotten(doc.toJS() as Record<string, unknown>, cluster);
  if (!gone) return false;
  forgetInDocument(doc, gone);
  writeKubeconfigFile(path, doc.toString(), statSync(path).mode & 0o777);
  return true;
}
