import { describe, expect, it } from 'vitest';
import { VPC_SESSION_TAG } from '../../src/aws/cluster-credentials.js';
import { readTemplate } from '../support/template.js';
import { actingFor, actorRoles, decide, REGION, type Role } from './policies.js';
import { vpcIdOf } from './probes.js';

// The launch and delete sessions associate a VPC with the deployment's private zone, or undo it,
// only for the VPC their session's kopsless.io/vpc tag names: the cluster's own.
const deployment = { stateBucket: 'kopsless-state-example', hostedZoneId: 'ZOWN00000000000' };
const actors = actorRoles(readTemplate(), deployment);
const ZONE = `arn:aws:route53:::hostedzone/${deployment.hostedZoneId}`;
const CLUSTER = 'a.example.com';
const vpcs = (vpcId: string) => ({ 'route53:VPCs': [`VPCId=${vpcId},VPCRegion=${REGION}`] });

function session(roleId: string, vpcId?: string): Role {
  const cluster = actingFor(actors.get(roleId)!, CLUSTER);
  return vpcId
    ? { ...cluster, principalTags: { ...cluster.principalTags, [VPC_SESSION_TAG]: vpcId } }
    : cluster;
}

describe.each([
  ['LaunchClusterActorRole', 'route53:AssociateVPCWithHostedZone'],
  ['DeleteClusterActorRole', 'route53:DisassociateVPCFromHostedZone'],
])('%s %s', (roleId, action) => {
  it("is allowed for the VPC its session's tag names", async () => {
    const decision = await decide(session(roleId, vpcIdOf(CLUSTER)), {
      action,
      resource: ZONE,
      context: vpcs(vpcIdOf(CLUSTER)),
    });

    expect(decision).toBe('Allowed');
  });

  it("is denied for any other VPC of the region, another cluster's included", async () => {
    const decisions = await Promise.all(
      [vpcIdOf('b.example.com'), 'vpc-0123456789abcdef0'].map((other) =>
        decide(session(roleId, vpcIdOf(CLUSTER)), {
          action,
          resource: ZONE,
          context: vpcs(other),
        }),
      ),
    );

    expect(decisions).toEqual(['ImplicitlyDenied', 'ImplicitlyDenied']);
  });

  it("is denied to a session without the VPC tag, even for the cluster's own VPC", async () => {
    const decision = await decide(session(roleId), {
      action,
      resource: ZONE,
      context: vpcs(vpcIdOf(CLUSTER)),
    });

    expect(decision).toBe('ImplicitlyDenied');
  });
});
