import { describe, expect, it } from 'vitest';
import { SpecInvalidError } from '../../src/errors.js';
import { checkManifest } from '../../src/manifest/check.js';
import { manifestFromFlags } from '../../src/manifest/create-cluster.js';
import { completeManifest } from '../../src/manifest/defaults.js';
import { subnetLogicalIds } from '../../src/planning/names.js';
import { renderStackTemplate } from '../../src/planning/stack-template.js';
import { editManifest, readFixture, readReference } from '../helpers.js';
import { expectGolden } from '../support/golden.js';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };

/** The user's existing hosted zone the records go into. */
const USER_ZONE_ID = 'Z0123456789USERZONE';

function render(text: string) {
  const check = checkManifest(text);
  return renderStackTemplate({
    manifest: check.completed!,
    stateBucket: 'state-bucket',
    hostedZoneId: USER_ZONE_ID,
  }) as {
    Resources: Record<string, Resource>;
    Outputs: Record<string, unknown>;
  };
}

describe('cluster stack template', () => {
  it('matches the golden file for the seed cluster', () => {
    expectGolden(
      'stack-seed.json',
      `${JSON.stringify(render(readFixture('seed.yaml')), null, 2)}\n`,
    );
  });

  it('matches the golden file for a private topology with a bastion', () => {
    const manifest = completeManifest(
      manifestFromFlags({
        name: 'private.example.com',
        zones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
        topology: 'private',
        controlPlaneCount: 3,
        // A private topology's API is behind a load balancer: the records are aliases to it.
        dns: 'public',
      }),
    );
    const template = renderStackTemplate({
      manifest,
      stateBucket: 'state-bucket',
      hostedZoneId: 'Z0123456789PRIVATE',
    });

    expectGolden('stack-private.json', `${JSON.stringify(template, null, 2)}\n`);
  });

  it("creates no hosted zone: the API records go into the user's zone and outlive the stack", () => {
    const template = render(readFixture('seed.yaml'));

    const types = Object.values(template.Resources).map((r) => r.Type);
    const records = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Route53::RecordSet',
    );
    expect(types).not.toContain('AWS::Route53::HostedZone');
    expect(records.map((r) => [r.Properties.HostedZoneId, r.Properties.Name])).toEqual([
      [USER_ZONE_ID, 'api.seed.example.com.'],
      [USER_ZONE_ID, 'api.internal.seed.example.com.'],
    ]);
    expect(records.map((r) => r.DeletionPolicy)).toEqual(['Retain', 'Retain']);
    expect(template.Outputs.HostedZoneId).toEqual({ Value: USER_ZONE_ID });
  });

  it('writes no records for a cluster given no zone', () => {
    const check = checkManifest(readFixture('seed.yaml'));
    const template = renderStackTemplate({ manifest: check.completed!, stateBucket: 'b' }) as {
      Resources: Record<string, Resource>;
      Outputs: Record<string, unknown>;
    };

    expect(Object.values(template.Resources).map((r) => r.Type)).not.toContain(
      'AWS::Route53::RecordSet',
    );
    expect(template.Outputs.HostedZoneId).toBeUndefined();
  });

  it('tags every taggable resource with both kOps cluster tags', () => {
    const template = render(readFixture('seed.yaml'));

    const untagged = Object.entries(template.Resources)
      .filter(([, r]) => r.Properties.Tags)
      .filter(([, r]) => {
        const tags: Array<{ Key: string; Value: string }> = r.Properties.Tags;
        return (
          !tags.some((t) => t.Key === 'KubernetesCluster' && t.Value === 'seed.example.com') ||
          !tags.some(
            (t) => t.Key === 'kubernetes.io/cluster/seed.example.com' && t.Value === 'owned',
          )
        );
      });
    expect(untagged.map(([id]) => id)).toEqual([]);
  });

  it('publishes the API records with the kOps placeholder address', () => {
    const template = render(readFixture('seed.yaml'));

    expect(template.Resources.ApiRecord?.Properties).toMatchObject({
      Name: 'api.seed.example.com.',
      ResourceRecords: ['203.0.113.123'],
    });
    expect(template.Resources.ApiInternalRecord?.Properties).toMatchObject({
      Name: 'api.internal.seed.example.com.',
      ResourceRecords: ['203.0.113.123'],
    });
  });

  it('routes private subnets through a NAT gateway in their zone', () => {
    const template = render(
      readReference('create_cluster_private.yaml').replace(
        /api:\n\s+loadBalancer:\n\s+class: Network\n\s+type: Public/,
        'api:\n    dns: {}',
      ),
    );

    expect(template.Resources.NatGatewayUsTest1a?.Properties.SubnetId).toEqual({
      Ref: 'SubnetUtilityUsTest1a',
    });
    expect(template.Resources.SubnetUsTest1aRouteTableAssociation?.Properties.RouteTableId).toEqual(
      { Ref: 'PrivateRouteTableUsTest1a' },
    );
  });

  it('refuses private subnets without a utility subnet in their zone', () => {
    const text = editManifest(readReference('create_cluster_private.yaml'), (c) => {
      c.spec.subnets = c.spec.subnets.filter((s: { type: string }) => s.type !== 'Utility');
    });
    const check = checkManifest(text);

    expect(() => renderStackTemplate({ manifest: check.completed!, stateBucket: 'b' })).toThrow(
      SpecInvalidError,
    );
  });

  it("opens the NodePort range to nodePortAccess's sources, TCP and UDP, on the nodes only", () => {
    const text = editManifest(readFixture('seed.yaml'), (c) => {
      c.spec.nodePortAccess = ['1.2.3.4/32', 'pl-0123456789abcdef0'];
    });

    const template = render(text);

    const rules = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::EC2::SecurityGroupIngress' && r.Properties.FromPort === 30000)
      .map((r) => r.Properties);
    expect(rules).toHaveLength(4);
    for (const rule of rules) {
      expect(rule.GroupId).toEqual({ 'Fn::GetAtt': ['NodesSecurityGroup', 'GroupId'] });
      expect(rule.ToPort).toBe(32767);
    }
    expect(rules.map((r) => [r.IpProtocol, r.CidrIp ?? r.SourcePrefixListId])).toEqual([
      ['tcp', '1.2.3.4/32'],
      ['udp', '1.2.3.4/32'],
      ['tcp', 'pl-0123456789abcdef0'],
      ['udp', 'pl-0123456789abcdef0'],
    ]);
  });

  it('gives nodes the VPC CNI permissions only with amazonvpc networking', () => {
    const amazonvpc = render(readFixture('seed.yaml'));
    const byo = render(readReference('update_cluster_minimal-aws.yaml'));
    const actions = (t: typeof amazonvpc) =>
      JSON.stringify(t.Resources.NodesRole?.Properties.Policies);

    expect(actions(amazonvpc)).toContain('ec2:AssignPrivateIpAddresses');
    expect(actions(byo)).not.toContain('ec2:AssignPrivateIpAddresses');
  });
});

