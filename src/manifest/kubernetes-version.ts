import type { FieldIssue } from '../errors.js';
import { field } from './field.js';

/**
 * Which Kubernetes versions a cluster may run, and which version changes a running cluster may
 * take. The range is kOps 1.37's: kOps refuses versions older than its oldest supported one
 * ("upgrading Kubernetes is required") and versions of a minor release newer than its own
 * ("upgrading kops is required"). The upgrade rules are kubeadm's, which a real control plane
 * enforces at boot: one minor version at a time, and no minor downgrade.
 */

export interface KubernetesVersion {
  major: number;
  minor: number;
  patch: number;
}

/** The kOps release whose rules these are. */
export const KOPS_RELEASE = '1.37';
/** kOps 1.37's `OldestSupportedKubernetesVersion`. */
export const OLDEST_SUPPORTED_KUBERNETES_VERSION: KubernetesVersion = {
  major: 1,
  minor: 32,
  patch: 0,
};
/** kOps 1.37's `OldestRecommendedKubernetesVersion`: older supported versions are deprecated. */
export const OLDEST_RECOMMENDED_KUBERNETES_VERSION: KubernetesVersion = {
  major: 1,
  minor: 34,
  patch: 0,
};
/** The first version kOps 1.37 calls too new: its own minor release plus one. */
export const TOO_NEW_KUBERNETES_VERSION: KubernetesVersion = { major: 1, minor: 38, patch: 0 };

const FIELD = 'spec.kubernetesVersion';

