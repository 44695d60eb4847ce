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
  /**
   * The A record sets of these names in the zone, read from where they start in the zone's
   * order (StartRecordName and StartRecordType), so the cost does not grow with the zone.
   */
  listRecords(zoneId: string, names: string[]): Promise<RecordState[]>;
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
    async listRecords(zoneId, names) {
      try {
        return (await recordSetsNamed(client, zoneId, names, 'A')).map((r) => ({
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

/** Record sets a ListResourceRecordSets page asks for when it wants a few names. */
const NAMED_PAGE_SIZE = 20;

/**
 * Where a record set sorts in a zone's list: Route53 lists by name with the labels reversed
 * (`com.example.api`), then by type.
 */
function listOrder(name: string, type: string): string {
  const labels = fqdn(name).toLowerCase().slice(0, -1).split('.').reverse().join('.');
  return `${labels}\u0000${type}`;
}

/**
 * The record sets of these names and this type (several a name only for weighted, latency and
 * similar sets), read from where the first of them starts in the zone's order rather than by
 * listing the whole zone: Route53 lists a zone sorted by name (labels reversed), then type,
 * from StartRecordName and StartRecordType. A cluster's `api.<cluster>` and
 * `api.internal.<cluster>` sort close together, so one page usually holds both; the pages go on
 * only while the next record set does not sort after the last name. Errors are left to the
 * caller.
 */
export async function recordSetsNamed(
  client: Pick<Route53Client, 'send'>,
  zoneId: string,
  names: string[],
  type: NonNullable<ResourceRecordSet['Type']>,
): Promise<ResourceRecordSet[]> {
  if (names.length === 0) return [];
  const wanted = new Set(names.map((n) => fqdn(n).toLowerCase()));
  const ordered = [...wanted].sort((x, y) => (listOrder(x, type) < listOrder(y, type) ? -1 : 1));
  const last = listOrder(ordered.at(-1)!, type);
  const found: ResourceRecordSet[] = [];
  let start: {
    StartRecordName: string;
    StartRecordType: ResourceRecordSet['Type'];
    StartRecordIdentifier?: string;
  } = { StartRecordName: ordered[0]!, StartRecordType: type };
  for (;;) {
    const out = await client.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ...start,
        MaxItems: NAMED_PAGE_SIZE,
      }),
    );
    found.push(
      ...(out.ResourceRecordSets ?? []).filter(
        (r) => wanted.has(fqdn(r.Name ?? '').toLowerCase()) && r.Type === type,
      ),
    );
    if (!out.IsTruncated || !out.NextRecordName || !out.NextRecordType) return found;
    if (listOrder(out.NextRecordName, out.NextRecordType) > last) return found;
    start = {
      StartRecordName: out.NextRecordName,
      StartRecordType: out.NextRecordType,
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
 * undefined for a cluster that publishes no records. With `allowedZoneId` (the deployment's
 * HostedZoneId parameter) any other zone is refused.
 */
export async function clusterZone(
  dns: Pick<DnsApi, 'listHostedZones'>,
  manifest: CompletedManifest,
  allowedZoneId?: string,
): Promise<ZoneChoice | undefined> {
  const request = zoneRequest(manifest, allowedZoneId);
  if (!request) return undefined;
  return chooseHostedZone(await dns.listHostedZones(), request);
}

/**
 * Deletes one record set (name and type) with the values it holds now: Route53 deletes only on
 * an exact match, and verify-dns rewrites the values after the stack made them. Only the record
 * sets of that name and type are read; one that does not exist is skipped (`absent`: a cluster
 * whose create stopped before its records were written); one changed or deleted between the
 * read and the delete is read again, once. Errors are left to the caller.
 */
export async function deleteRecordSet(
  client: Pick<Route53Client, 'send'>,
  zoneId: string,
  name: string,
  type: NonNullable<ResourceRecordSet['Type']>,
): Promise<'deleted' | 'absent'> {
  for (let attempt = 0; ; attempt++) {
    const current = await recordSetsNamed(client, zoneId, [name], type);
    if (current.length === 0) return 'absent';
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
      return 'deleted';
    } catch (error) {
      if (attempt > 0 || !isAwsErrorCode(error, 'InvalidChangeBatch')) throw error;
    }
  }
}
