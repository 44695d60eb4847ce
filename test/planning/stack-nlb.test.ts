import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../src/manifest/check.js';
import { manifestFromFlags } from '../../src/manifest/create-cluster.js';
import { completeManifest } from '../../src/manifest/defaults.js';
import { apiLoadBalancerName, isApiLoadBalancerHost } from '../../src/planning/stack-nlb.js';
import { renderStackTemplate } from '../../src/planning/stack-template.js';
import { editManifest, readReference } from '../helpers.js';

type Resource = { Type: string; Properties: Record<string, any> };

function resources(manifest: ReturnType<typeof completeManifest>): Record<string, Resource> {
  return (
    renderStackTemplate({ manifest, stateBucket: 'state-bucket' }) as {
      Resources: Record<string, Resource>;
    }
  ).Resources;
}

const privateCluster = (type?: 'public' | 'internal') =>
  completeManifest(
    manifestFromFlags({
      name: 'nlb.example.com',
      zones: ['us-east-1a', 'us-east-1b'],
      topology: 'private',
      ...(type ? { apiLoadBalancerType: type } : {}),
    }),
  );

describe('the API Network Load Balancer in the cluster stack', () => {
  it('is internet-facing in the utility subnets for type Public', () => {
    const lb = resources(privateCluster('public')).ApiLoadBalancer!;

    expect(lb.Properties).toMatchObject({ Type: 'network', Scheme: 'internet-facing' });
    expect(lb.Properties.Subnets).toEqual([
      { Ref: 'SubnetUtilityUsEast1a' },
      { Ref: 'SubnetUtilityUsEast1b' },
    ]);
  });

  it('is internal in the private subnets for --api-loadbalancer-type internal', () => {
    const lb = resources(privateCluster('internal')).ApiLoadBalancer!;

    expect(lb.Properties.Scheme).toBe('internal');
    expect(lb.Properties.Subnets).toEqual([{ Ref: 'SubnetUsEast1a' }, { Ref: 'SubnetUsEast1b' }]);
  });

  it('goes into shared subnets by their ID and a shared VPC by its ID', () => {
    const text = editManifest(readReference('create_cluster_private.yaml'), (c) => {
      c.spec.networkID = 'vpc-0abc';
      for (const [i, subnet] of (c.spec.subnets as Array<Record<string, unknown>>).entries())
        subnet.id = `subnet-0${i}`;
    });
    const manifest = checkManifest(text).completed!;

    const all = resources(manifest);

    expect(all.ApiLoadBalancer!.Properties.Subnets).toEqual(['subnet-01']);
    expect(all.ApiTargetGroup!.Properties.VpcId).toBe('vpc-0abc');
  });

  it('forwards TCP 443 to a target group that waits 30 s before it drops a deregistered instance', () => {
    const all = resources(privateCluster());

    expect(all.ApiListener!.Properties).toMatchObject({
      Protocol: 'TCP',
      Port: 443,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: 'ApiTargetGroup' } }],
    });
    expect(all.ApiTargetGroup!.Properties.TargetGroupAttributes).toEqual([
      { Key: 'deregistration_delay.timeout_seconds', Value: '30' },
    ]);
  });

  it('has a name within 32 characters that differs between clusters', () => {
    const names = ['a.example.com', 'b.example.com', `${'x'.repeat(60)}.example.com`].map(
      apiLoadBalancerName,
    );

    expect(new Set(names).size).toBe(3);
    for (const name of names) expect(name.length).toBeLessThanOrEqual(32);
  });
});

describe("the API load balancer's DNS name", () => {
  const own = apiLoadBalancerName('nlb.example.com');

  it.each([
    `${own}-0123456789abcdef.elb.us-east-1.amazonaws.com`,
    `internal-${own}-0123456789abcdef.elb.eu-west-1.amazonaws.com`,
    `${own}-1.us-east-1.elb.amazonaws.com`,
    `${own}-0123456789abcdef.elb.cn-north-1.amazonaws.com.cn`,
  ])('is the cluster own: %s', (host) => {
    expect(isApiLoadBalancerHost('nlb.example.com', host)).toBe(true);
  });

  it('is not in another region than the functions', () => {
    const host = `${own}-0123456789abcdef.elb.eu-west-1.amazonaws.com`;

    expect(isApiLoadBalancerHost('nlb.example.com', host, 'eu-west-1')).toBe(true);
    expect(isApiLoadBalancerHost('nlb.example.com', host, 'us-east-1')).toBe(false);
    expect(
      isApiLoadBalancerHost('nlb.example.com', `${own}-1.us-east-1.elb.amazonaws.com`, 'us-east-1'),
    ).toBe(true);
  });

  it.each([
    `${apiLoadBalancerName('other.example.com')}-0123456789abcdef.elb.us-east-1.amazonaws.com`,
    `${own}-0123456789abcdef.elb.us-east-1.amazonaws.com.example.org`,
    `${own}.elb.us-east-1.amazonaws.com`,
    `x${own}-0123456789abcdef.elb.us-east-1.amazonaws.com`,
  ])('is not: %s', (host) => {
    expect(isApiLoadBalancerHost('nlb.example.com', host)).toBe(false);
  });
});
