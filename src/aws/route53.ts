import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  type HostedZone,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  paginateListHostedZones,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { isAwsErrorCode, rethrowAws } from '../errors.js';
import type { CompletedManifest } from '../manifest/completed.js';
import {
  bareZoneId,
  chooseHostedZone,
  type HostedZoneSummary,
  type ZoneChoice,
  zoneRequest,
} from '../planning/dns.js';
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
  /** Every hosted zone of the account (the choice of a cluster's zone needs them all, as kOps's does). */
  listHostedZones(): Promise<HostedZoneSummary[]>;
  /** One zone and the name servers Route53 serves it from; undefined when the account has no such zone. */
  hostedZone(zoneId: string): Promise<(HostedZoneSummary & { nameServers: string[] }) | undefined>;
}

function summary(zone: HostedZone): HostedZoneSummary {
  return {
    id: bareZoneId(zone.Id ?? ''),
    name: fqdn(zone.Name ?? ''),
    private: zone.Config?.PrivateZone === true,
  };
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
    async listHostedZones() {
      try {
        const zones: HostedZoneSummary[] = [];
        for await (const page of paginateListHostedZones({ client: client as Route53Client }, {}))
          zones.push(...(page.HostedZones ?? []).map(summary));
        return zones;
      } catch (error) {
        return rethrowAws(error);
      }
    },
    async hostedZone(zoneId) {
      try {
        const out = await client.send(new GetHostedZoneCommand({ Id: bareZoneId(zoneId) }));
        if (!out.HostedZone) return undefined;
        return { ...summary(out.HostedZone), nameServers: out.DelegationSet?.NameServers ?? [] };
      } catch (error) {
        if (isAwsErrorCode(error, 'NoSuchHostedZone')) return undefined;
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

/**
 * The hosted zone of a cluster's records among the account's zones (see planning/dns.ts), or
 * undefined for a cluster that publishes no records.
 */
export async function clusterZone(
  dns: Pick<DnsApi, 'listHostedZones'>,
  manifest: CompletedManifest,
): Promise<ZoneChoice | undefined> {
  const request = zoneRequest(manifest);
  if (!request) return undefined;
  return chooseHostedZone(await dns.listHostedZones(), request);
}

/**
 * Deletes one record set (name and type) with the values it holds now: Route53 deletes only on
 * an exact match, and verify-dns rewrites the values after the stack made them. A record set
 * already gone is done; one changed between the read and the delete is read again, once.
 * Errors are left to the caller.
 */
export async function deleteRecordSet(
  client: Pick<Route53Client, 'send'>,
  zoneId: string,
  name: string,
  type: string,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const current = (await recordSets(client, zoneId)).filter(
      (r) => fqdn(r.Name ?? '').toLowerCase() === fqdn(name).toLowerCase() && r.Type === type,
    );
    if (current.length === 0) return;
    try {
      await client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zoneId,
          ChangeBatch: {
            Comment: 'kopsless delete cluster',
            Changes: current.map((r) => ({ Action: 'DELETE', ResourceRecordSet: r })),
          },
        }),
      );
      return;
    } catch (error) {
      if (attempt > 0 || !isAwsErrorCode(error, 'InvalidChangeBatch')) throw error;
    }
  }
}
