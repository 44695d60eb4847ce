import type { FieldIssue } from '../errors.js';
import { duplicateKey, type Entry, entries, expandedIssue } from './manifest-text.js';

/** Reading a manifest written as JSON (JSON is YAML, but JSON.parse is linear and exact about repeated keys). */

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
export function readJson(text: string, issues: FieldIssue[]): Entry[] | undefined {
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
