/**
 * Kubernetes's rules for the text of names, label keys and values, and environment variable
 * names (apimachinery's `validate/content`), with Kubernetes's wording. Pure. Each function returns
 * the list of problems, empty when the value is valid.
 */

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_LABEL = new RegExp(`^${DNS1123_LABEL_FMT}$`);
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);

const LABEL_KEY_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_KEY = new RegExp(`^${LABEL_KEY_FMT}$`);
const LABEL_VALUE_FMT = `(${LABEL_KEY_FMT})?`;
const LABEL_VALUE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const LABEL_KEY_MESSAGE =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

const C_IDENTIFIER_FMT = '[A-Za-z_][A-Za-z0-9_]*';
const C_IDENTIFIER = new RegExp(`^${C_IDENTIFIER_FMT}$`);

/** Go measures strings in bytes; so does Kubernetes's length rule. */
function byteLength(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

export function maxLenError(length: number): string {
  return `must be no more than ${length} bytes`;
}

/** `msg (e.g. 'a',  or 'b', regex used for validation is 're')`, spacing as Kubernetes prints it. */
function regexError(message: string, regex: string, ...examples: string[]): string {
  if (examples.length === 0) return `${message} (regex used for validation is '${regex}')`;
  return `${message} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${regex}')`;
}

/** Kubernetes' `IsDNS1123Subdomain`: the rule for cluster, instance group and API names. */
export function dns1123SubdomainErrors(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > 253) errors.push(maxLenError(253));
  // Kubernetes checks the subdomain as one regex; DNS also caps each label at 63, which Route 53
  // enforces: said in words, since the regex cannot show it.
  const labels = value.split('.');
  const long = labels.find((label) => label.length > 63);
  if (DNS1123_SUBDOMAIN.test(value) && labels.every((label) => DNS1123_LABEL.test(label))) {
    if (long)
      errors.push(
        `each dot-separated label must be no more than 63 characters ("${long.slice(0, 20)}..." has ${long.length})`,
      );
  } else {
    errors.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN_FMT,
        'example.com',
      ),
    );
  }
  return errors;
}

/** Kubernetes' `IsQualifiedName`: a label key (and a taint key), `[prefix/]name`. */
export function labelKeyErrors(value: string): string[] {
  const errors: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errors.push('prefix part must be non-empty');
    else errors.push(...dns1123SubdomainErrors(prefix).map((e) => `prefix part ${e}`));
  } else {
    return [
      `a valid label key ${regexError(LABEL_KEY_MESSAGE, LABEL_KEY_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errors.push('name part must be non-empty');
  else if (byteLength(name) > 63) errors.push(`name part ${maxLenError(63)}`);
  if (!LABEL_KEY.test(name))
    errors.push(
      `name part ${regexError(LABEL_KEY_MESSAGE, LABEL_KEY_FMT, 'MyName', 'my.name', '123-abc')}`,
    );
  return errors;
}

/** Kubernetes' `IsValidLabelValue`: empty, or up to 63 of `[-A-Za-z0-9_.]` starting and ending alphanumeric. */
export function labelValueErrors(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > 63) errors.push(maxLenError(63));
  if (!LABEL_VALUE.test(value)) {
    errors.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        LABEL_VALUE_FMT,
        'MyValue',
        'my_value',
        '12345',
      ),
    );
  }
  return errors;
}

/** Kubernetes' `IsCIdentifier`: what a shell accepts as a variable name. */
export function cIdentifierErrors(value: string): string[] {
  if (C_IDENTIFIER.test(value)) return [];
  return [
    regexError(
      "a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'",
      C_IDENTIFIER_FMT,
      'my_name',
      'MY_NAME',
      'MyName',
    ),
  ];
}

export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/**
 * kOps's taint syntax, `key[=value]:Effect` (kOps also reads a bare `key`, which Kubernetes then
 * refuses for want of an effect). Undefined when the text has more than one `:` or `=`.
 */
export function parseTaint(text: string): Taint | undefined {
  const parts = text.split(':');
  if (parts.length === 1) return { key: parts[0]!, effect: '' };
  if (parts.length !== 2) return undefined;
  const keyValue = parts[0]!.split('=');
  if (keyValue.length > 2) return undefined;
  return {
    key: keyValue[0]!,
    ...(keyValue.length === 2 ? { value: keyValue[1]! } : {}),
    effect: parts[1]!,
  };
}

/** Labels outside kubelet's allowed namespaces that kubelet may still set on its own Node. */
const KUBELET_LABELS = new Set([
  'kubernetes.io/hostname',
  'kubernetes.io/arch',
  'kubernetes.io/os',
  'beta.kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type',
  'failure-domain.beta.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'topology.kubernetes.io/zone',
]);
/** Namespaces (and their subdomains) whose labels kubelet may set on its own Node. */
const KUBELET_LABEL_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io'];

function inNamespace(namespace: string, domain: string): boolean {
  return namespace === domain || namespace.endsWith(`.${domain}`);
}

/**
 * Whether kubelet refuses a label key given with `--node-labels` and so fails to start (its
 * `ValidateKubeletFlags`, which follows the NodeRestriction admission rule): a key in the
 * kubernetes.io or k8s.io namespaces (or a subdomain of them) that is neither one of the
 * well-known keys kubelet sets nor in the kubelet.kubernetes.io or node.kubernetes.io namespaces.
 * `node-role.kubernetes.io/<role>` and `kops.k8s.io/instancegroup` are refused.
 */
export function kubeletRefusesLabel(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return false;
  const namespace = key.slice(0, slash);
  if (!inNamespace(namespace, 'kubernetes.io') && !inNamespace(namespace, 'k8s.io')) return false;
  if (KUBELET_LABELS.has(key)) return false;
  return !KUBELET_LABEL_NAMESPACES.some((allowed) => inNamespace(namespace, allowed));
}
