import { closest, distance } from 'fastest-levenshtein';
import type { FieldIssue } from '../errors.js';
import { KOPS_FIELD_NAMES } from './kops-field-names.js';

/** Whether kOps's v1alpha2 API has a field of this name anywhere (a setting kopsless may not build). */
export function isKopsFieldName(key: string): boolean {
  return KOPS_FIELD_NAMES.has(key);
}

/**
 * A field neither kOps nor kopsless knows: invalid, as kOps's strict parsing reports it, with
 * the nearest name of the same object (or of kOps's API) when it is a likely typo.
 */
export function unknownField(path: string, key: string, siblings: readonly string[]): FieldIssue {
  const suggestion = nearest(key, siblings) ?? nearest(key, [...KOPS_FIELD_NAMES]);
  return {
    path,
    message: `unknown field "${key}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`,
  };
}

/** The closest name within a third of the key's length in edits (at least one edit). */
function nearest(key: string, names: readonly string[]): string | undefined {
  if (names.length === 0) return undefined;
  const best = closest(key, names as string[]);
  return distance(key, best) <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}