/** Orders two versions by major, minor and patch; pre-release and build suffixes are ignored, as kOps ignores them. */
export function compareVersions(a: KubernetesVersion, b: KubernetesVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

function show(v: KubernetesVersion): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** `v1.33.1` and `1.33.1` are the same version; this is the form without the `v`. */
export function normalizeVersion(value: string): string {
  return value.replace(/^v/, '');
}

/** A version as kOps reads it, with its full text (`1.34` is `1.34.0`; no `v`, no spaces). */
export interface ParsedKubernetesVersion extends KubernetesVersion {
  text: string;
}

// Go's unicode.IsSpace, which strings.TrimSpace trims (JavaScript's trim differs: it trims U+FEFF, not U+0085).
const GO_SPACE =
  '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const GO_TRIM = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, 'g');
const DIGITS = /^[0-9]+$/;
const ALPHANUM = /^[0-9A-Za-z-]+$/;
const UINT64_MAX = 18446744073709551615n;

/** A semver number field: digits, no leading zero, within Go's uint64 (strconv.ParseUint). */
function isNumberField(text: string): boolean {
  return (
    DIGITS.test(text) && !(text.length > 1 && text.startsWith('0')) && BigInt(text) <= UINT64_MAX
  );
}

/** Go's strings.SplitN(s, sep, n) for n > 0. */
function splitN(text: string, sep: string, n: number): string[] {
  const parts = text.split(sep);
  return parts.length <= n ? parts : [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
}

/**
 * Reads a Kubernetes version the way kOps does (`util.ParseKubernetesVersion`, which calls
 * blang/semver v4's `ParseTolerant`): surrounding whitespace and one leading `v` are dropped,
 * leading zeros are dropped from each dot-separated part, a missing minor or patch number is 0
 * (but a shortened version cannot carry a pre-release or build suffix), then the result must be
 * strict semantic versioning (numeric pre-release identifiers without leading zeros, identifiers
 * of `[0-9A-Za-z-]`, numbers within uint64). `text` is the full version kopsless stores and renders.
 */
export function parseKubernetesVersion(value: string): ParsedKubernetesVersion | undefined {
  let s = value.replace(GO_TRIM, '');
  if (s.startsWith('v')) s = s.slice(1);
  const parts = splitN(s, '.', 3).map((part) => {
    if (part.length <= 1) return part;
    const trimmed = part.replace(/^0+/, '');
    return trimmed === '' || !/^[0-9]/.test(trimmed) ? `0${trimmed}` : trimmed;
  });
  if (parts.length < 3) {
    if (/[+-]/.test(parts[parts.length - 1]!)) return undefined;
    while (parts.length < 3) parts.push('0');
  }
  const [major, minor, rest] = parts as [string, string, string];
  if (!isNumberField(major) || !isNumberField(minor)) return undefined;
  let patch = rest;
  let build: string[] = [];
  let pre: string[] = [];
  const plus = patch.indexOf('+');
  if (plus !== -1) {
    build = patch.slice(plus + 1).split('.');
    patch = patch.slice(0, plus);
  }
  const dash = patch.indexOf('-');
  if (dash !== -1) {
    pre = patch.slice(dash + 1).split('.');
    patch = patch.slice(0, dash);
  }
  if (!isNumberField(patch)) return undefined;
  if (!pre.every((id) => (DIGITS.test(id) ? isNumberField(id) : ALPHANUM.test(id))))
    return undefined;
  if (!build.every((id) => ALPHANUM.test(id))) return undefined;
  const text = `${major}.${minor}.${patch}${pre.length > 0 ? `-${pre.join('.')}` : ''}${build.length > 0 ? `+${build.join('.')}` : ''}`;
  return { major: Number(major), minor: Number(minor), patch: Number(patch), text };
}

/**
 * kOps's fallback for a version it cannot parse: a build location holding `/v1.<minor>.`
 * (`https://example.com/k8s/v1.34.0/`) is Kubernetes 1.<minor>. Any text with it passes kOps's
 * validation, URL or not.
 */
export function isKubernetesBuildLocation(value: string): boolean {
  return parseKubernetesVersion(value) === undefined && /\/v1\.[0-9]+\./.test(value);
}

/**
 * The version as kopsless stores and renders it: a version in strict form (`1.33.1`, `v1.33.1`)
 * is kept as written, so nothing rendered from an existing spec changes; a form only kOps's
 * tolerant parser reads (`1.34`, ` 1.34.0 `, `v1.34`, `1.034.0`) becomes its full version. Anything
 * else (a build location, an invalid value) is returned unchanged for validation to judge.
 */
export function canonicalKubernetesVersion(value: string): string {
  const parsed = parseKubernetesVersion(value);
  if (!parsed || value === parsed.text || value === `v${parsed.text}`) return value;
  return parsed.text;
}

/**
 * The range check kOps makes before it applies a cluster. Only parseable versions are checked:
 * an unparseable one already has its own error, and a build URL is reported unsupported.
 */
export function kubernetesVersionRangeIssues(value: unknown): FieldIssue[] {
  if (typeof value !== 'string') return [];
  const version = parseKubernetesVersion(value);
  if (!version) return [];
  const range = `kOps ${KOPS_RELEASE} supports Kubernetes ${show(OLDEST_SUPPORTED_KUBERNETES_VERSION)} up to, not including, ${show(TOO_NEW_KUBERNETES_VERSION)}`;
  if (compareVersions(version, OLDEST_SUPPORTED_KUBERNETES_VERSION) < 0) {
    return [
      field.invalid(
        FIELD,
        value,
        `This version of Kubernetes is no longer supported; upgrading Kubernetes is required (${range})`,
      ),
    ];
  }
  if (compareVersions(version, TOO_NEW_KUBERNETES_VERSION) >= 0) {
    return [
      field.invalid(
        FIELD,
        value,
        `This version of kubernetes is not yet supported; upgrading kops is required (${range})`,
      ),
    ];
  }
  return [];
}

/** True for a supported version that kOps 1.37 prints its deprecation notice for. */
export function isDeprecatedKubernetesVersion(value: string): boolean {
  const version = parseKubernetesVersion(value);
  return (
    !!version &&
    compareVersions(version, OLDEST_RECOMMENDED_KUBERNETES_VERSION) < 0 &&
    kubernetesVersionRangeIssues(value).length === 0
  );
}

/**
 * The version change a running cluster may take, from the version it runs (`running`) to the one
 * asked for (`wanted`): patch changes either way, one minor version up at a time, never a minor
 * version down. Versions that cannot be parsed (a build URL) are left to the other checks.
 */
export function kubernetesVersionChangeIssues(
  running: string | undefined,
  wanted: unknown,
): FieldIssue[] {
  if (running === undefined || typeof wanted !== 'string') return [];
  const from = parseKubernetesVersion(running);
  const to = parseKubernetesVersion(wanted);
  if (!from || !to) return [];
  if (to.major !== from.major) {
    return [
      field.forbidden(
        FIELD,
        `cannot change the major version of a running cluster from ${show(from)} to ${show(to)}`,
      ),
    ];
  }
  if (to.minor > from.minor + 1) {
    const next = `${from.major}.${from.minor + 1}`;
    return [
      field.forbidden(
        FIELD,
        `cannot upgrade the control plane from ${show(from)} to ${show(to)}: Kubernetes upgrades one minor version at a time; upgrade to ${next} first (set spec.kubernetesVersion to a ${next}.x version, update cluster, rolling-update cluster)`,
      ),
    ];
  }
  if (to.minor < from.minor) {
    return [
      field.forbidden(
        FIELD,
        `cannot downgrade a running cluster from ${show(from)} to ${show(to)}: minor version downgrades are not supported (patch versions of ${from.major}.${from.minor} may go down)`,
      ),
    ];
  }
  return [];
}
