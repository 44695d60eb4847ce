import type { StackApi } from '../aws/cloudformation.js';
import type { Ec2Api } from '../aws/ec2.js';
import type { DnsApi } from '../aws/route53.js';
import { nowFor } from '../clock.js';
import { StackFailedError, WaitTimeoutError } from '../errors.js';
import { CLUSTER_TAG, fqdn, PLACEHOLDER_IP, stackName } from '../planning/names.js';
import { requireOwned } from '../planning/ownership.js';
import type { ClusterStore } from '../state/cluster-store.js';

/**
 * The verify-DNS stage: point `api.<cluster>` (public addresses, or private ones where the
 * control plane has none) and `api.internal.<cluster>` (private addresses) at the running
 * control plane, then wait until Route53 reports the change in sync and neither record is
 * still kOps's placeholder.
 */

export type VerifyDnsInput =
  | { action: 'upsert'; cluster: string }
  | { action: 'check'; cluster: string; changeId: string; deadline: string };

export interface VerifyDnsDeps {
  store: ClusterStore;
  stacks: StackApi;
  ec2: Pick<Ec2Api, 'describeInstances'>;
  dns: DnsApi;
  dnsTimeoutSeconds: number;
  now?: () => Date;
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
  const now = nowFor(deps);
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
  const now = nowFor(deps);
  const names = await recordNames(deps.store, input.cluster);
  const zoneId = await hostedZoneId(deps.stacks, input.cluster);
  const [status, records] = await Promise.all([
    deps.dns.changeStatus(input.changeId),
    deps.dns.listRecords(zoneId),
  ]);
  const current = (name: string) =>
    records.filter((r) => r.name === name && r.type === 'A').flatMap((r) => r.values);
  const placeholders = [names.api, names.internal].filter(
    (n) => current(n).length === 0 || current(n).includes(PLACEHOLDER_IP),
  );
  const ready = status === 'INSYNC' && placeholders.length === 0;
  if (!ready && now > new Date(input.deadline)) {
    const why =
      placeholders.length > 0
        ? `${placeholders.join(' and ')} still point at the placeholder ${PLACEHOLDER_IP}`
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
    records: { [names.api]: current(names.api), [names.internal]: current(names.internal) },
  };
}

export async function verifyDns(input: VerifyDnsInput, deps: VerifyDnsDeps) {
  return input.action === 'upsert' ? upsert(input, deps) : check(input, deps);
}
