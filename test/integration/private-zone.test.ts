import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateHostedZoneCommand,
  GetHostedZoneCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { stackName } from '../../src/planning/names.js';
import { associationKey } from '../../src/stages/zone-vpc.js';
import { editManifest, readFixture } from '../helpers.js';
import { createCluster, startTestEnvironment, type TestEnvironment } from '../support/cluster.js';

// topology.dns.type: Private on the local backend: the records go into the account's private
// zone, the cluster's VPC is associated with it at create (its nodes resolve api.internal), and
// delete disassociates the cluster's VPC only; the user's VPC and the zone remain.

const CLUSTER = 'private.example.com';
let env: TestEnvironment;
let zoneId: string;
let userVpc: string;

async function zoneVpcs(): Promise<string[]> {
  const out = await new Route53Client({}).send(new GetHostedZoneCommand({ Id: zoneId }));
  return (out.VPCs ?? []).map((v) => v.VPCId ?? '').sort();
}

beforeAll(async () => {
  env = await startTestEnvironment();
  const vpc = await new EC2Client({}).send(new CreateVpcCommand({ CidrBlock: '10.99.0.0/16' }));
  userVpc = vpc.Vpc?.VpcId ?? '';
  // The user's private zone, as `aws route53 create-hosted-zone --vpc ...` makes it.
  const zone = await new Route53Client({}).send(
    new CreateHostedZoneCommand({
      Name: 'example.com',
      CallerReference: `private-${Date.now()}`,
      VPC: { VPCId: userVpc, VPCRegion: 'us-east-1' },
      HostedZoneConfig: { PrivateZone: true },
    }),
  );
  zoneId = (zone.HostedZone?.Id ?? '').replace('/hostedzone/', '');
}, 60_000);
afterAll(async () => env?.stop());

describe('a cluster with private DNS', () => {
  it('associates its VPC with the private zone at create', async () => {
    const manifest = editManifest(
      readFixture('seed.yaml').replaceAll('seed.example.com', CLUSTER),
      (c) => {
        c.spec.topology = { ...(c.spec.topology ?? {}), dns: { type: 'Private' } };
      },
    );

    await createCluster(env, manifest, CLUSTER);

    const stack = await new CloudFormationClient({}).send(
      new DescribeStacksCommand({ StackName: stackName(CLUSTER) }),
    );
    const outputs = Object.fromEntries(
      (stack.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]),
    );
    expect(outputs.HostedZoneId).toBe(zoneId);
    expect(await zoneVpcs()).toEqual([outputs.VpcId, userVpc].sort());
    expect(await env.objects.get(associationKey(CLUSTER))).toBeDefined();
  }, 240_000);

  it("disassociates at delete the VPC it associated, leaving the user's VPC and the zone", async () => {
    const result = await runStateMachine('delete-cluster', {
      input: { cluster: CLUSTER },
      waitMs: 20,
    });

    expect(result.error).toBeUndefined();
    expect(await zoneVpcs()).toEqual([userVpc]);
  }, 240_000);
});
