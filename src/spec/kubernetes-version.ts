import type { FieldIssue } from '../errors.js';
import { field } from './field.js';
import { parseKubernetesVersion } from './validate.js';

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
export const OLDEST_SUPPORTED_KUBERNETES_VERSION: KubernetesVersion = { major: 1, minor: 32, patch: 0 };
/** kOps 1.37's `OldestRecommendedKubernetesVersion`: older supported versions are deprecated. */
export const OLDEST_RECOMMENDED_KUBERNETES_VERSION: KubernetesVersion = { major: 1, minor: 34, patch: 0 };
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
    return [field.invalid(FIELD, value, `This version of Kubernetes is no longer supported; upgrading Kubernetes is required (${range})`)];
  }
  if (compareVersions(version, TOO_NEW_KUBERNETES_VERSION) >= 0) {
    return [field.invalid(FIELD, value, `This version of kubernetes is not yet supported; upgrading kops is required (${range})`)];
  }
  return [];
}

/** True for a supported version that kOps 1.37 prints its deprecation notice for. */
export function isDeprecatedKubernetesVersion(value: string): boolean {
  const version = parseKubernetesVersion(value);
  return !!version && compareVersions(version, OLDEST_RECOMMENDED_KUBERNETES_VERSION) < 0 && kubernetesVersionRangeIssues(value).length === 0;
}

/**
 * The version change a running cluster may take, from the version it runs (`running`) to the one
 * asked for (`wanted`): patch changes either way, one minor version up at a time, never a minor
 * version down. Versions that cannot be parsed (a build URL) are left to the other checks.
 */
export function kubernetesVersionChangeIssues(running: string | undefined, wanted: unknown): FieldIssue[] {
  if (running === undefined || typeof wanted !== 'string') return [];
  const from = parseKubernetesVersion(running);
  const to = parseKubernetesVersion(wanted);
  if (!from || !to) return [];
  if (to.major !== from.major) {
    return [field.forbidden(FIELD, `cannot change the major version of a running cluster from ${show(from)} to ${show(to)}`)];
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
    return [field.forbidden(FIELD, `cannot downgrade a running cluster from ${show(from)} to ${show(to)}: minor version downgrades are not supported (patch versions of ${from.major}.${from.minor} may go down)`)];
  }
  return [];
}
