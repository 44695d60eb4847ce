import { stringify } from 'yaml';

/**
 * YAML as kOps writes it: keys sorted, sequences not indented, no anchors (a shared object, such
 * as the etcd member list of both etcd clusters, is written out in full each time).
 */
export function toManifestYaml(value: unknown): string {
  return stringify(value, {
    lineWidth: 0,
    aliasDuplicateObjects: false,
    indentSeq: false,
    sortMapEntries: true,
  });
}
