import type { StackApi } from '../aws/cloudformation.js';
import type { Ec2Api } from '../aws/ec2.js';
import type { DnsApi } from '../aws/route53.js';
import { now as clockNow } from '../clock.js';
import { SpecInvalidError, StackFailedError, WaitTimeoutError } from '../errors.js';
import { CLUSTER_TAG, fqdn, PLACEHOLDER_IP, stackName } from '../planning/names.js';
import { requireOwned } from '../planning/ownership.js';
import { API_LOAD_BALANCER_OUTPUTS } from '../planning/stack-nlb.js';
import type { ClusterStore } from '../state/cluster-store.js';
import type { VerifyDnsInput } from './inputs.js';

/**
 * The verify-DNS stage: point `api.<cluster>` (public addresses, or private ones where the
 * control plane has none) and `api.internal.<cluster>` (private addresses) at the running
 * control plane, then wait until Route53 reports the change in sync and neither record is
 * still kOps's placeholder. Given a public resolver (on AWS), a public zone's `api.<cluster>`
 * must also resolve through public DNS: records in a zone its parent does not delegate to
 * resolve for nobody, and that is refused naming the zone.
 */

/** Public DNS as the system resolver answers it (node:dns); only the lookups the check makes. */
export interface PublicResolver {
  resolve4(name: string): Promise<string[]>;
  resolveNs(name: string): Promise<string[]>;
}

export interface VerifyDnsDeps {
  store: ClusterStore;
  stacks: StackApi;
  ec2: Pick<Ec2Api, 'describeInstances'>;
  dns: DnsApi;
  /** Absent, the public-resolution check is skipped (the local backend: its zones are nobody's). */
  publicDns?: PublicResolver;
  dnsTimeoutSeconds: number;
}

const TTL_SECONDS = 60;

async function recordNames(store: ClusterStore, cluster: string) {
  const spec = (await store.readCompletedManifest(cluster)).cluster.spec;
  return { api: fqdn(spec.masterPublicName), internal: fqdn(spec.masterInternalName) };
}

async function hostedZoneId(stacks: StackApi, cluster: string): Promise<string> {
  const stack = await stacks.describe(stackName(cluster));
  // The records go into the zone of the cluster's own stack, never into one a name match found.
  if (stack) requireOwned(`CloudFormation stack ${stackName(cluster)}`, stack.tags, cluster);
  const zoneId = stack?.outputs.HostedZoneId;
  if (!zoneId) throw new StackFailedError(`stack ${stackName(cluster)} has no HostedZoneId output`);
  return zoneId;
}

async function upsert(input: { cluster: string }, deps: VerifyDnsDeps) {
  const now = clockNow();
  const instances = await deps.ec2.describeInstances([
    { Name: `tag:${CLUSTER_TAG}`, Values: [input.cluster] },
    { Name: 'tag-key', Values: ['k8s.io/role/control-plane'] },
    { Name: 'instance-state-name', Values: ['running'] },
  ]);
  const privateIps = instances
    .map((i) => i.PrivateIpAddress)
    .filter((ip): ip is string => !!ip)
    .sort();
  const publicIps = instances
    .map((i) => i.PublicIpAddress ?? i.PrivateIpAddress)
    .filter((ip): ip is string => !!ip)
    .sort();
  if (privateIps.length === 0) {
    throw new WaitTimeoutError(
      `no running control-plane instance of cluster ${input.cluster} to point the API records at`,
    );
  }
  const names = await recordNames(deps.store, input.cluster);
  const zoneId = await hostedZoneId(deps.stacks, input.cluster);
  const changeId = await deps.dns.upsertA(
    zoneId,
    [
      { name: names.api, values: publicIps },
      { name: names.internal, values: privateIps },
    ],
    TTL_SECONDS,
  );
  return {
    changeId,
    deadline: new Date(now.getTime() + deps.dnsTimeoutSeconds * 1000).toISOString(),
    records: { [names.api]: publicIps, [names.internal]: privateIps },
  };
}

