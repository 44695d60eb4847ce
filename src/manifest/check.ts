import type { FieldIssue } from '../errors.js';
import type { CompletedManifest } from './completed.js';
import { completeManifest } from './defaults.js';
import { canonicalKubernetesVersion } from './kubernetes-version.js';
import { parseManifest } from './parse.js';
import { checkSupport } from './support.js';
import type { ClusterManifest } from './types.js';
import { validateManifest } from './validate.js';

/** The verdict on one manifest file: what `kopsless check` prints and the validate stage returns. */
export interface ManifestCheck {
  valid: boolean;
  cluster: string | null;
  instanceGroups: string[];
  errors: FieldIssue[];
  unsupported: FieldIssue[];
  /** Accepted settings that have no effect here; printed as notes. */
  ignored: FieldIssue[];
  /** The manifest as written, when it could be read. */
  manifest?: ClusterManifest;
  /** The manifest with kOps defaults filled in, when valid. */
  completed?: CompletedManifest;
}

/** Exit codes of `kopsless check`, fixed by the CLI contract. */
export const CHECK_EXIT = { valid: 0, invalid: 1, usage: 2, unsupported: 3 } as const;

/**
 * Parses, validates, checks support and completes a manifest, in that order. Takes the text, or
 * the bytes of a file or request body (then it must be UTF-8).
 */
export function checkManifest(input: string | Uint8Array): ManifestCheck {
  const parsed = parseManifest(input);
  if (!parsed.manifest) {
    return {
      valid: false,
      cluster: null,
      instanceGroups: [],
      errors: parsed.errors,
      unsupported: parsed.unsupported,
      ignored: [],
    };
  }
  // A field kOps does not know either is a typo: invalid, as kOps's strict parsing reports it.
  const { unknown } = checkSupport(parsed.manifest);
  const errors = [...parsed.errors, ...unknown, ...validateManifest(parsed.manifest)];
  const valid = errors.length === 0;
  // Errors quote the version as written; what is stored and rendered is its full form.
  const manifest = valid ? withCanonicalVersion(parsed.manifest) : parsed.manifest;
  const support = checkSupport(manifest);
  return {
    valid,
    cluster: manifest.cluster.metadata.name || null,
    instanceGroups: manifest.instanceGroups.map((ig) => ig.metadata.name),
    errors,
    unsupported: [...parsed.unsupported, ...support.unsupported],
    ignored: support.ignored,
    manifest,
    ...(valid ? { completed: completeManifest(manifest) } : {}),
  };
}

/**
 * The manifest with `spec.kubernetesVersion` in its full form (`1.34` as `1.34.0`), as kOps reads
 * it: the boot script, the version tags and kubeadm need the full version.
 */
function withCanonicalVersion(manifest: ClusterManifest): ClusterManifest {
  const version = manifest.cluster.spec.kubernetesVersion;
  if (typeof version !== 'string' || canonicalKubernetesVersion(version) === version)
    return manifest;
  return {
    ...manifest,
    cluster: {
      ...manifest.cluster,
      spec: { ...manifest.cluster.spec, kubernetesVersion: canonicalKubernetesVersion(version) },
    },
  };
}

/** The exit code for a check: invalid wins over unsupported. */
export function checkExitCode(check: ManifestCheck): number {
  if (!check.valid) return CHECK_EXIT.invalid;
  if (check.unsupported.length > 0) return CHECK_EXIT.unsupported;
  return CHECK_EXIT.valid;
}
