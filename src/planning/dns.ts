import type { CompletedManifest } from '../manifest/completed.js';
import { fqdn } from './names.js';

/**
 * Which of the account's hosted zones holds a cluster's records, chosen as kOps chooses it:
 * `spec.dnsZone` names one (by name or by ID); without it, the longest zone whose name is a
 * suffix of the cluster name, of the kind `spec.topology.dns.type` asks for. kopsless never
 * creates a zone: a cluster whose zone is missing is refused with kOps's own message.
 */

/** A hosted zone as the choice needs it. */
export interface HostedZoneSummary {
  /** The zone ID without the `/hostedzone/` prefix. */
  id: string;
  /** The zone name, absolute (with the trailing dot). */
  name: string;
  private: boolean;
}

/** The DNS types that put records in a hosted zone (kOps's `topology.dns.type`). */
export type ZoneDnsType = 'Public' | 'Private';

/** What the choice needs from the cluster. */
export interface ZoneRequest {
  cluster: string;
  /** `spec.dnsZone` as written: a zone name or a zone ID; unset for the default. */
  dnsZone?: string;
  dnsType: ZoneDnsType;
  /** The names the cluster writes (api.<cluster>, api.internal.<cluster>). */
  recordNames: string[];
  /**
   * The one zone this deployment may write records in (template.yaml's HostedZoneId); unset
   * for any zone of the account.
   */
  allowedZoneId?: string;
}

export type ZoneChoice = { zone: HostedZoneSummary } | { error: string };

/** The zone ID as Route53 APIs take it in `HostedZoneId` (no `/hostedzone/` prefix). */
export function bareZoneId(id: string): string {
  return id.replace(/^\/?hostedzone\//, '');
}

function trimDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** True when `name` is the zone's apex or a name below it. */
export function isInZone(name: string, zoneName: string): boolean {
  const zone = fqdn(zoneName).toLowerCase();
  const record = fqdn(name).toLowerCase();
  return record === zone || record.endsWith(`.${zone}`);
}

function zoneType(zone: HostedZoneSummary): ZoneDnsType {
  return zone.private ? 'Private' : 'Public';
}

/** kOps's `findZone`: the zone `spec.dnsZone` names, by ID or by name. */
function namedZone(zones: HostedZoneSummary[], request: ZoneRequest & { dnsZone: string }) {
  const wanted = trimDot(request.dnsZone).toLowerCase();
  const matches = zones.filter(
    (z) => z.id === bareZoneId(request.dnsZone) || trimDot(z.name).toLowerCase() === wanted,
  );
  // A name held by a public and a private zone (split horizon) is settled by the DNS type;
  // kOps stops there and asks for the ID.
  const ofType = matches.filter((z) => zoneType(z) === request.dnsType);
  const chosen = matches.length > 1 && ofType.length === 1 ? ofType : matches;
  if (chosen.length === 0)
    return {
      error: `cannot find DNS Zone ${JSON.stringify(request.dnsZone)}.  Please pre-create the zone and set up NS records so that it resolves`,
    };
  if (chosen.length > 1)
    return {
      error: `found multiple DNS Zones matching ${JSON.stringify(request.dnsZone)} (${chosen.map((z) => z.id).join(', ')}); set the cluster's spec.dnsZone to the desired Zone ID`,
    };
  return { zone: chosen[0]! };
}

/** kOps's `FindDNSHostedZone`: the longest zone of the wanted type that the cluster name ends in. */
function defaultZone(zones: HostedZoneSummary[], request: ZoneRequest): ZoneChoice {
  const clusterDnsName = `.${trimDot(request.cluster)}`;
  const suffixes = zones.filter(
    (z) =>
      clusterDnsName.toLowerCase().endsWith(`.${trimDot(z.name)}`.toLowerCase()) &&
      zoneType(z) === request.dnsType,
  );
  const longest = Math.max(-1, ...suffixes.map((z) => trimDot(z.name).length));
  const best = suffixes.filter((z) => trimDot(z.name).length === longest);
  if (best.length === 0) {
    const suffix = clusterDnsName.split('.').slice(-2).join('.');
    return {
      error: `No matching hosted zones found for ${JSON.stringify(clusterDnsName)}; please create one (e.g. ${JSON.stringify(suffix)}) first`,
    };
  }
  if (best.length > 1)
    return {
      error: `Found multiple hosted zones matching cluster ${JSON.stringify(clusterDnsName)}; please specify the ID of the zone to use (${best.map((z) => z.id).join(', ')})`,
    };
  return { zone: best[0]! };
}

/**
 * The hosted zone for a cluster's records, or kOps's error saying why there is none. A zone
 * that cannot hold the cluster's record names (Route53 refuses a name outside its zone) is
 * refused here too, so nothing is written for a cluster whose records could never be.
 */
export function chooseHostedZone(zones: HostedZoneSummary[], request: ZoneRequest): ZoneChoice {
  const choice =
    request.dnsZone !== undefined
      ? namedZone(zones, { ...request, dnsZone: request.dnsZone })
      : defaultZone(zones, request);
  if ('error' in choice) return choice;
  const outside = request.recordNames.filter((n) => !isInZone(n, choice.zone.name));
  if (outside.length > 0)
    return {
      error: `hosted zone ${trimDot(choice.zone.name)} (${choice.zone.id}) cannot hold ${outside.map(trimDot).join(' and ')}: a record must be named within its zone`,
    };
  if (request.allowedZoneId !== undefined && bareZoneId(request.allowedZoneId) !== choice.zone.id)
    return {
      error: `cluster ${request.cluster}: its records would go into hosted zone ${trimDot(choice.zone.name)} (${choice.zone.id}), but this deployment may write records only in hosted zone ${bareZoneId(request.allowedZoneId)} (its HostedZoneId parameter)`,
    };
  return choice;
}

/**
 * The zone a deployment's HostedZoneId parameter confines records to, or undefined for `*` (any
 * zone of the account) and for no value.
 */
export function allowedZoneOf(parameter: string | undefined): string | undefined {
  return parameter === undefined || parameter === '' || parameter === '*'
    ? undefined
    : bareZoneId(parameter);
}

/** The records a cluster writes, absolute: the API's public and internal names. */
export function clusterRecordNames(manifest: CompletedManifest): string[] {
  const spec = manifest.cluster.spec;
  return [fqdn(spec.masterPublicName), fqdn(spec.masterInternalName)];
}

/**
 * The zone request of a completed manifest, or undefined for a cluster that publishes no
 * records (a DNS type other than Public and Private, such as kOps's `None`).
 */
export function zoneRequest(
  manifest: CompletedManifest,
  allowedZoneId?: string,
): ZoneRequest | undefined {
  const spec = manifest.cluster.spec;
  const dnsType = spec.topology.dns.type;
  if (dnsType !== 'Public' && dnsType !== 'Private') return undefined;
  return {
    cluster: manifest.cluster.metadata.name,
    ...(spec.dnsZone !== undefined ? { dnsZone: spec.dnsZone } : {}),
    dnsType,
    recordNames: clusterRecordNames(manifest),
    ...(allowedZoneId !== undefined ? { allowedZoneId } : {}),
  };
}
