import { describe, expect, it } from 'vitest';
import { SpecInvalidError } from '../../src/errors.js';
import { checkManifest } from '../../src/manifest/check.js';
import { checkSharedNetwork } from '../../src/planning/shared-network.js';
import type { ExistingNetwork } from '../../src/planning/stack-network.js';
import { renderStackTemplate } from '../../src/planning/stack-template.js';
import { editManifest, readFixture } from '../helpers.js';

type Resource = { Type: string; Properties: Record<string, any> };

const seed = readFixture('seed.yaml');

function render(text: string, existingNetwork?: ExistingNetwork) {
  const check = checkManifest(text);
  expect(check.errors).toEqual([]);
  return renderStackTemplate({
    manifest: check.completed!,
    stateBucket: 'state-bucket',
    ...(existingNetwork ? { existingNetwork } : {}),
  }) as { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown }> };
}

const types = (t: { Resources: Record<string, Resource> }) =>
  Object.values(t.Resources).map((r) => r.Type);

describe('the stack in an existing VPC', () => {
  const inVpc = editManifest(seed, (c) => (c.spec.networkID = 'vpc-0abc'));

  it('creates no VPC and no internet gateway, and puts everything in the VPC named', () => {
    const template = render(inVpc, { internetGatewayId: 'igw-0def' });

    expect(types(template)).not.toContain('AWS::EC2::VPC');
    expect(types(template)).not.toContain('AWS::EC2::InternetGateway');
    expect(template.Outputs.VpcId!.Value).toBe('vpc-0abc');
    expect(template.Resources.SubnetUsEast1a!.Properties.VpcId).toBe('vpc-0abc');
    expect(template.Resources.MastersSecurityGroup!.Properties.VpcId).toBe('vpc-0abc');
  });

  it("routes the public subnets it creates through the VPC's internet gateway", () => {
    const template = render(inVpc, { internetGatewayId: 'igw-0def' });

    expect(template.Resources.PublicDefaultRoute!.Properties.GatewayId).toBe('igw-0def');
    expect(template.Resources.PublicDefaultRoute).not.toHaveProperty('DependsOn');
  });

  it('refuses public subnets in a VPC without an internet gateway, naming the VPC', () => {
    expect(() => render(inVpc, {})).toThrow(SpecInvalidError);
    expect(() => render(inVpc, {})).toThrow(/spec\.networkID.*"vpc-0abc"/);
  });
});

describe('the stack with existing subnets', () => {
  const shared = editManifest(seed, (c) => {
    c.spec.networkID = 'vpc-0abc';
    c.spec.subnets[0].id = 'subnet-0a';
    c.spec.subnets[1].id = 'subnet-0b';
  });

  it('creates no subnet, route table or gateway, and outputs the subnet IDs for the groups', () => {
    const template = render(shared);

    expect(
      types(template).filter((t) => t.startsWith('AWS::EC2::') && !t.includes('Security')),
    ).toEqual([]);
    expect(template.Outputs.SubnetUsEast1a!.Value).toBe('subnet-0a');
    expect(template.Outputs.SubnetUsEast1b!.Value).toBe('subnet-0b');
  });

  it('takes the VPC of the subnets when the manifest names none', () => {
    const noVpc = editManifest(shared, (c) => delete c.spec.networkID);

    const template = render(noVpc, { vpcId: 'vpc-0found' });

    expect(types(template)).not.toContain('AWS::EC2::VPC');
    expect(template.Resources.NodesSecurityGroup!.Properties.VpcId).toBe('vpc-0found');
  });
});

