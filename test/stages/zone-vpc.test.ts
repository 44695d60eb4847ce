import { describe, expect, it } from 'vitest';
import type { StackState } from '../../src/aws/cloudformation.js';
import type { ZoneVpc, ZoneVpcApi } from '../../src/aws/zone-vpc.js';
import { checkManifest } from '../../src/manifest/check.js';
import { stackName } from '../../src/planning/names.js';
import {
  associateClusterVpc,
  associationKey,
  disassociateClusterVpc,
} from '../../src/stages/zone-vpc.js';
import { editManifest, readFixture } from '../helpers.js';
import { memoryObjects } from '../support/memory-objects.js';

// The cluster VPC's association with a private hosted zone: made at launch when missing, undone
// at delete only when kopsless made it, never for the zone's last VPC.
const CLUSTER = 'seed.example.com';
const ZONE = 'ZPRIVATE';
const CLUSTER_VPC = { vpcId: 'vpc-cluster', region: 'us-east-1' };
const USER_VPC = { vpcId: 'vpc-user', region: 'us-east-1' };

function manifest(dnsType: 'Public' | 'Private', networkID?: string) {
  const text = editManifest(readFixture('seed.yaml'), (c) => {
    c.spec.topology = { ...(c.spec.topology ?? {}), dns: { type: dnsType } };
    if (networkID) c.spec.networkID = networkID;
  });
  return checkManifest(text).completed!;
}

/** A private zone in memory with these VPCs, and the cluster's stack. */
function world(vpcs: ZoneVpc[], options: { private?: boolean } = {}) {
  const zone = { private: options.private ?? true, vpcs: [...vpcs] };
  const calls: string[] = [];
  const zoneVpc: ZoneVpcApi = {
    zoneVpcs: async () => ({ private: zone.private, vpcs: [...zone.vpcs] }),
    associate: async (_id, vpc) => {
      calls.push(`associate ${vpc.vpcId}`);
      zone.vpcs.push(vpc);
    },
    disassociate: async (_id, vpc) => {
      calls.push(`disassociate ${vpc.vpcId}`);
      if (zone.vpcs.length <= 1) return 'last';
      zone.vpcs = zone.vpcs.filter((v) => v.vpcId !== vpc.vpcId);
      return 'disassociated';
    },
  };
  const stack = {
    stackId: 'arn:stack',
    status: 'CREATE_COMPLETE',
    tags: { KubernetesCluster: CLUSTER },
    outputs: { HostedZoneId: ZONE, VpcId: CLUSTER_VPC.vpcId },
  } as unknown as StackState;
  const objects = memoryObjects();
  const deps = {
    zoneVpc,
    objects,
    stacks: { describe: async (name: string) => (name === stackName(CLUSTER) ? stack : undefined) },
    region: 'us-east-1',
  };
  return { zone, calls, objects, deps };
}

describe('the cluster VPC and a private hosted zone', () => {
  it('associates the cluster VPC with the private zone when it is not, and records it', async () => {
    const { zone, objects, deps } = world([USER_VPC]);

    const outcome = await associateClusterVpc(manifest('Private'), deps);

    expect(outcome).toBe('associated');
    expect(zone.vpcs).toEqual([USER_VPC, CLUSTER_VPC]);
    expect(JSON.parse((await objects.get(associationKey(CLUSTER)))!.body)).toEqual({
      zoneId: ZONE,
      ...CLUSTER_VPC,
    });
  });

  it('leaves a VPC the user had associated as it is, and at delete does not disassociate it', async () => {
    const { calls, deps } = await world([USER_VPC, CLUSTER_VPC]);

    const launched = await associateClusterVpc(manifest('Private'), deps);
    const deleted = await disassociateClusterVpc(CLUSTER, CLUSTER_VPC.vpcId, deps);

    expect(launched).toBe('already associated');
    expect(deleted).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it('does nothing for Public DNS', async () => {
    const { calls, deps } = world([USER_VPC]);

    expect(await associateClusterVpc(manifest('Public'), deps)).toBe('not private');
    expect(calls).toEqual([]);
  });

  it('at delete disassociates what it associated and forgets it', async () => {
    const { zone, objects, deps } = world([USER_VPC]);
    await associateClusterVpc(manifest('Private'), deps);

    const outcome = await disassociateClusterVpc(CLUSTER, CLUSTER_VPC.vpcId, deps);

    expect(outcome).toBe('disassociated');
    expect(zone.vpcs).toEqual([USER_VPC]);
    expect(await objects.get(associationKey(CLUSTER))).toBeUndefined();
  });

  it('associates a shared VPC but leaves it associated at delete: other clusters may use it', async () => {
    const { zone, calls, deps } = world([USER_VPC]);

    const launched = await associateClusterVpc(manifest('Private', CLUSTER_VPC.vpcId), deps);
    const deleted = await disassociateClusterVpc(CLUSTER, CLUSTER_VPC.vpcId, deps);

    expect(launched).toBe('associated');
    expect(deleted).toBeUndefined();
    expect(zone.vpcs).toEqual([USER_VPC, CLUSTER_VPC]);
    expect(calls).toEqual(['associate vpc-cluster']);
  });

  it("never disassociates the zone's last VPC", async () => {
    const { zone, calls, deps } = world([USER_VPC]);
    await associateClusterVpc(manifest('Private'), deps);
    // The user has since disassociated their own VPC: the cluster's is the zone's only one.
    zone.vpcs = [CLUSTER_VPC];

    const outcome = await disassociateClusterVpc(CLUSTER, CLUSTER_VPC.vpcId, deps);

    expect(outcome).toBe('kept as the zone last VPC');
    expect(zone.vpcs).toEqual([CLUSTER_VPC]);
    expect(calls).toEqual(['associate vpc-cluster']);
  });

  it('refuses a record naming another VPC than the cluster stack outputs, and disassociates none', async () => {
    const OTHER_VPC = { vpcId: 'vpc-other-cluster', region: 'us-east-1' };
    const { zone, calls, objects, deps } = world([USER_VPC, CLUSTER_VPC, OTHER_VPC]);
    await objects.put(associationKey(CLUSTER), JSON.stringify({ zoneId: ZONE, ...OTHER_VPC }));

    const outcome = await disassociateClusterVpc(CLUSTER, CLUSTER_VPC.vpcId, deps);

    expect(outcome).toEqual({
      refused: expect.stringContaining(
        `names VPC vpc-other-cluster, but cluster ${CLUSTER}'s VPC is vpc-cluster`,
      ),
    });
    expect(calls).toEqual([]);
    expect(zone.vpcs).toEqual([USER_VPC, CLUSTER_VPC, OTHER_VPC]);
  });

  it('refuses a record when the cluster has no VPC left to compare it with', async () => {
    const { calls, objects, deps } = world([USER_VPC, CLUSTER_VPC]);
    await objects.put(associationKey(CLUSTER), JSON.stringify({ zoneId: ZONE, ...CLUSTER_VPC }));

    const outcome = await disassociateClusterVpc(CLUSTER, undefined, deps);

    expect(outcome).toEqual({ refused: expect.stringContaining('no VPC of cluster') });
    expect(calls).toEqual([]);
  });
});
