import { isAlias, isCollection, isMap, isPair, isScalar, LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { FieldIssue } from '../errors.js';
import { field } from './field.js';
import { API_VERSION, type Cluster, type ClusterManifest, type InstanceGroup } from './types.js';

export interface ParseResult {
  /** Undefined when the file holds no usable Cluster document. */
  manifest?: ClusterManifest;
  errors: FieldIssue[];
  unsupported: FieldIssue[];
}

/** Path prefix under which an instance group's own fields are reported. */
export function igPath(name: string, rest = ''): string {
  return `instanceGroups[${name}]${rest ? `.${rest}` : ''}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Bounds on what a manifest may be, so that hostile input costs bounded time and memory and is
 * refused with a message rather than a crash. Real kOps manifests are a few KiB and about eight
 * levels deep; the API's body limit (256 KiB) is tighter still.
 */
export const MANIFEST_LIMITS = {
  /** Bytes of text; time is about linear in it (scripts/bench-check.mjs measures 5 MB inputs). */
  maxBytes: 8 * 1024 * 1024,
  /** Nesting of mappings and sequences, counted on the YAML before aliases expand. */
  maxDepth: 64,
  /** The `yaml` library's guard against alias expansion ("billion laughs"). */
  maxAliasCount: 100,
  /** Values in a document once aliases expand (each alias counts its whole anchor again). */
  maxValues: 2_000_000,
  /**
   * Lines of YAML (JSON text takes the JSON parser, many times faster, and has no such bound).
   * The YAML parser costs about 15 µs a line of small mappings: 50,000 lines stay under a second,
   * while 5 MB of one-line subnets (325,000 lines) took 5 CPU seconds. A real manifest has a few
   * hundred lines; long values (user data, comments) cost bytes, not lines.
   */
  maxYamlLines: 50_000,
} as const;

/** Where whole-text problems (size, encoding) are reported. */
const TEXT_PATH = 'manifest';

/**
 * The text of a manifest given as bytes: refused unless it is UTF-8 (a leading BOM is dropped).
 * Decoding replaces nothing, so a binary file is named as such instead of read as mojibake.
 */
export function decodeManifest(bytes: Uint8Array): { text: string } | { error: FieldIssue } {
  if (bytes.byteLength > MANIFEST_LIMITS.maxBytes) return { error: tooLarge() };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { error: field.invalid(TEXT_PATH, '<bytes>', 'the manifest is not UTF-8 text (binary data?): give a kOps manifest in YAML or JSON') };
  }
}

function tooLarge(): FieldIssue {
  return field.forbidden(TEXT_PATH, `the manifest is over the limit of ${MANIFEST_LIMITS.maxBytes} bytes (${MANIFEST_LIMITS.maxBytes / 1024 / 1024} MiB)`);
}

/** Whole-text checks before the YAML parser sees it: size, and NUL (binary data, never YAML). */
function textIssue(text: string): FieldIssue | undefined {
  // UTF-8 takes 1 to 3 bytes per UTF-16 unit: count the bytes only when the length cannot tell.
  if (text.length > MANIFEST_LIMITS.maxBytes / 3) {
    if (Buffer.byteLength(text) > MANIFEST_LIMITS.maxBytes) return tooLarge();
  }
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const line = text.slice(0, nul).split('\n').length;
    return field.invalid(TEXT_PATH, '<binary>', `a NUL character at line ${line}: the manifest must be YAML or JSON text`);
  }
  return undefined;
}

function tooDeep(where: string): FieldIssue {
  return field.forbidden(where, `nesting deeper than ${MANIFEST_LIMITS.maxDepth} levels of mappings and sequences`);
}

/** How a repeated mapping key is refused, in YAML and JSON alike (JSON is YAML). */
function duplicateKey(where: string, key: string, line: number, column: number): FieldIssue {
  return { path: where, message: `YAML syntax error at line ${line}: Map keys must be unique: ${JSON.stringify(key)} is repeated at line ${line}, column ${column}` };
}

/**
 * The key a mapping entry gets once converted to a JavaScript object (every scalar becomes its
 * string form, so `1` and `"1"` are one key there), or undefined for a key that is not a scalar.
 */
function scalarKey(key: unknown, doc: Document.Parsed): string | undefined {
  const node = isAlias(key) ? key.resolve(doc) : key;
  if (!isScalar(node)) return undefined;
  return String(node.value);
}

/**
 * The first structural problem of a parsed YAML document that would make converting it costly,
 * unsafe or ambiguous: nesting over the limit, a mapping key that is itself a mapping or a
 * sequence, or a key repeated in one mapping. Walks the syntax tree without recursion, so depth
 * cannot overflow the stack here; keys are checked with one Set per mapping, so the walk stays
 * linear (the parser's own `uniqueKeys` compares each key with every earlier one: 20,000 keys in
 * one mapping took 20 s).
 */
function structureIssue(doc: Document.Parsed, where: string, lines: LineCounter): FieldIssue | undefined {
  const stack: Array<{ node: unknown; depth: number }> = [{ node: doc.contents, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (!isCollection(node)) continue;
    if (depth + 1 > MANIFEST_LIMITS.maxDepth) {
      return tooDeep(where);
    }
    const keys = isMap(node) ? new Set<string>() : undefined;
    for (const item of node.items as unknown[]) {
      if (isPair(item)) {
        if (isCollection(item.key)) return field.invalid(where, '<mapping key>', 'a mapping key must be a scalar, not a mapping or a sequence');
        const key = keys ? scalarKey(item.key, doc) : undefined;
        if (key !== undefined) {
          if (keys!.has(key)) {
            const offset = (item.key as { range?: [number, number, number] }).range?.[0] ?? 0;
            const { line, col } = lines.linePos(offset);
            return duplicateKey(where, key, line, col);
          }
          keys!.add(key);
        }
        stack.push({ node: item.value, depth: depth + 1 });
      } else {
        stack.push({ node: item, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

/**
 * The first problem of a value once aliases have expanded: one that refers back to a node that
 * contains it (`a: &x [*x]`, an infinite document), or nesting over the limit (an alias placed
 * deep inside can carry a deep anchor deeper still). Either would overflow every later walk.
 */
function expandedIssue(value: unknown, where: string, afterAliases: boolean): FieldIssue | undefined {
  // Depth-first with an explicit stack; `exit` entries take a node off the current path.
  const onPath = new Set<object>();
  const stack: Array<{ value: unknown; exit?: boolean }> = [{ value }];
  let values = 0;
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (typeof top.value !== 'object' || top.value === null) continue;
    if (top.exit) {
      onPath.delete(top.value);
      continue;
    }
    if (onPath.has(top.value)) return field.forbidden(where, 'a YAML alias refers to a node that contains it (the document would be infinite)');
    if (onPath.size >= MANIFEST_LIMITS.maxDepth) return afterAliases ? field.forbidden(where, `nesting deeper than ${MANIFEST_LIMITS.maxDepth} levels once YAML aliases expand`) : tooDeep(where);
    onPath.add(top.value);
    stack.push({ value: top.value, exit: true });
    const children = Object.values(top.value);
    values += children.length;
    if (values > MANIFEST_LIMITS.maxValues) return field.forbidden(where, `more than ${MANIFEST_LIMITS.maxValues} values once YAML aliases expand`);
    for (const child of children) stack.push({ value: child });
  }
  return undefined;
}

/** One document to read, with the path its problems are reported under. */
interface Entry {
  value: unknown;
  where: string;
}

/**
 * The documents a value holds: itself, or the items of a JSON array or of a `kind: List` (as
 * `kubectl get -o json` writes several objects), so a file holds the same manifest whichever
 * way it was written.
 */
function entries(value: unknown, where: string, issues: FieldIssue[]): Entry[] {
  if (Array.isArray(value)) return value.map((item, i) => ({ value: item, where: `${where}[${i}]` }));
  if (isObject(value) && value.kind === 'List') {
    if (!Array.isArray(value.items)) {
      issues.push(field.required(`${where}.items`, 'a List holds its documents in items'));
      return [];
    }
    return value.items.map((item, i) => ({ value: item, where: `${where}.items[${i}]` }));
  }
  return [{ value, where }];
}

/**
 * The first key repeated within one object of a JSON text that `JSON.parse` has accepted (it
 * silently keeps the last of them), with its offset; one pass, one Set per open object. Keys are
 * compared once unescaped, so `"a"` and `"\u0061"` are one key, as they are once parsed.
 */
function jsonDuplicateKey(text: string): { key: string; offset: number } | undefined {
  // One frame per open container: the keys of an object (null for an array), and whether the
  // next string in it is a key.
  const frames: Array<{ keys: Set<string> | null; expectKey: boolean }> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escaped = true;
          i++;
        } else if (d === 0x22) break;
      }
      const frame = frames.at(-1);
      if (frame?.keys && frame.expectKey) {
        const raw = text.slice(start, i + 1);
        const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (frame.keys.has(key)) return { key, offset: start };
        frame.keys.add(key);
        frame.expectKey = false;
      }
    } else if (c === 0x7b /* { */) frames.push({ keys: new Set(), expectKey: true });
    else if (c === 0x5b /* [ */) frames.push({ keys: null, expectKey: false });
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) frames.pop();
    else if (c === 0x2c /* , */) {
      const frame = frames.at(-1);
      if (frame?.keys) frame.expectKey = true;
    }
  }
  return undefined;
}

/** Line and column (both from 1) of an offset in a text. */
function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * A text that is one JSON value, read with the JSON parser (many times faster than the YAML
 * parser on large input); undefined for anything else, which the YAML parser then reads (JSON is
 * YAML, so a JSON syntax error is reported there, with its line).
 */
function readJson(text: string, issues: FieldIssue[]): Entry[] | undefined {
  if (!/^\s*[[{]/.test(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const where = 'documents[0]';
  const duplicate = jsonDuplicateKey(text);
  if (duplicate) {
    const { line, column } = position(text, duplicate.offset);
    issues.push(duplicateKey(where, duplicate.key, line, column));
    return [];
  }
  // JSON has no aliases, but it can nest: the same depth limit as YAML.
  const expanded = expandedIssue(value, where, false);
  if (expanded) {
    issues.push(expanded);
    return [];
  }
  return entries(value, where, issues);
}

/** The YAML documents of a text, each checked for the limits before and after aliases expand. */
/** More lines that hold YAML than the limit allows? Blank and comment lines cost the parser next to nothing. */
function yamlLinesOverLimit(text: string): boolean {
  let count = 0;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let first = start;
    while (first < end && (text.charCodeAt(first) === 32 || text.charCodeAt(first) === 9 || text.charCodeAt(first) === 13)) first++;
    if (first < end && text.charCodeAt(first) !== 35 /* # */ && ++count > MANIFEST_LIMITS.maxYamlLines) return true;
    start = end + 1;
  }
  return false;
}

function readYaml(text: string, issues: FieldIssue[]): Entry[] {
  if (yamlLinesOverLimit(text)) {
    issues.push(field.forbidden(TEXT_PATH, `the manifest is over the limit of ${MANIFEST_LIMITS.maxYamlLines} lines of YAML (blank and comment lines aside; a kOps manifest has a few hundred, and JSON has no line limit)`));
    return [];
  }
  // resolveKnownTags off: !!binary, !!set, !!timestamp stay plain data instead of Buffers and Dates.
  // uniqueKeys off: structureIssue refuses repeated keys in linear time (see there).
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: false, resolveKnownTags: false, lineCounter: lines });
  const values: Entry[] = [];
  if (!Array.isArray(docs)) return values;
  docs.forEach((doc, index) => {
    const where = `documents[${index}]`;
    for (const error of doc.errors) {
      // The parser catches its own stack overflow and reports it as a syntax error: say what it means.
      if (error.message.includes('Maximum call stack size exceeded')) {
        issues.push(tooDeep(where));
        break;
      }
      const line = error.linePos?.[0]?.line;
      issues.push({ path: where, message: `YAML syntax error${line ? ` at line ${line}` : ''}: ${error.message.split('\n')[0]}` });
    }
    if (doc.errors.length > 0) return;
    const structure = structureIssue(doc, where, lines);
    if (structure) {
      issues.push(structure);
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MANIFEST_LIMITS.maxAliasCount });
    } catch (error) {
      // The yaml library throws ReferenceError for an alias bomb and for an alias without its anchor.
      if (!(error instanceof ReferenceError)) throw error;
      issues.push(field.forbidden(where, `YAML aliases: ${error.message}`));
      return;
    }
    const expanded = expandedIssue(value, where, true);
    if (expanded) {
      issues.push(expanded);
      return;
    }
    values.push(...entries(value, where, issues));
  });
  return values;
}

/** kOps reads `kops/v1alpha2` as `kops.k8s.io/v1alpha2` (the group's name before it was a CRD). */
const LEGACY_API_VERSION = 'kops/v1alpha2';

/** The API groups kOps decodes as its own types; any other group is an additional object. */
const KOPS_GROUPS = ['kops.k8s.io', 'kops'];

/**
 * A document that is not of kOps's `v1alpha2` API. kOps's own groups in another version are
 * refused, as kOps refuses them; a document of any other API group is one of kOps's additional
 * objects (for example a `KubeSchedulerConfiguration` for the scheduler), which kOps stores and
 * applies to the cluster. kopsless applies none of them: reported as not supported, never invalid.
 */
function otherDocument(value: Record<string, unknown>, where: string): { errors: FieldIssue[]; unsupported: FieldIssue[] } {
  const apiVersion = value.apiVersion;
  if (apiVersion === undefined || apiVersion === '') return { errors: [field.required(`${where}.apiVersion`)], unsupported: [] };
  if (typeof apiVersion !== 'string') return { errors: [field.invalid(`${where}.apiVersion`, apiVersion, 'must be a string (<group>/<version>)')], unsupported: [] };
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
  if (KOPS_GROUPS.includes(group)) return { errors: [field.notSupported(`${where}.apiVersion`, apiVersion, [API_VERSION])], unsupported: [] };
  const kind = value.kind;
  if (kind === undefined || kind === '') return { errors: [field.required(`${where}.kind`)], unsupported: [] };
  const errors: FieldIssue[] = [];
  // kOps's one rule on additional objects: the scheduler's kubeconfig is kOps's to set.
  if (kind === 'KubeSchedulerConfiguration' && group === 'kubescheduler.config.k8s.io') {
    const connection = isObject(value.clientConnection) ? value.clientConnection : {};
    const kubeconfig = connection.kubeconfig;
    if (kubeconfig !== undefined && kubeconfig !== '') {
      errors.push(field.invalid(`${where}.clientConnection.kubeconfig`, kubeconfig, 'value is controlled by kOps and should not be set'));
    }
  }
  const unsupported = [
    field.unsupported(where, `additional object ${String(kind)} (${apiVersion}): kOps applies the documents of other APIs in its manifest to the cluster, kopsless does not`),
  ];
  return { errors, unsupported };
}

/**
 * Reads a kOps multi-document manifest: one `Cluster` and its `InstanceGroup`s, as YAML or JSON
 * documents, a JSON array of them or a `kind: List`. Structural problems (size, encoding, YAML
 * syntax, nesting, aliases, wrong apiVersion, missing Cluster) are returned as issues; the field
 * rules live in validate.ts. Documents of other kinds kOps knows (SSHCredential, Keyset) are
 * reported by the support check, not here.
 */
export function parseManifest(input: string | Uint8Array): ParseResult {
  const issues: FieldIssue[] = [];
  const unsupported: FieldIssue[] = [];
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    const decoded = decodeManifest(input);
    if ('error' in decoded) return { errors: [decoded.error], unsupported };
    text = decoded.text;
  }
  const refused = textIssue(text);
  if (refused) return { errors: [refused], unsupported };
  const values = readJson(text, issues) ?? readYaml(text, issues);
  let cluster: Cluster | undefined;
  const instanceGroups: InstanceGroup[] = [];
  const others: Array<{ where: string; kind: string }> = [];
  for (const { value, where } of values) {
    if (value === null || value === undefined) continue;
    if (!isObject(value)) {
      issues.push(field.invalid(where, typeof value, 'each document must be a mapping with apiVersion, kind, metadata and spec'));
      continue;
    }
    if (value.apiVersion !== API_VERSION && value.apiVersion !== LEGACY_API_VERSION) {
      const other = otherDocument(value, where);
      issues.push(...other.errors);
      unsupported.push(...other.unsupported);
      continue;
    }
    const metadata = isObject(value.metadata) ? value.metadata : {};
    const spec = isObject(value.spec) ? value.spec : {};
    if (value.kind === 'Cluster') {
      if (cluster) {
        issues.push(field.forbidden(`${where}.kind`, `only one Cluster per file (found "${String(metadata.name)}" after "${cluster.metadata.name}")`));
        continue;
      }
      cluster = { apiVersion: API_VERSION, kind: 'Cluster', metadata: { ...metadata, name: String(metadata.name ?? '') }, spec };
    } else if (value.kind === 'InstanceGroup') {
      instanceGroups.push({
        apiVersion: API_VERSION,
        kind: 'InstanceGroup',
        metadata: { ...metadata, name: String(metadata.name ?? '') },
        spec: spec as InstanceGroup['spec'],
      });
    } else {
      others.push({ where, kind: String(value.kind ?? '') });
    }
  }
  for (const other of others) {
    if (other.kind === '') issues.push(field.required(`${other.where}.kind`));
    else unsupported.push(field.unsupported(`${other.where}.kind`, `kind "${other.kind}" is not read by kopsless (only Cluster and InstanceGroup)`));
  }
  if (!cluster) {
    if (issues.length === 0) issues.push(field.required('kind', 'the file must hold one document of kind Cluster'));
    return { errors: issues, unsupported };
  }
  const clusterName = cluster.metadata.name;
  instanceGroups.forEach((ig) => {
    const owner = ig.metadata.labels?.['kops.k8s.io/cluster'];
    if (owner !== undefined && owner !== clusterName) {
      issues.push(field.invalid(igPath(ig.metadata.name, 'metadata.labels[kops.k8s.io/cluster]'), owner, `InstanceGroup belongs to another cluster than "${clusterName}"`));
    }
  });
  return { manifest: { cluster, instanceGroups }, errors: issues, unsupported };
}
