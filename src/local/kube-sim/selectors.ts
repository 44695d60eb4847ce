/**
 * Label and field selectors as the API server reads them from `labelSelector=` / `fieldSelector=`
 * and from a workload's `spec.selector` (k8s.io/apimachinery `labels.Parse`, `fields.ParseSelector`),
 * with the API server's messages for what it refuses (HTTP 400).
 */

type Labels = Record<string, string> | undefined;
type Obj = Record<string, any>;

/** A selector the API server would refuse (HTTP 400), with its text. */
export class BadSelectorError extends Error {
  override readonly name = 'BadSelectorError';
}

type Token = {
  kind:
    | 'id'
    | 'in'
    | 'notin'
    | '!'
    | '='
    | '=='
    | '!='
    | '>'
    | '<'
    | '('
    | ')'
    | ','
    | 'end'
    | 'error';
  text: string;
};

const SPECIAL = new Set(['!', '=', '(', ')', ',', '>', '<']);
const SYMBOLS = ['!=', '==', '=', '!', '>', '<', '(', ')', ','];
const WHITESPACE = /[ \t\r\n]/;

/** Splits a label selector into tokens the way the apimachinery lexer does (longest symbol first). */
function lex(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (WHITESPACE.test(ch)) {
      i++;
      continue;
    }
    if (SPECIAL.has(ch)) {
      const symbol = SYMBOLS.find((s) => text.startsWith(s, i))!;
      out.push({ kind: symbol as Token['kind'], text: symbol });
      i += symbol.length;
      continue;
    }
    let j = i;
    while (j < text.length && !SPECIAL.has(text[j]!) && !WHITESPACE.test(text[j]!)) j++;
    const word = text.slice(i, j);
    out.push({ kind: word === 'in' ? 'in' : word === 'notin' ? 'notin' : 'id', text: word });
    i = j;
  }
  out.push({ kind: 'end', text: '' });
  return out;
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string): void {
  const slash = key.lastIndexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const ok =
    name.length > 0 &&
    name.length <= 63 &&
    QUALIFIED_NAME.test(name) &&
    (prefix === undefined ||
      (prefix.length > 0 && prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix)));
  if (!ok) {
    throw new BadSelectorError(
      `unable to parse requirement: invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    );
  }
}

function checkValue(key: string, value: string): void {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    throw new BadSelectorError(
      `unable to parse requirement: invalid label value: "${value}": at key: "${key}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
    );
  }
}

type Check = (labels: Labels) => boolean;

/** A recursive-descent reader of the selector grammar (`[!]KEY [op VALUE | in|notin (VALUES)]`, comma-joined). */
class LabelParser {
  private position = 0;
  constructor(private readonly tokens: Token[]) {}

  /** In value position `in` and `notin` are plain words. */
  private peek(values = true): Token {
    const t = this.tokens[this.position]!;
    return values && (t.kind === 'in' || t.kind === 'notin') ? { kind: 'id', text: t.text } : t;
  }

  private next(values = true): Token {
    const t = this.peek(values);
    this.position++;
    return t;
  }

