import type { FieldIssue } from '../errors.js';

/**
 * The region of an availability zone, as kOps finds it: the zone's name without its last letter
 * (`ap-northeast-2c` is in `ap-northeast-2`).
 */
export function regionOfZone(zone: string): string {
  return zone.slice(0, -1);
}

/** The zones grouped by region, in the order they were given. */
function zonesByRegion(zones: readonly string[]): Map<string, string[]> {
  const byRegion = new Map<string, string[]>();
  for (const zone of zones) {
    const region = regionOfZone(zone);
    byRegion.set(region, [...(byRegion.get(region) ?? []), zone]);
  }
  return byRegion;
}

/**
 * The one region of `zones` (kOps's `--zones`), or an issue at `path` naming the zones of each
 * region when they span several: kOps refuses a cluster across regions.
 */
export function regionOfZones(
  zones: readonly string[],
  path = '--zones',
): { region?: string; issue?: FieldIssue } {
  const byRegion = zonesByRegion(zones.filter((z) => z.length > 2));
  if (byRegion.size <= 1) {
    const [region] = byRegion.keys();
    return region === undefined ? {} : { region };
  }
  const spread = [...byRegion].map(([region, inRegion]) => `${inRegion.join(', ')} in ${region}`);
  return {
    issue: {
      path,
      message: `Invalid value: ${JSON.stringify(zones.join(','))}: clusters cannot span multiple regions (${spread.join('; ')})`,
    },
  };
}

/** The zones a cluster's subnets name (a shared subnet may leave its zone to AWS). */
export function subnetZones(spec: { subnets?: readonly { zone?: string }[] }): string[] {
  return (spec.subnets ?? []).flatMap((s) => (s.zone ? [s.zone] : []));
}

/**
 * The issue when a cluster's zones are not in the region kopsless runs in (the functions'
 * AWS_REGION): each region holds its own deployment, and one cluster's stack, instances and
 * records are made in the region of its zones. Undefined when they are, or name no zone.
 */
export function regionMismatch(
  spec: { subnets?: readonly { zone?: string }[] },
  region: string,
): FieldIssue | undefined {
  const zones = subnetZones(spec);
  const outside = zones.filter((z) => regionOfZone(z) !== region);
  if (outside.length === 0) return undefined;
  const index = (spec.subnets ?? []).findIndex((s) => s.zone === outside[0]);
  const theirs = [...new Set(outside.map(regionOfZone))].join(', ');
  return {
    path: `spec.subnets[${index}].zone`,
    message: `Invalid value: ${JSON.stringify(outside[0])}: zones ${outside.join(', ')} are in ${theirs}, but kopsless runs in ${region}: create this cluster with a kopsless deployed in ${theirs}`,
  };
}