describe('private subnet egress', () => {
  const privateSeed = editManifest(seed, (c) => {
    c.spec.subnets = [
      { name: 'us-east-1a', zone: 'us-east-1a', type: 'Private', cidr: '172.30.0.0/18' },
      { name: 'utility-us-east-1a', zone: 'us-east-1a', type: 'Utility', cidr: '172.30.64.0/18' },
    ];
  }).replaceAll('- us-east-1b', '- us-east-1a');

  it('routes through the NAT gateway the egress names and creates none', () => {
    const text = editManifest(privateSeed, (c) => (c.spec.subnets[0].egress = 'nat-0123'));

    const template = render(text);

    expect(types(template)).not.toContain('AWS::EC2::NatGateway');
    expect(types(template)).not.toContain('AWS::EC2::EIP');
    expect(template.Resources.PrivateDefaultRouteUsEast1a!.Properties.NatGatewayId).toBe(
      'nat-0123',
    );
  });

  it('gives the NAT gateway the Elastic IP an eipalloc- egress names, and allocates none', () => {
    const text = editManifest(privateSeed, (c) => (c.spec.subnets[0].egress = 'eipalloc-0123'));

    const template = render(text);

    expect(types(template)).not.toContain('AWS::EC2::EIP');
    expect(template.Resources.NatGatewayUsEast1a!.Properties.AllocationId).toBe('eipalloc-0123');
  });

  it.each([
    ['i-0123', 'InstanceId'],
    ['tgw-0123', 'TransitGatewayId'],
  ])('routes an egress %s through it (%s) and creates no NAT gateway', (egress, property) => {
    const text = editManifest(privateSeed, (c) => (c.spec.subnets[0].egress = egress));

    const template = render(text);

    expect(types(template)).not.toContain('AWS::EC2::NatGateway');
    expect(template.Resources.PrivateDefaultRouteUsEast1a!.Properties).toEqual({
      RouteTableId: { Ref: 'PrivateRouteTableUsEast1a' },
      DestinationCidrBlock: '0.0.0.0/0',
      [property]: egress,
    });
  });

  it('leaves an External subnet without a route table of ours', () => {
    const text = editManifest(privateSeed, (c) => (c.spec.subnets[0].egress = 'External'));

    const template = render(text);

    expect(template.Resources).not.toHaveProperty('SubnetUsEast1aRouteTableAssociation');
    expect(template.Resources).not.toHaveProperty('PrivateRouteTableUsEast1a');
    expect(template.Resources).toHaveProperty('SubnetUtilityUsEast1aRouteTableAssociation');
  });

  it('keeps a NAT gateway of its own per zone without egress', () => {
    expect(types(render(privateSeed))).toContain('AWS::EC2::NatGateway');
  });
});

describe('the manifest against the existing VPC and subnets', () => {
  const spec = {
    networkID: 'vpc-1',
    networkCIDR: '10.0.0.0/16',
    subnets: [
      {
        name: 'a',
        zone: 'us-east-1a',
        type: 'Private' as const,
        id: 'subnet-1',
        cidr: '10.0.1.0/24',
      },
      { name: 'b', type: 'Utility' as const, id: 'subnet-2' } as never,
    ],
  };
  const vpc = {
    id: 'vpc-1',
    cidr: '10.0.0.0/16',
    enableDnsSupport: true,
    internetGatewayId: 'igw-1',
  };
  const subnets = new Map([
    ['subnet-1', { id: 'subnet-1', vpcId: 'vpc-1', cidr: '10.0.1.0/24', zone: 'us-east-1a' }],
    ['subnet-2', { id: 'subnet-2', vpcId: 'vpc-1', cidr: '10.0.2.0/24', zone: 'us-east-1b' }],
  ]);

  it('accepts what matches, and names the VPC and subnets to tag shared', () => {
    const check = checkSharedNetwork(spec, vpc, subnets);

    expect(check.issues).toEqual([]);
    expect(check.sharedIds).toEqual(['vpc-1', 'subnet-1', 'subnet-2']);
    expect(check.existing).toEqual({ internetGatewayId: 'igw-1' });
  });

  it("refuses a networkCIDR that is not the VPC's, in kOps words", () => {
    const check = checkSharedNetwork({ ...spec, networkCIDR: '10.1.0.0/16' }, vpc, subnets);

    expect(check.issues).toEqual([
      {
        path: 'spec.networkCIDR',
        message: 'Forbidden: field is immutable: old="10.0.0.0/16" new="10.1.0.0/16"',
      },
    ]);
  });

  it('refuses a subnet zone that differs, a missing subnet and a subnet of another VPC', () => {
    const others = new Map(subnets);
    others.set('subnet-2', { ...subnets.get('subnet-2')!, vpcId: 'vpc-9' });
    const wrong = {
      ...spec,
      subnets: [
        { ...spec.subnets[0]!, zone: 'us-east-1c' },
        spec.subnets[1]!,
        { name: 'c', type: 'Private' as const, id: 'subnet-404', zone: 'us-east-1a' },
      ],
    };

    expect(checkSharedNetwork(wrong, vpc, others).issues).toEqual([
      {
        path: 'spec.subnets[0].zone',
        message: 'Forbidden: field is immutable: old="us-east-1a" new="us-east-1c"',
      },
      { path: 'spec.subnets[1].id', message: 'subnet subnet-2 not found in VPC vpc-1' },
      { path: 'spec.subnets[2].id', message: 'subnet with id "subnet-404" not found' },
    ]);
  });

  it('refuses a VPC that does not exist or has no DNS support', () => {
    expect(checkSharedNetwork(spec, undefined, subnets).issues).toContainEqual({
      path: 'spec.networkID',
      message: 'VPC with id "vpc-1" not found',
    });
    expect(
      checkSharedNetwork(spec, { ...vpc, enableDnsSupport: false }, subnets).issues,
    ).toContainEqual({
      path: 'spec.networkID',
      message: 'VPC with id "vpc-1" was set to be shared, but did not have EnableDNSSupport=true.',
    });
  });
});
