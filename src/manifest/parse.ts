import type { FieldIssue } from '../errors.js';
import { field } from './field.js';
import { readJson } from './manifest-json.js';
import { decodeManifest, textIssue } from './manifest-text.js';
import { readYaml } from './manifest-yaml.js';
import { isObject } from './shapes.js';
import { API_VERSION, type Cluster, type ClusterManifest, type InstanceGroup } from './types.js';

// Where the CLI reads them from (the text's limits and decoding live in manifest-text.ts).
export { decodeManifest, MANIFEST_LIMITS } from './manifest-text.js';

export interface ParseResult {
  /** Undefined when the file holds no usable Cluster document. */
  manifest?: ClusterManifest;
  errors: FieldIssue[];
  unsupported: FieldIssue[];
}

/** Path prefix under which an instance group's own fields are reported. */
export function igPath(name: string, rest = ''): string {
  return `instanceGroups[${name}]${rest ? `.${rest}` : ''}`;
}

/** kOps reads `kops/v1alpha2` as `kops.k8s.io/v1alpha2` (the group's name before it was a CRD). */
const LEGACY_API_VERSION = 'kops/v1alpha2';

/** The API groups kOps decodes as its own types; any other group is an additional object. */
const KOPS_GROUPS = ['kops.k8s.io', 'kops'];

/**
 * A document that is not of kOps's `v1alpha2` API. kOps's own groups in another version are
 * refused, as kOps refuses them; a document of any other API group is one of kOps's additional
 * objects (for example a `KubeSchedulerConfiguration` for the scheduler), which kOps stores and
 * applies to the cluster. kopsless applies none of them: reported as not supported, never invalid.
 */
function otherDocument(
  value: Record<string, unknown>,
  where: string,
): { errors: FieldIssue[]; unsupported: FieldIssue[] } {
  const apiVersion = value.apiVersion;
  if (apiVersion === undefined || apiVersion === '')
    return { errors: [field.required(`${where}.apiVersion`)], unsupported: [] };
  if (typeof apiVersion !== 'string')
    return {
      errors: [
        field.invalid(`${where}.apiVersion`, apiVersion, 'must be a string (<group>/<version>)'),
      ],
      unsupported: [],
    };
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
  if (KOPS_GROUPS.includes(group))
    return {
      errors: [field.notSupported(`${where}.apiVersion`, apiVersion, [API_VERSION])],
      unsupported: [],
    };
  const kind = value.kind;
  if (kind === undefined || kind === '')
    return { errors: [field.required(`${where}.kind`)], unsupported: [] };
  const errors: FieldIssue[] = [];
  // kOps's one rule on additional objects: the scheduler's kubeconfig is kOps's to set.
  if (kind === 'KubeSchedulerConfiguration' && group === 'kubescheduler.config.k8s.io') {
    const connection = isObject(value.clientConnection) ? value.clientConnection : {};
    const kubeconfig = connection.kubeconfig;
    if (kubeconfig !== undefined && kubeconfig !== '') {
      errors.push(
        field.invalid(
          `${where}.clientConnection.kubeconfig`,
          kubeconfig,
          'value is controlled by kOps and should not be set',
        ),
      );
    }
  }
  const unsupported = [
    field.unsupported(
      where,
      `additional object ${String(kind)} (${apiVersion}): kOps applies the documents of other APIs in its manifest to the cluster, kopsless does not`,
    ),
  ];
  return { errors, unsupported };
}

/**
 * Reads a kOps multi-document manifest: one `Cluster` and its `InstanceGroup`s, as YAML or JSON
 * documents, a JSON array of them or a `kind: List`. Structural problems (size, encoding, YAML
 * syntax, nesting, aliases, wrong apiVersion, missing Cluster) are returned as issues; the field
 * rules live in validate.ts. Documents of other kinds kOps knows (SSHCredential, Keyset) are
 * reported by the support check, not here.
 */
export function parseManifest(input: string | Uint8Array): ParseResult {
  const issues: FieldIssue[] = [];
  const unsupported: FieldIssue[] = [];
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    const decoded = decodeManifest(input);
    if ('error' in decoded) return { errors: [decoded.error], unsupported };
    text = decoded.text;
  }
  const refused = textIssue(text);
  if (refused) return { errors: [refused], unsupported };
  const values = readJson(text, issues) ?? readYaml(text, issues);
  let cluster: Cluster | undefined;
  const instanceGroups: InstanceGroup[] = [];
  const others: Array<{ where: string; kind: string }> = [];
  for (const { value, where } of values) {
    if (value === null || value === undefined) continue;
    if (!isObject(value)) {
      issues.push(
        field.invalid(
          where,
          typeof value,
          'each document must be a mapping with apiVersion, kind, metadata and spec',
        ),
      );
      continue;
    }
    if (value.apiVersion !== API_VERSION && value.apiVersion !== LEGACY_API_VERSION) {
      const other = otherDocument(value, where);
      issues.push(...other.errors);
      unsupported.push(...other.unsupported);
      continue;
    }
    const metadata = isObject(value.metadata) ? value.metadata : {};
    const spec = isObject(value.spec) ? value.spec : {};
    if (value.kind === 'Cluster') {
      if (cluster) {
        issues.push(
          field.forbidden(
            `${where}.kind`,
            `only one Cluster per file (found "${String(metadata.name)}" after "${cluster.metadata.name}")`,
          ),
        );
        continue;
      }
      cluster = {
        apiVersion: API_VERSION,
        kind: 'Cluster',
        metadata: { ...metadata, name: String(metadata.name ?? '') },
        spec,
      };
    } else if (value.kind === 'InstanceGroup') {
      instanceGroups.push({
        apiVersion: API_VERSION,
        kind: 'InstanceGroup',
        metadata: { ...metadata, name: String(metadata.name ?? '') },
        spec: spec as InstanceGroup['spec'],
      });
    } else {
      others.push({ where, kind: String(value.kind ?? '') });
    }
  }
  for (const other of others) {
    if (other.kind === '') issues.push(field.required(`${other.where}.kind`));
    else
      unsupported.push(
        field.unsupported(
          `${other.where}.kind`,
          `kind "${other.kind}" is not read by kopsless (only Cluster and InstanceGroup)`,
        ),
      );
  }
  if (!cluster) {
    if (issues.length === 0)
      issues.push(field.required('kind', 'the file must hold one document of kind Cluster'));
    return { errors: issues, unsupported };
  }
  const clusterName = cluster.metadata.name;
  instanceGroups.forEach((ig) => {
    const owner = ig.metadata.labels?.['kops.k8s.io/cluster'];
    if (owner !== undefined && owner !== clusterName) {
      issues.push(
        field.invalid(
          igPath(ig.metadata.name, 'metadata.labels[kops.k8s.io/cluster]'),
          owner,
          `InstanceGroup belongs to another cluster than "${clusterName}"`,
        ),
      );
    }
  });
  return { manifest: { cluster, instanceGroups }, errors: issues, unsupported };
}
