import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import { readFixture, readReference, referenceManifests } from '../helpers.js';

/**
 * Arbitrary mutations of real manifests (the test fixtures and kOps's own outputs), for fuzz
 * tests: values replaced by odd values and odd types, keys deleted or duplicated, documents
 * dropped or repeated, and text-level damage (anchors and aliases, deep nesting, stray bytes,
 * truncation). Each generated case is the manifest text and a label saying what was done.
 */

type Json = unknown;

/** The base manifests, as lists of plain documents. */
export function baseManifests(): Array<{ name: string; docs: Json[] }> {
  const texts: Array<[string, string]> = [
    ['seed.yaml', readFixture('seed.yaml')],
    ['minimal-aws.yaml', readFixture('minimal-aws.yaml')],
    ...referenceManifests().map((name): [string, string] => [name, readReference(name)]),
  ];
  return texts.map(([name, text]) => ({
    name,
    docs: parseAllDocuments(text)
      .map((d) => d.toJS() as Json)
      .filter((d) => d !== null),
  }));
}

/** Scalars that YAML, JSON and kOps read in surprising ways. */
const oddScalar = fc.constantFrom<Json>(
  '',
  ' ',
  '~',
  'null',
  'yes',
  'no',
  'on',
  'NO',
  '0x1F',
  '0o17',
  '.nan',
  '-.inf',
  '1e400',
  '-0',
  '08',
  '1_000',
  '2001-12-14',
  '${HOME}',
  '$(touch /tmp/p)',
  '`id`',
  'a\'b"c',
  'a\nb',
  '\t',
  '\u0000',
  '\u202e',
  '🙂',
  'x'.repeat(300),
  -1,
  0,
  2 ** 53 + 1,
  1.5,
  -0.0,
  true,
  false,
  null,
);

/** Any value a mutation may write: odd scalars, arbitrary JSON, or a container of either. */
const anyValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: oddScalar },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.array(oddScalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), oddScalar, { maxKeys: 3 }) },
);