async function check(
  input: { cluster: string; changeId: string; deadline: string },
  deps: VerifyDnsDeps,
) {
  const now = clockNow();
  const names = await recordNames(deps.store, input.cluster);
  const zoneId = await hostedZoneId(deps.stacks, input.cluster);
  const [status, records] = await Promise.all([
    deps.dns.changeStatus(input.changeId),
    deps.dns.listRecords(zoneId, [names.api, names.internal]),
  ]);
  const current = (name: string) =>
    records.filter((r) => r.name === name && r.type === 'A').flatMap((r) => r.values);
  const placeholders = [names.api, names.internal].filter(
    (n) => current(n).length === 0 || current(n).includes(PLACEHOLDER_IP),
  );
  const inSync = status === 'INSYNC' && placeholders.length === 0;
  const publicDns = inSync
    ? await publicResolution(names.api, zoneId, deps)
    : { state: 'waiting' as const };
  const ready = inSync && publicDns.state !== 'waiting';
  if (!ready && now > new Date(input.deadline)) {
    const why =
      placeholders.length > 0
        ? `${placeholders.join(' and ')} still point at the placeholder ${PLACEHOLDER_IP}`
        : inSync
          ? `${names.api} does not resolve through public DNS yet`
          : `change ${input.changeId} is still ${status}`;
    throw new WaitTimeoutError(
      `DNS for cluster ${input.cluster} not ready at the deadline ${input.deadline}: ${why}`,
    );
  }
  return {
    ready,
    status,
    changeId: input.changeId,
    deadline: input.deadline,
    publicDns: publicDns.state,
    records: { [names.api]: current(names.api), [names.internal]: current(names.internal) },
  };
}

function bare(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/**
 * Whether the public API name resolves through public DNS to something other than kOps's
 * placeholder. When it does not, the zone's delegation decides: a zone whose name public DNS
 * does not answer with Route53's name servers for it is not delegated, and waiting cannot help.
 */
async function publicResolution(
  apiName: string,
  zoneId: string,
  deps: VerifyDnsDeps,
): Promise<{ state: 'resolved' | 'waiting' | 'skipped' }> {
  if (!deps.publicDns) return { state: 'skipped' };
  const zone = await deps.dns.hostedZone(zoneId);
  if (!zone)
    throw new SpecInvalidError([
      {
        path: 'spec.dnsZone',
        message: `hosted zone ${zoneId}, which holds the records of ${bare(apiName)}, no longer exists`,
      },
    ]);
  // Public DNS cannot see a private zone: Route53 in sync is all there is to wait for.
  if (zone.private) return { state: 'skipped' };
  const addresses = await deps.publicDns.resolve4(bare(apiName)).catch(() => [] as string[]);
  if (addresses.length > 0 && !addresses.includes(PLACEHOLDER_IP)) return { state: 'resolved' };
  const servedBy = new Set(zone.nameServers.map(bare));
  const answered = await deps.publicDns.resolveNs(bare(zone.name)).catch((error: Error) => error);
  const delegated = Array.isArray(answered) && answered.some((ns) => servedBy.has(bare(ns)));
  if (!delegated) {
    const heard = Array.isArray(answered)
      ? `public DNS names ${answered.map(bare).join(', ') || 'no name servers'} for it`
      : `public DNS does not know it (${(answered as NodeJS.ErrnoException).code ?? answered.message})`;
    throw new SpecInvalidError([
      {
        path: 'spec.dnsZone',
        message: `hosted zone ${bare(zone.name)} (${zone.id}) is not delegated: ${heard}, not its Route53 name servers ${[...servedBy].join(', ')}; add NS records for ${bare(zone.name)} at its parent (the registrar or the parent zone) naming them, so that ${bare(apiName)} resolves`,
      },
    ]);
  }
  // Delegated, but the answer is not out yet (or a resolver still holds the placeholder).
  return { state: 'waiting' };
}

/**
 * With an API load balancer there is nothing to point: the API records are the stack's aliases to
 * it (or, with DNS None, there are none), and the control plane's instances come and go behind it.
 */
async function apiLoadBalancer(stacks: StackApi, cluster: string): Promise<string | undefined> {
  const stack = await stacks.describe(stackName(cluster));
  if (stack) requireOwned(`CloudFormation stack ${stackName(cluster)}`, stack.tags, cluster);
  return stack?.outputs[API_LOAD_BALANCER_OUTPUTS.dnsName];
}

export async function verifyDns(input: VerifyDnsInput, deps: VerifyDnsDeps) {
  // One DescribeStacks per call: the load balancer's output and the zone come from the same answer.
  const stack = await deps.stacks.describe(stackName(input.cluster));
  deps = { ...deps, stacks: { ...deps.stacks, describe: async () => stack } };
  const loadBalancer = await apiLoadBalancer(deps.stacks, input.cluster);
  if (loadBalancer)
    return {
      ready: true,
      status: 'INSYNC',
      changeId: 'none',
      deadline: new Date(clockNow().getTime() + deps.dnsTimeoutSeconds * 1000).toISOString(),
      records: {},
      loadBalancer,
    };
  return input.action === 'upsert' ? upsert(input, deps) : check(input, deps);
}
