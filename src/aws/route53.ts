import { ChangeResourceRecordSetsCommand, GetChangeCommand, ListResourceRecordSetsCommand, type Route53Client } from '@aws-sdk/client-route-53';
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
  upsertA(zoneId: string, records: Array<{ name: string; values: string[] }>, ttl: number): Promise<string>;
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
                ResourceRecordSet: { Name: fqdn(r.name), Type: 'A', TTL: ttl, ResourceRecords: r.values.map((Value) => ({ Value })) },
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
      const records: RecordState[] = [];
      let start: { name?: string; type?: string } = {};
      try {
        for (;;) {
          const out = await client.send(
            new ListResourceRecordSetsCommand({
              HostedZoneId: zoneId,
              ...(start.name ? { StartRecordName: start.name, StartRecordType: start.type as never } : {}),
            }),
          );
          for (const r of out.ResourceRecordSets ?? []) {
            records.push({ name: fqdn(r.Name ?? ''), type: r.Type ?? '', values: (r.ResourceRecords ?? []).map((v) => v.Value ?? '') });
          }
          if (!out.IsTruncated) break;
          start = { name: out.NextRecordName, type: out.NextRecordType };
        }
      } catch (error) {
        rethrowAws(error);
      }
      return records;
    },
  };
}
