import { CreateHostedZoneCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { hostedZonesNamed } from '../aws/route53.js';
import { bareZoneId } from '../planning/dns.js';

type Io = { out: (line: string) => void; err: (line: string) => void };

/** The command a user runs to make the public zone the demo's cluster goes into. */
export function createZoneCommand(zone: string): string {
  return `aws route53 create-hosted-zone --name ${zone} --caller-reference kopsless-demo-${zone}`;
}

/**
 * The demo's hosted zone, made as a user makes theirs before `kops create cluster` (kopsless,
 * like kOps, never creates one): the public zone `zone`, found when an earlier run made it,
 * else created with the call `createZoneCommand` prints. Exit code 0, or 1 when it fails.
 */
export async function ensureDemoZone(
  route53: Pick<Route53Client, 'send'>,
  zone: string,
  io: Io,
): Promise<number> {
  const existing = (await hostedZonesNamed(route53, zone)).find((z) => !z.Config?.PrivateZone);
  if (existing) {
    io.out(`hosted zone ${zone} exists already (${bareZoneId(existing.Id ?? '')}): using it`);
    return 0;
  }
  const out = await route53.send(
    new CreateHostedZoneCommand({
      Name: zone,
      CallerReference: `kopsless-demo-${zone}`,
      HostedZoneConfig: { Comment: 'the kopsless demo cluster goes here', PrivateZone: false },
    }),
  );
  io.out(
    `hosted zone ${zone} created (${bareZoneId(out.HostedZone?.Id ?? '')}); on AWS, the zone of a domain you own, delegated from its parent`,
  );
  return 0;
}
