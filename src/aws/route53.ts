import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  type HostedZone,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { rethrowAws } from '../errors.js';
import { fqdn } from '../planning/names.js';

export interface RecordState {
  name: string;
  type: string;
  values: string[];
}

/** The Route53 calls of the verify-DNS stage. */
export interface DnsApi {
  /** UPSERT A records (never CREATE: on moto a CREATE of an existing name duplicates it). */
  upsertA(
    zoneId: string,
    records: Array<{ name: string; values: string[] }>,
    ttl: number,
  ): Promise<string>;
  changeStatus(changeId: string): Promise<string>;
  listRecords(zoneId: string): Promise<RecordState[]>;
}

export function route53Api(client: Pick<Route53Client, 'send'>): DnsApi {
  return {
    async upsertA(zoneId, records, ttl) {
      try {
        const out = await client.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: zoneId,
            ChangeBatch: {
              Comment: 'kopsless verify-dns',
              Changes: records.map((r) => ({
                Action: 'UPSERT',
                ResourceRecordSet: {
                  Name: fqdn(r.name),
                  Type: 'A',
                  TTL: ttl,
                  ResourceRecords: r.values.map((Value) => ({ Value })),
                },
              })),
            },
          }),
        );
        return out.ChangeInfo?.Id ?? '';
      } catch (error) {
        return rethrowAws(error);
      }
    },
    async changeStatus(changeId) {
      try {
        const out = await client.send(new GetChangeCommand({ Id: changeId }));
        return out.ChangeInfo?.Status ?? 'PENDING';
      } catch (error) {
        return rethrowAws(error);
      }
    },
    async listRecords(zoneId) {
      try {
        return (await recordSets(client, zoneId)).map((r) => ({
          name: fqdn(r.Name ?? ''),
          type: r.Type ?? '',
          values: (r.ResourceRecords ?? []).map((v) => v.Value ?? ''),
        }));
      } catch (error) {
        return rethrowAws(error);
      }
    },
  };
}

/**
 * Every record set of a zone. Route53 has no SDK paginator for this list: a truncated page names
 * the record to start the next one from (name, type and, for weighted or latency records, the
 * set identifier). Errors are left to the caller.
 */
export async function recordSets(
  client: Pick<Route53Client, 'send'>,
  zoneId: string,
): Promise<ResourceRecordSet[]> {
  const records: ResourceRecordSet[] = [];
  let start: {
    StartRecordName?: string;
    StartRecordType?: ResourceRecordSet['Type'];
    StartRecordIdentifier?: string;
  } = {};
  for (;;) {
    const out = await client.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, ...start }),
    );
    records.push(...(out.ResourceRecordSets ?? []));
    if (!out.IsTruncated) return records;
    start = {
      ...(out.NextRecordName ? { StartRecordName: out.NextRecordName } : {}),
      ...(out.NextRecordType ? { StartRecordType: out.NextRecordType } : {}),
      ...(out.NextRecordIdentifier ? { StartRecordIdentifier: out.NextRecordIdentifier } : {}),
    };
  }
}

/**
 * The hosted zones whose name is exactly `name` (an account may hold several, public and
 * private). ListHostedZonesByName pages in name order from `DNSName`: the pages go on while
 * they are truncated and the next zone still has this name. Errors are left to the caller.
 */
export async function hostedZonesNamed(
  client: Pick<Route53Client, 'send'>,
  name: string,
): Promise<HostedZone[]> {
  const wanted = fqdn(name);
  const zones: HostedZone[] = [];
  let next: { DNSName: string; HostedZoneId?: string } = { DNSName: wanted };
  for (;;) {
    const out = await client.send(new ListHostedZonesByNameCommand(next));
    zones.push(...(out.HostedZones ?? []).filter((z) => fqdn(z.Name ?? '') === wanted));
    if (!out.IsTruncated || !out.NextDNSName || fqdn(out.NextDNSName) !== wanted) return zones;
    next = {
      DNSName: out.NextDNSName,
      ...(out.NextHostedZoneId ? { HostedZoneId: out.NextHostedZoneId } : {}),
    };
  }
}
