import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  LineCounter,
  parseAllDocuments,
} from 'yaml';
import type { FieldIssue } from '../errors.js';
import { field } from './field.js';
import {
  duplicateKey,
  type Entry,
  entries,
  expandedIssue,
  MANIFEST_LIMITS,
  TEXT_PATH,
  tooDeep,
} from './manifest-text.js';

/** Reading a manifest's YAML documents within the limits, before and after aliases expand. */

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
function structureIssue(
  doc: Document.Parsed,
  where: string,
  lines: LineCounter,
): FieldIssue | undefined {
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
        if (isCollection(item.key))
          return field.invalid(
            where,
            '<mapping key>',
            'a mapping key must be a scalar, not a mapping or a sequence',
          );
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

/** More lines that hold YAML than the limit allows? Blank and comment lines cost the parser next to nothing. */
function yamlLinesOverLimit(text: string): boolean {
  let count = 0;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let first = start;
    while (
      first < end &&
      (text.charCodeAt(first) === 32 ||
        text.charCodeAt(first) === 9 ||
        text.charCodeAt(first) === 13)
    )
      first++;
    if (
      first < end &&
      text.charCodeAt(first) !== 35 /* # */ &&
      ++count > MANIFEST_LIMITS.maxYamlLines
    )
      return true;
    start = end + 1;
  }
  return false;
}

/** The YAML documents of a text, each checked for the limits before and after aliases expand. */

export function readYaml(text: string, issues: FieldIssue[]): Entry[] {
  if (yamlLinesOverLimit(text)) {
    issues.push(
      field.forbidden(
        TEXT_PATH,
        `the manifest is over the limit of ${MANIFEST_LIMITS.maxYamlLines} lines of YAML (blank and comment lines aside; a kOps manifest has a few hundred, and JSON has no line limit)`,
      ),
    );
    return [];
  }
  // resolveKnownTags off: !!binary, !!set, !!timestamp stay plain data instead of Buffers and Dates.
  // uniqueKeys off: structureIssue refuses repeated keys in linear time (see there).
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, {
    prettyErrors: true,
    uniqueKeys: false,
    resolveKnownTags: false,
    lineCounter: lines,
  });
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
      issues.push({
        path: where,
        message: `YAML syntax error${line ? ` at line ${line}` : ''}: ${error.message.split('\n')[0]}`,
      });
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