describe('subnet logical IDs', () => {
  it('are the only logical IDs of the template that start with Subnet, so subnet names can only collide with each other', () => {
    const template = render(readReference('create_cluster_private.yaml'));
    const subnets = (
      checkManifest(readReference('create_cluster_private.yaml')).manifest!.cluster.spec.subnets ??
      []
    ).map((s) => s.name);
    const subnetIds = new Set(subnets.flatMap((name) => Object.values(subnetLogicalIds(name))));

    const others = Object.keys(template.Resources).filter(
      (id) => id.startsWith('Subnet') && !subnetIds.has(id),
    );

    expect(subnets.length).toBeGreaterThan(1);
    expect(others).toEqual([]);
  });

  it('keep the IDs the seed cluster was deployed with', () => {
    expect(subnetLogicalIds('us-east-1a')).toEqual({
      subnet: 'SubnetUsEast1a',
      routeTableAssociation: 'SubnetUsEast1aRouteTableAssociation',
    });
  });
});

describe('cluster stack template and cfn-lint', () => {
  it("passes cfn-lint (zones are the manifest's own, so W3010 is expected)", async () => {
    const { spawnSync } = await import('node:child_process');
    const { join } = await import('node:path');
    const golden = ['stack-seed.json', 'stack-private.json'].map((f) =>
      join(__dirname, '..', 'golden', f),
    );

    const result = spawnSync('cfn-lint', ['--ignore-checks', 'W3010', '--', ...golden], {
      encoding: 'utf8',
    });

    if (result.error) throw new Error(`cfn-lint is needed for this test: ${result.error.message}`);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  }, 60_000);
});
