import type { CompletedManifest } from '../manifest/completed.js';
import { fqdn, PLACEHOLDER_IP } from './names.js';
import { apiLoadBalancerAlias } from './stack-nlb.js';

/**
 * The cluster's records in the user's hosted zone, as CloudFormation resources: `api.<cluster>`
 * and `api.internal.<cluster>` with kOps's placeholder address, written before the control plane
 * runs so that no resolver caches a negative answer for them; for a cluster whose API is behind a
 * load balancer, aliases to it, which need no pointing afterwards.
 *
 * They are retained when the stack goes or replaces them: verify-dns rewrites their values
 * outside CloudFormation, and Route53 refuses a DELETE whose values are not the current ones, so
 * a stack that deleted them itself would fail. The delete stage removes exactly these names, with
 * the values they hold then (stages/delete-cluster.ts); the zone itself is the user's and is
 * never created, changed or deleted.
 */
export function apiRecords(
  manifest: CompletedManifest,
  hostedZoneId: string,
  options: { loadBalancer?: boolean } = {},
): Record<string, unknown> {
  const spec = manifest.cluster.spec;
  const records = [
    ['ApiRecord', spec.masterPublicName],
    ['ApiInternalRecord', spec.masterInternalName],
  ] as const;
  return Object.fromEntries(
    records.map(([id, recordName]) => [
      id,
      {
        Type: 'AWS::Route53::RecordSet',
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          HostedZoneId: hostedZoneId,
          Name: fqdn(recordName),
          Type: 'A',
          ...(options.loadBalancer
            ? { AliasTarget: apiLoadBalancerAlias() }
            : { TTL: '60', ResourceRecords: [PLACEHOLDER_IP] }),
        },
      },
    ]),
  );
}
