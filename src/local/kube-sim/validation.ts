import type { Obj, SimCluster } from './cluster.js';
import { HttpError, type Request } from './http.js';
import { fieldErrors } from './openapi.js';

/** What the simulated API server refuses in a body, with the real server's status and wording. */

/** One field error of a 422 Invalid, as apimachinery's field.Error renders it. */
export interface FieldCause {
  field: string;
  type: 'Invalid' | 'Required' | 'Forbidden';
  /** The offending value, rendered as the API server renders it (JSON for numbers and strings). */
  value?: string;
  detail: string;
}

const CAUSE_REASON = {
  Invalid: 'FieldValueInvalid',
  Required: 'FieldValueRequired',
  Forbidden: 'FieldValueForbidden',
} as const;

function causeBody(c: FieldCause): string {
  if (c.type === 'Invalid') return `Invalid value: ${c.value}: ${c.detail}`;
  if (c.type === 'Required') return `Required value${c.detail ? `: ${c.detail}` : ''}`;
  return `Forbidden: ${c.detail}`;
}

/**
 * 422 Invalid as the API server sends it (`errors.NewInvalid`): `<Kind>.<group> "<name>" is
 * invalid: <field>: <error>` (several in brackets), with `details.causes[]` naming each field.
 */
export function invalid(
  kind: string,
  group: string,
  name: string,
  causes: FieldCause[],
): HttpError {
  const rendered = causes.map((c) => `${c.field}: ${causeBody(c)}`);
  const qualified = group ? `${kind}.${group}` : kind;
  return new HttpError(
    422,
    'Invalid',
    `${qualified} "${name}" is invalid: ${rendered.length === 1 ? rendered[0] : `[${rendered.join(', ')}]`}`,
    {
      name,
      ...(group ? { group } : {}),
      kind,
      causes: causes.map((c) => ({
        reason: CAUSE_REASON[c.type],
        message: causeBody(c),
        field: c.field,
      })),
    },
  );
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** metadata.name of a Pod, Deployment or PodDisruptionBudget: a DNS-1123 subdomain (apimachinery's wording). */
export function nameCauses(name: unknown): FieldCause[] {
  if (typeof name !== 'string' || name === '')
    return [
      { field: 'metadata.name', type: 'Required', detail: 'name or generateName is required' },
    ];
  const causes: FieldCause[] = [];
  if (name.length > 253)
    causes.push({
      field: 'metadata.name',
      type: 'Invalid',
      value: JSON.stringify(name),
      detail: 'must be no more than 253 characters',
    });
  if (!DNS_SUBDOMAIN.test(name)) {
    causes.push({
      field: 'metadata.name',
      type: 'Invalid',
      value: JSON.stringify(name),
      detail:
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    });
  }
  return causes;
}

const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const NAME_PART_RULE =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/** Why a label or annotation key is not a qualified name (`[prefix/]name`), in apimachinery's words. */
function qualifiedNameErrors(key: string): string[] {
  const parts = key.split('/');
  if (parts.length > 2) {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  const [prefix, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [undefined, parts[0]!];
  const errors: string[] = [];
  if (prefix !== undefined) {
    if (prefix === '') errors.push('prefix part must be non-empty');
    else {
      if (prefix.length > 253) errors.push('prefix part must be no more than 253 characters');
      if (!DNS_SUBDOMAIN.test(prefix)) {
        errors.push(
          "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        );
      }
    }
  }
  if (name === '') errors.push('name part must be non-empty');
  else if (name.length > 63) errors.push('name part must be no more than 63 characters');
  if (name !== '' && !QUALIFIED_NAME_PART.test(name)) errors.push(NAME_PART_RULE);
  return errors;
}

/**
 * The labels and annotation keys of an object's metadata (at `at`, e.g. `spec.template.`), as the
 * API server validates them (ValidateLabels, ValidateAnnotations): keys are qualified names,
 * label values at most 63 characters of the label alphabet. A write with a bad one is a 422.
 */
export function metadataCauses(metadata: Obj | undefined, at = ''): FieldCause[] {
  const causes: FieldCause[] = [];
  const labels = metadata?.labels;
  if (labels && typeof labels === 'object') {
    for (const [key, value] of Object.entries(labels as Obj)) {
      for (const detail of qualifiedNameErrors(key))
        causes.push({
          field: `${at}metadata.labels`,
          type: 'Invalid',
          value: JSON.stringify(key),
          detail,
        });
      if (typeof value !== 'string') continue;
      if (value.length > 63)
        causes.push({
          field: `${at}metadata.labels`,
          type: 'Invalid',
          value: JSON.stringify(value),
          detail: 'must be no more than 63 characters',
        });
      if (!LABEL_VALUE.test(value)) {
        causes.push({
          field: `${at}metadata.labels`,
          type: 'Invalid',
          value: JSON.stringify(value),
          detail:
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        });
      }
    }
  }
  const annotations = metadata?.annotations;
  if (annotations && typeof annotations === 'object') {
    // The API server checks annotation keys lower-cased: `Example.com/Key` is a valid annotation.
    for (const key of Object.keys(annotations as Obj)) {
      for (const detail of qualifiedNameErrors(key.toLowerCase()))
        causes.push({
          field: `${at}metadata.annotations`,
          type: 'Invalid',
          value: JSON.stringify(key),
          detail,
        });
    }
  }
  return causes;
}

/** spec.replicas: a non-negative integer, within the simulated server's caps (see SimCluster.replicasRefusal). */
export function replicasCauses(c: SimCluster, replicas: unknown, current: number): FieldCause[] {
  if (replicas === undefined) return [];
  if (typeof replicas !== 'number' || !Number.isInteger(replicas))
    return [
      {
        field: 'spec.replicas',
        type: 'Invalid',
        value: JSON.stringify(replicas),
        detail: 'must be an integer',
      },
    ];
  if (replicas < 0)
    return [
      {
        field: 'spec.replicas',
        type: 'Invalid',
        value: String(replicas),
        detail: 'must be greater than or equal to 0',
      },
    ];
  const refusal = c.replicasRefusal(replicas, current);
  return refusal
    ? [{ field: 'spec.replicas', type: 'Invalid', value: String(replicas), detail: refusal }]
    : [];
}

/** JSON with object keys sorted: equal objects give equal text whatever order a patch left. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** A map[string]string as Go's `%#v` prints it (`map[string]string{"app":"web"}`), keys sorted. */
export function goStringMap(labels: Record<string, string> | undefined): string {
  if (!labels) return 'map[string]string(nil)';
  return `map[string]string{${Object.entries(labels)
    .sort(([x], [y]) => (x < y ? -1 : 1))
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
    .join(', ')}}`;
}

/** A LabelSelector as `%#v` prints it in the API server's immutability message. */
export function goLabelSelector(selector: Obj | undefined): string {
  // field.Invalid dereferences a pointer value before printing it; a nil one prints as null.
  if (!selector) return 'null';
  const matchLabels = goStringMap(selector.matchLabels);
  const expressions = selector.matchExpressions
    ? `[]v1.LabelSelectorRequirement{${(selector.matchExpressions as Obj[]).map((e) => `v1.LabelSelectorRequirement{Key:${JSON.stringify(e.key)}, Operator:${JSON.stringify(e.operator)}, Values:${e.values ? `[]string{${(e.values as string[]).map((v) => JSON.stringify(v)).join(', ')}}` : '[]string(nil)'}}`).join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return `v1.LabelSelector{MatchLabels:${matchLabels}, MatchExpressions:${expressions}}`;
}

/**
 * Field validation of a create or patch body (`fieldValidation=Strict|Warn|Ignore`, Strict
 * being what kubectl sends by default once the OpenAPI document says the server checks).
 * Directive keys of strategic merge patches (`$patch`, `$setElementOrder/...`) are not fields.
 */
export function checkFields(
  req: Request,
  apiVersion: string,
  kind: string,
  body: Obj | undefined,
): void {
  const mode = req.query.get('fieldValidation') ?? 'Ignore';
  if (mode === 'Ignore' || !body || req.contentType?.startsWith('application/json-patch+json'))
    return;
  const errors = fieldErrors(apiVersion, kind, body);
  if (errors.length === 0) return;
  if (mode === 'Strict') {
    throw new HttpError(
      400,
      'BadRequest',
      `${kind} in version "${apiVersion.split('/').pop()}" cannot be handled as a ${kind}: strict decoding error: ${errors.join(', ')}`,
    );
  }
  req.warnings.push(...errors);
}