  parse(): Check[] {
    const checks: Check[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'end') return checks;
      if (t.kind !== 'id' && t.kind !== '!')
        throw new BadSelectorError(
          `found '${t.text}', expected: !, identifier, or 'end of string'`,
        );
      checks.push(this.requirement());
      const after = this.next();
      if (after.kind === 'end') return checks;
      if (after.kind !== ',')
        throw new BadSelectorError(`found '${after.text}', expected: ',' or 'end of string'`);
      const following = this.peek();
      if (following.kind !== 'id' && following.kind !== '!')
        throw new BadSelectorError(`found '${following.text}', expected: identifier after ','`);
    }
  }

  private fail(message: string): never {
    throw new BadSelectorError(`unable to parse requirement: ${message}`);
  }

  private requirement(): Check {
    let t = this.next();
    const negated = t.kind === '!';
    if (negated) t = this.next();
    if (t.kind !== 'id') this.fail(`found '${t.text}', expected: identifier`);
    const key = t.text;
    const ahead = this.peek();
    if (ahead.kind === 'end' || ahead.kind === ',' || negated) {
      checkKey(key);
      return negated ? (l) => l?.[key] === undefined : (l) => l?.[key] !== undefined;
    }
    const op = this.next(false);
    switch (op.kind) {
      case 'in':
      case 'notin': {
        const values = this.values();
        checkKey(key);
        for (const v of values) checkValue(key, v);
        return op.kind === 'in'
          ? (l) => l?.[key] !== undefined && values.includes(l[key]!)
          : (l) => l?.[key] === undefined || !values.includes(l[key]!);
      }
      case '=':
      case '==':
      case '!=': {
        const value = this.exactValue();
        checkKey(key);
        checkValue(key, value);
        return op.kind === '!=' ? (l) => l?.[key] !== value : (l) => l?.[key] === value;
      }
      case '>':
      case '<': {
        const value = this.exactValue();
        checkKey(key);
        const bound = Number(value);
        if (!/^-?\d+$/.test(value))
          this.fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
        return (l) =>
          l?.[key] !== undefined &&
          /^-?\d+$/.test(l[key]!) &&
          (op.kind === '>' ? Number(l[key]) > bound : Number(l[key]) < bound);
      }
      default:
        return this.fail(`found '${op.text}', expected: in, !=, =, ==, >, <, notin`);
    }
  }

  /** `(a,b,c)`; `()` is the set holding the empty value, as in apimachinery. */
  private values(): string[] {
    const open = this.next();
    if (open.kind !== '(') this.fail(`found '${open.text}' expected: '('`);
    const first = this.peek();
    if (first.kind === ')') {
      this.next();
      return [''];
    }
    if (first.kind !== 'id' && first.kind !== ',')
      this.fail(`found '${first.text}', expected: ',', ')' or identifier`);
    const out: string[] = [];
    let expectValue = true;
    for (;;) {
      const t = this.next();
      if (t.kind === 'id' && expectValue) {
        out.push(t.text);
        expectValue = false;
        const ahead = this.peek();
        if (ahead.kind !== ',' && ahead.kind !== ')')
          this.fail(`found '${ahead.text}', expected: ',' or ')'`);
      } else if (t.kind === ',') {
        // An empty item between commas is the empty value.
        if (expectValue) out.push('');
        expectValue = true;
        if (this.peek().kind === ')') out.push('');
      } else if (t.kind === ')' && !expectValue) {
        return [...new Set(out)];
      } else if (t.kind === ')') {
        return [...new Set(out)];
      } else this.fail(`found '${t.text}', expected: ',', or identifier`);
    }
  }

  private exactValue(): string {
    const ahead = this.peek();
    if (ahead.kind === 'end' || ahead.kind === ',') return '';
    const t = this.next();
    if (t.kind !== 'id') this.fail(`found '${t.text}', expected: identifier`);
    return t.text;
  }
}

/**
 * A label selector query: equality (`a=b`, `a==b`, `a!=b`), set-based requirements
 * (`a in (x,y)`, `a notin (x)`, `a`, `!a`) and `a>1` / `a<1`, all of which must hold.
 * Malformed text throws BadSelectorError with apimachinery's message.
 */
export function parseLabelSelector(text: string | null): (labels: Labels) => boolean {
  if (!text) return () => true;
  const checks = new LabelParser(lex(text)).parse();
  return (labels) => checks.every((check) => check(labels));
}

/** A workload's `spec.selector` (`matchLabels` and `matchExpressions`); an empty one matches all. */
export function selectorMatches(
  labels: Labels,
  selector:
    | {
        matchLabels?: Record<string, string>;
        matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
      }
    | undefined,
): boolean {
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
function unescapeSelectorValue(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

/**
 * Field selector query: `path=value`, `path==value`, `path!=value` on dotted paths
 * (`status.phase`, `spec.nodeName`, `metadata.name`, `involvedObject.uid`, ...). With `supported`,
 * a path outside it is refused as the API server refuses a field label its kind does not index.
 * `defaults` gives what an absent field reads as (`spec.hostNetwork` is `false`, not empty).
 */
export function parseFieldSelector(
  text: string | null,
  supported?: readonly string[],
  defaults: Record<string, string> = {},
): (o: Obj) => boolean {
  if (!text) return () => true;
  // Commas escaped as `\,` belong to a value.
  const parts = text
    .split(/(?<!\\),/)
    .map((t) => t.trim())
    .filter(Boolean);
  // An Event's `source` field is its source component.
  const get = (o: Obj, path: string) =>
    (path === 'source' ? 'source.component' : path)
      .split('.')
      .reduce<any>((acc, part) => acc?.[part], o) ??
    defaults[path] ??
    '';
  const checks = parts.map((term) => {
    const m = /^([^!=]+?)\s*(!=|==|=)(.*)$/.exec(term);
    if (!m) throw new BadSelectorError(`invalid selector: '${text}'; can't understand '${term}'`);
    const [, path, op, raw] = m;
    if (supported && !supported.includes(path!))
      throw new BadSelectorError(`field label not supported: ${path}`);
    const value = unescapeSelectorValue(raw!);
    return op === '!='
      ? (o: Obj) => String(get(o, path!)) !== value
      : (o: Obj) => String(get(o, path!)) === value;
  });
  return (o) => checks.every((check) => check(o));
}
