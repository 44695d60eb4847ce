/**
 * Label and field selectors as the API server reads them from `labelSelector=` / `fieldSelector=`
 * and from a workload's `spec.selector` (k8s.io/apimachinery `labels.Parse`, `fields.Parse`).
 */

type Labels = Record<string, string> | undefined;
type Obj = Record<string, any>;

/** A selector the API server would refuse (HTTP 400), with its text. */
export class BadSelectorError extends Error {
  override readonly name = 'BadSelectorError';
}

/** Splits on the commas between terms, not on those inside `in (a,b)`. */
function terms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
    } else current += ch;
  }
  out.push(current.trim());
  return out.filter(Boolean);
}

const KEY = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;

function checkKey(key: string, text: string): string {
  if (!KEY.test(key)) throw new BadSelectorError(`unable to parse requirement: invalid label key "${key}" in selector "${text}"`);
  return key;
}

/**
 * A label selector query: equality (`a=b`, `a==b`, `a!=b`) and set-based requirements
 * (`a in (x,y)`, `a notin (x)`, `a`, `!a`), all of which must hold.
 */
export function parseLabelSelector(text: string | null): (labels: Labels) => boolean {
  if (!text) return () => true;
  const checks = terms(text).map((term): ((labels: Labels) => boolean) => {
    const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
    if (set) {
      const key = checkKey(set[1]!, text);
      const values = set[3]!.split(',').map((v) => v.trim()).filter(Boolean);
      return set[2] === 'in' ? (l) => l?.[key] !== undefined && values.includes(l[key]!) : (l) => l?.[key] === undefined || !values.includes(l[key]!);
    }
    const op = /^([^!=\s]+)\s*(!=|==|=)\s*(\S*)$/.exec(term);
    if (op) {
      const key = checkKey(op[1]!, text);
      const value = op[3]!;
      return op[2] === '!=' ? (l) => l?.[key] !== value : (l) => l?.[key] === value;
    }
    const not = /^!\s*(\S+)$/.exec(term);
    if (not) {
      const key = checkKey(not[1]!, text);
      return (l) => l?.[key] === undefined;
    }
    const key = checkKey(term, text);
    return (l) => l?.[key] !== undefined;
  });
  return (labels) => checks.every((check) => check(labels));
}

/** A workload's `spec.selector` (`matchLabels` and `matchExpressions`); an empty one matches all. */
export function selectorMatches(labels: Labels, selector: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> } | undefined): boolean {
  const byLabels = Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v);
  return (
    byLabels &&
    (selector?.matchExpressions ?? []).every((e) => {
      const value = labels?.[e.key];
      switch (e.operator) {
        case 'In':
          return value !== undefined && (e.values ?? []).includes(value);
        case 'NotIn':
          return value === undefined || !(e.values ?? []).includes(value);
        case 'Exists':
          return value !== undefined;
        case 'DoesNotExist':
          return value === undefined;
        default:
          return false;
      }
    })
  );
}

/** Un-escapes a field selector value (`\,` `\=` `\\`), as `fields.UnescapeValue` does. */
function unescape(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

/**
 * Field selector query: `path=value`, `path==value`, `path!=value` on dotted paths
 * (`status.phase`, `spec.nodeName`, `metadata.name`, `involvedObject.uid`, ...).
 */
export function parseFieldSelector(text: string | null): (o: Obj) => boolean {
  if (!text) return () => true;
  // Commas escaped as `\,` belong to a value.
  const parts = text.split(/(?<!\\),/).map((t) => t.trim()).filter(Boolean);
  // An Event's `source` field is its source component.
  const get = (o: Obj, path: string) => (path === 'source' ? 'source.component' : path).split('.').reduce<any>((acc, part) => acc?.[part], o) ?? '';
  const checks = parts.map((term) => {
    const m = /^([A-Za-z0-9_.]+)\s*(!=|==|=)(.*)$/.exec(term);
    if (!m) throw new BadSelectorError(`invalid field selector "${text}": "${term}" is not <field>=<value> or <field>!=<value>`);
    const [, path, op, raw] = m;
    const value = unescape(raw!);
    return op === '!=' ? (o: Obj) => String(get(o, path!)) !== value : (o: Obj) => String(get(o, path!)) === value;
  });
  return (o) => checks.every((check) => check(o));
}
