import type { FieldIssue } from '../errors.js';
import { labelKeyErrors, labelValueErrors, parseTaint, TAINT_EFFECTS } from './content.js';
import { field, index } from './field.js';
import { isObject } from './shapes.js';

/** kOps's rules for node labels, taints and cloud labels (AWS tags), on the cluster and on each instance group. */

/** AWS's limit on a tag key, in characters. */
export const TAG_KEY_LIMIT = 128;

/** `path[key]`, with the key JSON-quoted when it holds more than a label key's characters. */
export function entryPath(path: string, key: string): string {
  return /^[-A-Za-z0-9_./:]+$/.test(key) ? `${path}[${key}]` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Node labels, which the kubelet registers with: Kubernetes's label key and value rules (a key
 * with two slashes gets kOps's wording). They reach the boot script, so nothing else gets through.
 */
export function validateNodeLabels(labels: unknown, path: string): FieldIssue[] {
  if (labels === undefined) return [];
  if (!isObject(labels))
    return [field.invalid(path, labels, 'must be a mapping of label keys to values')];
  const issues: FieldIssue[] = [];
  for (const [key, value] of Object.entries(labels)) {
    if (key.split('/').length > 2)
      issues.push(field.invalid(path, key, 'Node label may only contain a single slash'));
    else labelKeyErrors(key).forEach((e) => issues.push(field.invalid(path, key, e)));
    if (typeof value !== 'string')
      issues.push(field.invalid(entryPath(path, key), value, 'must be a string'));
    else
      labelValueErrors(value).forEach((e) =>
        issues.push(field.invalid(entryPath(path, key), value, e)),
      );
  }
  return issues;
}

/** Taints as kOps writes them (`key=value:Effect`), held to Kubernetes's rules for node taints. */
export function validateTaints(taints: unknown, path: string): FieldIssue[] {
  if (taints === undefined) return [];
  if (!Array.isArray(taints))
    return [field.invalid(path, taints, 'must be a list of taints (key=value:Effect)')];
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  taints.forEach((raw, i) => {
    const p = index(path, i);
    if (typeof raw !== 'string') {
      issues.push(field.invalid(p, raw, 'must be a string (key=value:Effect)'));
      return;
    }
    const taint = parseTaint(raw);
    if (!taint) {
      issues.push(field.invalid(p, raw, 'invalid taint value'));
      return;
    }
    labelKeyErrors(taint.key).forEach((e) => issues.push(field.invalid(`${p}.key`, taint.key, e)));
    const valueErrors = taint.value === undefined ? [] : labelValueErrors(taint.value);
    if (valueErrors.length > 0)
      issues.push(field.invalid(`${p}.value`, taint.value, valueErrors.join(';')));
    if (taint.effect === '') issues.push(field.required(`${p}.effect`));
    else if (!(TAINT_EFFECTS as readonly string[]).includes(taint.effect))
      issues.push(field.notSupported(`${p}.effect`, taint.effect, TAINT_EFFECTS));
    const unique = `${taint.key}:${taint.effect}`;
    if (seen.has(unique)) {
      const duplicate = field.duplicate(p, raw);
      issues.push({
        ...duplicate,
        message: `${duplicate.message}: taints must be unique by key and effect pair`,
      });
    }
    seen.add(unique);
  });
  return issues;
}

const RESERVED_CLOUD_LABELS = ['Name', 'KubernetesCluster'];
/** kOps's reserved prefixes, and kopsless's own (the spec-hash tag). */
const RESERVED_CLOUD_LABEL_PREFIXES = [
  'kubernetes.io/cluster/',
  'k8s.io/role/',
  'kops.k8s.io/',
  'kopsless.io/',
];

/**
 * Cloud labels become tags on every instance and volume; the tags kOps and kopsless find a
 * cluster's resources by are theirs alone. AWS's own limits are checked too (key 1-128, value up
 * to 256 characters, no `aws:` prefix), since EC2 would refuse them only at launch.
 */
export function validateCloudLabels(
  labels: unknown,
  path: string,
  instanceGroup?: string,
): FieldIssue[] {
  if (labels === undefined) return [];
  if (!isObject(labels))
    return [field.invalid(path, labels, 'must be a mapping of tag keys to values')];
  const issues: FieldIssue[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const p = entryPath(path, key);
    if (instanceGroup !== undefined && key === 'kops.k8s.io/instancegroup') {
      if (value !== instanceGroup)
        issues.push(field.invalid(p, value, 'value must match instance group name'));
      continue;
    }
    if (RESERVED_CLOUD_LABELS.includes(key))
      issues.push(
        field.forbidden(p, `"${key}" is a reserved label and cannot be used as a custom label`),
      );
    const prefix = RESERVED_CLOUD_LABEL_PREFIXES.find((r) => key.startsWith(r));
    if (prefix)
      issues.push(
        field.forbidden(
          p,
          `"${prefix}" is a reserved label prefix and cannot be used as a custom label`,
        ),
      );
    if (key.toLowerCase().startsWith('aws:'))
      issues.push(field.forbidden(p, 'the "aws:" prefix is reserved for AWS use'));
    const keyLength = [...key].length;
    if (keyLength === 0 || keyLength > 128)
      issues.push(field.invalid(path, key, 'a tag key must be 1 to 128 characters'));
    if (typeof value !== 'string') issues.push(field.invalid(p, value, 'must be a string'));
    else if ([...value].length > 256)
      issues.push(field.invalid(p, value, 'a tag value must be no more than 256 characters'));
  }
  return issues;
}
