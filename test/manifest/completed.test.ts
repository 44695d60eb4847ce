import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../src/manifest/check.js';
import {
  COMPLETED_CLUSTER_FIELDS,
  COMPLETED_INSTANCE_GROUP_FIELDS,
  type CompletedManifest,
} from '../../src/manifest/completed.js';
import { completeManifest } from '../../src/manifest/defaults.js';
import { readFixture, readReference, referenceManifests } from '../helpers.js';

/** The fields CompletedManifest's type promises that a completed manifest lacks, by path. */
function missingFields(completed: CompletedManifest): string[] {
  const missing = COMPLETED_CLUSTER_FIELDS.filter(
    (f) => completed.cluster.spec[f] === undefined,
  ).map((f) => `spec.${f}`);
  if (typeof completed.cluster.spec.topology?.dns?.type !== 'string')
    missing.push('spec.topology.dns.type');
  for (const ig of completed.instanceGroups) {
    missing.push(
      ...COMPLETED_INSTANCE_GROUP_FIELDS.filter((f) => ig.spec[f] === undefined).map(
        (f) => `instanceGroups[${ig.metadata.name}].spec.${f}`,
      ),
    );
    if (ig.metadata.labels === undefined)
      missing.push(`instanceGroups[${ig.metadata.name}].metadata.labels`);
  }
  return missing;
}

const valid = [
  ...['seed.yaml', 'minimal-aws.yaml'].map((name) => [name, readFixture(name)] as const),
  ...referenceManifests().map((name) => [name, readReference(name)] as const),
].filter(([, text]) => checkManifest(text).valid);

describe('completed manifest', () => {
  it('has valid manifests to check', () => {
    expect(valid.map(([name]) => name)).toEqual(
      expect.arrayContaining(['seed.yaml', 'minimal-aws.yaml']),
    );
  });

  it.each(valid)(
    '%s: completion sets every field the CompletedManifest type requires',
    (_name, text) => {
      const completed = checkManifest(text).completed!;

      expect(missingFields(completed)).toEqual([]);
    },
  );

  it('is a type a manifest as written does not pass for', () => {
    const written = checkManifest(readFixture('minimal-aws.yaml')).manifest!;

    // @ts-expect-error a manifest as the user wrote it is not a CompletedManifest (tsc checks this line)
    const notCompleted: CompletedManifest = written;

    expect(missingFields(notCompleted)).not.toEqual([]);
    expect(missingFields(completeManifest(written))).toEqual([]);
  });
});