/** The paths of every value in a value (as key lists), the root included. */
function paths(
  value: Json,
  prefix: Array<string | number> = [],
  out: Array<Array<string | number>> = [],
): Array<Array<string | number>> {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function parentOf(
  root: Json,
  path: Array<string | number>,
): { parent: any; key: string | number } | undefined {
  if (path.length === 0) return undefined;
  let node: any = root;
  for (const part of path.slice(0, -1)) node = node?.[part];
  return node && typeof node === 'object'
    ? { parent: node, key: path[path.length - 1]! }
    : undefined;
}

type Mutation =
  | { op: 'set'; at: number; value: Json }
  | { op: 'delete'; at: number }
  | { op: 'wrap'; at: number; how: 'array' | 'string' | 'object' }
  | { op: 'dropDoc'; at: number }
  | { op: 'repeatDoc'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: anyValue }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('wrap' as const),
      at: fc.nat(),
      how: fc.constantFrom('array' as const, 'string' as const, 'object' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dropDoc' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('repeatDoc' as const), at: fc.nat() }) },
);

function apply(docs: Json[], m: Mutation): Json[] {
  // Earlier mutations may have dropped every document: nothing is left to mutate.
  if (docs.length === 0) return docs;
  if (m.op === 'dropDoc') return docs.filter((_, i) => i !== m.at % docs.length);
  if (m.op === 'repeatDoc') return [...docs, structuredClone(docs[m.at % docs.length])];
  const root = { docs };
  const all = paths(root).filter((p) => p.length >= 2);
  if (all.length === 0) return docs;
  const target = parentOf(root, all[m.at % all.length]!);
  if (!target) return docs;
  const { parent, key } = target;
  if (m.op === 'set') parent[key] = structuredClone(m.value);
  else if (m.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else if (m.how === 'array') parent[key] = [parent[key]];
  else if (m.how === 'string') parent[key] = JSON.stringify(parent[key]) ?? '';
  else parent[key] = { value: parent[key] };
  return root.docs;
}

type TextDamage =
  | { op: 'duplicateLine'; at: number }
  | { op: 'deleteLine'; at: number }
  | { op: 'anchorAlias'; at: number; to: number }
  | { op: 'aliasBomb' }
  | { op: 'deepNesting'; depth: number; flow: boolean }
  | { op: 'insert'; at: number; text: string }
  | { op: 'truncate'; at: number }
  | { op: 'asJson'; form: 'array' | 'list' | 'documents' };

const textDamage: fc.Arbitrary<TextDamage> = fc.oneof(
  fc.record({ op: fc.constant('duplicateLine' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('deleteLine' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('anchorAlias' as const), at: fc.nat(), to: fc.nat() }),
  fc.constant({ op: 'aliasBomb' as const }),
  fc.record({
    op: fc.constant('deepNesting' as const),
    depth: fc.integer({ min: 50, max: 3000 }),
    flow: fc.boolean(),
  }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.constantFrom(
        '\u0000',
        '\uFEFF',
        '\t',
        '%',
        '&a ',
        '*a ',
        '!!binary ',
        '<<: ',
        '---\n',
        '...\n',
        '? ',
        '{',
        ']',
        '"',
        "'",
        '\r\n',
        '#',
      ),
      fc.string({ unit: 'binary', maxLength: 8 }),
    ),
  }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('asJson' as const),
    form: fc.constantFrom('array' as const, 'list' as const, 'documents' as const),
  }),
);

function damage(docs: Json[], text: string, d: TextDamage): string {
  const lines = text.split('\n');
  const pick = (n: number) => n % Math.max(lines.length, 1);
  switch (d.op) {
    case 'duplicateLine':
      lines.splice(pick(d.at), 0, lines[pick(d.at)] ?? '');
      return lines.join('\n');
    case 'deleteLine':
      lines.splice(pick(d.at), 1);
      return lines.join('\n');
    case 'anchorAlias': {
      // An anchor on one mapping value and an alias to it on another (possibly inside it).
      const values = lines
        .map((l, i) => [l, i] as const)
        .filter(([l]) => /^\s*[\w.-]+:\s*\S/.test(l));
      if (values.length === 0) return text;
      const [from, i] = values[d.at % values.length]!;
      const [to, j] = values[d.to % values.length]!;
      lines[i] = from.replace(/:\s*/, ': &x ');
      lines[j] = to.replace(/:\s*.*$/, ': *x');
      return lines.join('\n');
    }
    case 'aliasBomb':
      return `${text}\n---\na: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n`;
    case 'deepNesting':
      return d.flow
        ? text.replace(/^(\s*)(\w+):.*$/m, `$1$2: ${'['.repeat(d.depth)}${']'.repeat(d.depth)}`)
        : `${text}\n${Array.from({ length: Math.min(d.depth, 300) }, (_, k) => `${' '.repeat(k)}k:`).join('\n')}\n`;
    case 'insert': {
      const at = d.at % (text.length + 1);
      return text.slice(0, at) + d.text + text.slice(at);
    }
    case 'truncate':
      return text.slice(0, d.at % (text.length + 1));
    case 'asJson':
      if (d.form === 'array') return JSON.stringify(docs);
      if (d.form === 'list') return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs });
      return docs.map((doc) => JSON.stringify(doc)).join('\n---\n');
  }
}

export interface MutatedManifest {
  text: string;
  label: string;
}

/** A mutated manifest: a base, up to four value mutations, then up to two kinds of text damage. */
export function mutatedManifest(): fc.Arbitrary<MutatedManifest> {
  const bases = baseManifests();
  return fc
    .record({
      base: fc.nat({ max: bases.length - 1 }),
      mutations: fc.array(mutation, { maxLength: 4 }),
      damages: fc.array(textDamage, { maxLength: 2 }),
    })
    .map(({ base, mutations, damages }) => {
      let docs = structuredClone(bases[base]!.docs);
      for (const m of mutations) docs = apply(docs, m);
      let text = docs.map((doc) => stringify(doc, { lineWidth: 0 })).join('---\n');
      for (const d of damages) text = damage(docs, text, d);
      return {
        text,
        label: `${bases[base]!.name} ${JSON.stringify(mutations).slice(0, 300)} ${JSON.stringify(damages).slice(0, 200)}`,
      };
    });
}
