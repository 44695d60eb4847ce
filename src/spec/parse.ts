import { parseAllDocuments } from 'yaml';
import type { FieldIssue } from '../errors.js';
import { field } from './field.js';
import { API_VERSION, type Cluster, type ClusterManifest, type InstanceGroup } from './types.js';

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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a kOps multi-document manifest: one `Cluster` and its `InstanceGroup`s. Structural
 * problems (YAML syntax, wrong apiVersion, missing Cluster) are returned as issues; the field
 * rules live in validate.ts. Documents of other kinds kOps knows (SSHCredential, Keyset) are
 * reported by the support check, not here.
 */
export function parseManifest(text: string): ParseResult {
  const issues: FieldIssue[] = [];
  const unsupported: FieldIssue[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  if (!Array.isArray(docs)) return { errors: [field.required('documents', 'the file holds no YAML documents')], unsupported };
  let cluster: Cluster | undefined;
  const instanceGroups: InstanceGroup[] = [];
  const others: Array<{ index: number; kind: string }> = [];
  docs.forEach((doc, index) => {
    const where = `documents[${index}]`;
    for (const error of doc.errors) {
      const line = error.linePos?.[0]?.line;
      issues.push({ path: where, message: `YAML syntax error${line ? ` at line ${line}` : ''}: ${error.message.split('\n')[0]}` });
    }
    if (doc.errors.length > 0) return;
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (!isObject(value)) {
      issues.push(field.invalid(where, typeof value, 'each document must be a mapping with apiVersion, kind, metadata and spec'));
      return;
    }
    if (value.apiVersion !== API_VERSION) {
      issues.push(field.notSupported(`${where}.apiVersion`, value.apiVersion ?? '', [API_VERSION]));
      return;
    }
    const metadata = isObject(value.metadata) ? value.metadata : {};
    const spec = isObject(value.spec) ? value.spec : {};
    if (value.kind === 'Cluster') {
      if (cluster) {
        issues.push(field.forbidden(`${where}.kind`, `only one Cluster per file (found "${String(metadata.name)}" after "${cluster.metadata.name}")`));
        return;
      }
      cluster = { apiVersion: API_VERSION, kind: 'Cluster', metadata: { ...metadata, name: String(metadata.name ?? '') }, spec };
    } else if (value.kind === 'InstanceGroup') {
      instanceGroups.push({
        apiVersion: API_VERSION,
        kind: 'InstanceGroup',
        metadata: { ...metadata, name: String(metadata.name ?? '') },
        spec: spec as InstanceGroup['spec'],
      });
    } else {
      others.push({ index, kind: String(value.kind ?? '') });
    }
  });
  for (const other of others) {
    if (other.kind === '') issues.push(field.required(`documents[${other.index}].kind`));
    else unsupported.push(field.unsupported(`documents[${other.index}].kind`, `kind "${other.kind}" is not read by kopsless (only Cluster and InstanceGroup)`));
  }
  if (!cluster) {
    if (issues.length === 0) issues.push(field.required('kind', 'the file must hold one document of kind Cluster'));
    return { errors: issues, unsupported };
  }
  const clusterName = cluster.metadata.name;
  instanceGroups.forEach((ig) => {
    const owner = ig.metadata.labels?.['kops.k8s.io/cluster'];
    if (owner !== undefined && owner !== clusterName) {
      issues.push(field.invalid(igPath(ig.metadata.name, 'metadata.labels[kops.k8s.io/cluster]'), owner, `InstanceGroup belongs to another cluster than "${clusterName}"`));
    }
  });
  return { manifest: { cluster, instanceGroups }, errors: issues, unsupported };
}
