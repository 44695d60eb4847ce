import type { FieldIssue } from '../errors.js';
import { field } from './field.js';
import { isObject } from './shapes.js';

/** A manifest's text before it is read: its limits, its encoding, and the checks YAML and JSON share (depth, size once expanded, repeated keys). */

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
export const TEXT_PATH = 'manifest';

/**
 * The text of a manifest given as bytes: refused unless it is UTF-8 (a leading BOM is dropped).
 * Decoding replaces nothing, so a binary file is named as such instead of read as mojibake.
 */
export function decodeManifest(bytes: Uint8Array): { text: string } | { error: FieldIssue } {
  if (bytes.byteLength > MANIFEST_LIMITS.maxBytes) return { error: tooLarge() };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return {
      error: field.invalid(
        TEXT_PATH,
        '<bytes>',
        'the manifest is not UTF-8 text (binary data?): give a kOps manifest in YAML or JSON',
      ),
    };
  }
}

function tooLarge(): FieldIssue {
  return field.forbidden(
    TEXT_PATH,
    `the manifest is over the limit of ${MANIFEST_LIMITS.maxBytes} bytes (${MANIFEST_LIMITS.maxBytes / 1024 / 1024} MiB)`,
  );
}

/** Whole-text checks before the YAML parser sees it: size, and NUL (binary data, never YAML). */
export function textIssue(text: string): FieldIssue | undefined {
  // UTF-8 takes 1 to 3 bytes per UTF-16 unit: count the bytes only when the length cannot tell.
  if (text.length > MANIFEST_LIMITS.maxBytes / 3) {
    if (Buffer.byteLength(text) > MANIFEST_LIMITS.maxBytes) return tooLarge();
  }
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const line = text.slice(0, nul).split('\n').length;
    return field.invalid(
      TEXT_PATH,
      '<binary>',
      `a NUL character at line ${line}: the manifest must be YAML or JSON text`,
    );
  }
  return undefined;
}

/** How nesting beyond MANIFEST_LIMITS.maxDepth is refused. */
export function tooDeep(where: string): FieldIssue {
  return field.forbidden(
    where,
    `nesting deeper than ${MANIFEST_LIMITS.maxDepth} levels of mappings and sequences`,
  );
}

/** How a repeated mapping key is refused, in YAML and JSON alike (JSON is YAML). */
export function duplicateKey(where: string, key: string, line: number, column: number): FieldIssue {
  return {
    path: where,
    message: `YAML syntax error at line ${line}: Map keys must be unique: ${JSON.stringify(key)} is repeated at line ${line}, column ${column}`,
  };
}

/**
 * The first problem of a value once aliases have expanded: one that refers back to a node that
 * contains it (`a: &x [*x]`, an infinite document), or nesting over the limit (an alias placed
 * deep inside can carry a deep anchor deeper still). Either would overflow every later walk.
 */
export function expandedIssue(
  value: unknown,
  where: string,
  afterAliases: boolean,
): FieldIssue | undefined {
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
    if (onPath.has(top.value))
      return field.forbidden(
        where,
        'a YAML alias refers to a node that contains it (the document would be infinite)',
      );
    if (onPath.size >= MANIFEST_LIMITS.maxDepth)
      return afterAliases
        ? field.forbidden(
            where,
            `nesting deeper than ${MANIFEST_LIMITS.maxDepth} levels once YAML aliases expand`,
          )
        : tooDeep(where);
    onPath.add(top.value);
    stack.push({ value: top.value, exit: true });
    const children = Object.values(top.value);
    values += children.length;
    if (values > MANIFEST_LIMITS.maxValues)
      return field.forbidden(
        where,
        `more than ${MANIFEST_LIMITS.maxValues} values once YAML aliases expand`,
      );
    for (const child of children) stack.push({ value: child });
  }
  return undefined;
}

/** One document to read, with the path its problems are reported under. */
export interface Entry {
  value: unknown;
  where: string;
}

/**
 * The documents a value holds: itself, or the items of a JSON array or of a `kind: List` (as
 * `kubectl get -o json` writes several objects), so a file holds the same manifest whichever
 * way it was written.
 */
export function entries(value: unknown, where: string, issues: FieldIssue[]): Entry[] {
  if (Array.isArray(value))
    return value.map((item, i) => ({ value: item, where: `${where}[${i}]` }));
  if (isObject(value) && value.kind === 'List') {
    if (!Array.isArray(value.items)) {
      issues.push(field.required(`${where}.items`, 'a List holds its documents in items'));
      return [];
    }
    return value.items.map((item, i) => ({ value: item, where: `${where}.items[${i}]` }));
  }
  return [{ value, where }];
}
