import { describe, expect, it } from 'vitest';
import type { SpecInvalidError } from '../../src/errors.js';
import { checkExitCode, checkManifest } from '../../src/manifest/check.js';
import {
  type CreateClusterFlags,
  etcdMemberNames,
  manifestFromFlags,
} from '../../src/manifest/create-cluster.js';
import type { NetworkLookup } from '../../src/manifest/create-cluster-network.js';
import type { ClusterManifest } from '../../src/manifest/types.js';
import { toManifestYaml } from '../../src/manifest/yaml.js';
import { readReference } from '../helpers.js';

// The flags of kOps's tests/integration/create_cluster cases, and the fields of their
// expected-v1alpha2.yaml that these flags decide. kOps's test cloud has vpc-12345678
// (10.0.0.0/12) with subnet-1 (10.10.0.0/24) and subnet-2 (10.11.0.0/24) in us-test-1a.
const KOPS_TEST_CLOUD: NetworkLookup = {
  vpc: { id: 'vpc-12345678', cidr: '10.0.0.0/12' },
  subnets: new Map([
    [
      'subnet-1',
      { id: 'subnet-1', vpcId: 'vpc-12345678', zone: 'us-test-1a', cidr: '10.10.0.0/24' },
    ],
    [
      'subnet-2',
      { id: 'subnet-2', vpcId: 'vpc-12345678', zone: 'us-test-1a', cidr: '10.11.0.0/24' },
    ],
  ]),
};

const base: CreateClusterFlags = {
  name: 'subnet.example.com',
  zones: ['us-test-1a'],
  networking: 'cni',
  kubernetesVersion: 'v1.32.0',
  // kOps writes DNS none without --dns-zone; these cases have none.
  dns: 'none',
};

function make(flags: Partial<CreateClusterFlags>, lookup = KOPS_TEST_CLOUD): ClusterManifest {
  return manifestFromFlags({ ...base, ...flags }, lookup);
}

const pick = (m: ClusterManifest) => {
  const { api, networkCIDR, networkID, nonMasqueradeCIDR, subnets, topology } = m.cluster.spec;
  return { api, networkCIDR, networkID, nonMasqueradeCIDR, subnets, topology };
};

describe('create cluster flags for an existing VPC, as kOps writes them', () => {
  it('shared_subnets: --network-id and --subnets', () => {
    const m = make({ networkId: 'vpc-12345678', subnets: ['subnet-1'] });

    expect(pick(m)).toEqual({
      api: { loadBalancer: { class: 'Network', type: 'Public' } },
      networkCIDR: '10.0.0.0/12',
      networkID: 'vpc-12345678',
      nonMasqueradeCIDR: '100.64.0.0/10',
      subnets: [
        {
          cidr: '10.10.0.0/24',
          id: 'subnet-1',
          name: 'us-test-1a',
          type: 'Public',
          zone: 'us-test-1a',
        },
      ],
      topology: { dns: { type: 'None' } },
    });
  });

  it('shared_subnets_vpc_lookup: --subnets alone finds the VPC of the subnet', () => {
    const m = make({ subnets: ['subnet-1'] });

    expect(m.cluster.spec.networkID).toBe('vpc-12345678');
    expect(m.cluster.spec.networkCIDR).toBe('10.0.0.0/12');
    expect(m.cluster.spec.subnets?.[0]?.id).toBe('subnet-1');
  });

  it('private_shared_subnets: --utility-subnets for the utility subnets', () => {
    const m = make({
      name: 'private-subnets.example.com',
      topology: 'private',
      networkId: 'vpc-12345678',
      subnets: ['subnet-1'],
      utilitySubnets: ['subnet-2'],
    });

    expect(m.cluster.spec.subnets).toEqual([
      {
        cidr: '10.10.0.0/24',
        id: 'subnet-1',
        name: 'us-test-1a',
        type: 'Private',
        zone: 'us-test-1a',
      },
      {
        cidr: '10.11.0.0/24',
        id: 'subnet-2',
        name: 'utility-us-test-1a',
        type: 'Utility',
        zone: 'us-test-1a',
      },
    ]);
    expect(m.cluster.spec.api).toEqual({ loadBalancer: { class: 'Network', type: 'Public' } });
  });

  it('shared_vpc: --network-id alone takes the VPC CIDR for the network', () => {
    const m = make({ name: 'vpc.example.com', networkId: 'vpc-12345678' });

    expect(m.cluster.spec.networkID).toBe('vpc-12345678');
    expect(m.cluster.spec.networkCIDR).toBe('10.0.0.0/12');
    expect(m.cluster.spec.subnets?.every((s) => s.id === undefined)).toBe(true);
  });

  it('refuses a subnet outside the VPC and two subnets of one zone, in kOps words', () => {
    const lookup: NetworkLookup = {
      ...KOPS_TEST_CLOUD,
      subnets: new Map([
        ...KOPS_TEST_CLOUD.subnets,
        [
          'subnet-9',
          { id: 'subnet-9', vpcId: 'vpc-other', zone: 'us-test-1a', cidr: '10.9.0.0/24' },
        ],
      ]),
    };

    expect(() => make({ networkId: 'vpc-12345678', subnets: ['subnet-9'] }, lookup)).toThrow(
      /subnet subnet-9 not found in VPC vpc-12345678/,
    );
    expect(() => make({ networkId: 'vpc-12345678', subnets: ['subnet-1', 'subnet-2'] })).toThrow(
      /subnet subnet-2 and subnet-1 have the same zone/,
    );
  });

  it('refuses a VPC that does not exist, naming the flag', () => {
    try {
      make({ networkId: 'vpc-404' }, { subnets: new Map() });
      expect.unreachable();
    } catch (error) {
      expect((error as SpecInvalidError).issues).toEqual([
        { path: '--network-id', message: 'VPC "vpc-404" not found' },
      ]);
    }
  });

  it('writes a manifest check accepts when only the VPC and subnets are new (DNS public)', () => {
    const m = make({ dns: 'public', networkId: 'vpc-12345678', subnets: ['subnet-1'] });
    const text = [m.cluster, ...m.instanceGroups].map(toManifestYaml).join('---\n');

    expect(checkExitCode(checkManifest(text))).toBe(0);
  });
});

describe('create cluster flags for the API and DNS, as kOps writes them', () => {
  it('--api-loadbalancer-type internal: an internal Network Load Balancer', () => {
    const m = make({ dns: 'public', apiLoadBalancerType: 'internal' });

    expect(m.cluster.spec.api).toEqual({ loadBalancer: { class: 'Network', type: 'Internal' } });
    expect(m.cluster.spec.topology).toEqual({ dns: { type: 'Public' } });
  });

  it.each([
    ['create_cluster_ha.yaml', { zones: ['us-test-1a', 'us-test-1b', 'us-test-1c'] }],
    ['create_cluster_private.yaml', { topology: 'private', bastion: true }],
    [
      'create_cluster_complex-private.yaml',
      { zones: ['us-test-1a', 'us-test-1b', 'us-test-1c'], topology: 'private', bastion: true },
    ],
  ] as Array<[string, Partial<CreateClusterFlags>]>)(
    'without --dns or --dns-zone writes what kOps wrote in %s: DNS none, a public Network Load Balancer',
    (reference, flags) => {
      const { dns: _dns, ...noDns } = base;
      const kops = checkManifest(readReference(reference)).manifest!.cluster.spec;

      const m = manifestFromFlags({ ...noDns, ...flags }, KOPS_TEST_CLOUD);

      expect(m.cluster.spec.api).toEqual(kops.api);
      expect(m.cluster.spec.topology).toEqual(kops.topology);
      expect(m.cluster.spec.topology).toEqual({ dns: { type: 'None' } });
    },
  );

  it('--dns-zone alone: DNS public and api.dns, as kOps writes them', () => {
    const { dns: _dns, ...noDns } = base;

    const m = manifestFromFlags({ ...noDns, dnsZone: 'example.com' }, KOPS_TEST_CLOUD);

    expect(m.cluster.spec.api).toEqual({ dns: {} });
    expect(m.cluster.spec.topology).toEqual({ dns: { type: 'Public' } });
  });

  it('--dns private with public topology keeps api.dns', () => {
    const m = make({ dns: 'private' });

    expect(m.cluster.spec.api).toEqual({ dns: {} });
    expect(m.cluster.spec.topology).toEqual({ dns: { type: 'Private' } });
  });
});

describe('control-plane flags, as kOps writes them', () => {
  it('ha: --control-plane-zones alone gives one control plane per zone, etcd members a, b, c', () => {
    const m = make({
      name: 'ha.example.com',
      zones: ['us-test-1a', 'us-test-1b', 'us-test-1c'],
      controlPlaneZones: ['us-test-1a', 'us-test-1b', 'us-test-1c'],
    });

    expect(
      m.instanceGroups.filter((g) => g.spec.role === 'Master').map((g) => g.metadata.name),
    ).toEqual(['control-plane-us-test-1a', 'control-plane-us-test-1b', 'control-plane-us-test-1c']);
    expect(m.cluster.spec.etcdClusters?.[0]?.etcdMembers.map((e) => e.name)).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('ha_shared_zone: --control-plane-count 3 in one zone, etcd-1 to etcd-3', () => {
    const m = make({ name: 'ha.example.com', controlPlaneCount: 3 });

    expect(m.cluster.spec.etcdClusters?.[0]?.etcdMembers).toEqual([
      { encryptedVolume: true, instanceGroup: 'control-plane-us-test-1a-1', name: 'etcd-1' },
      { encryptedVolume: true, instanceGroup: 'control-plane-us-test-1a-2', name: 'etcd-2' },
      { encryptedVolume: true, instanceGroup: 'control-plane-us-test-1a-3', name: 'etcd-3' },
    ]);
  });

  it('refuses fewer control-plane nodes than control-plane zones, in kOps words', () => {
    expect(() =>
      make({
        zones: ['us-test-1a', 'us-test-1b', 'us-test-1c'],
        controlPlaneZones: ['us-test-1a', 'us-test-1b', 'us-test-1c'],
        controlPlaneCount: 1,
      }),
    ).toThrow(/specified 3 control-plane zones, but also requested 1 control-plane nodes/);
  });

  it("names etcd members as kOps's trimCommonPrefix does", () => {
    expect(etcdMemberNames(['control-plane-us-east-1a'])).toEqual(['a']);
    expect(etcdMemberNames(['control-plane-eu-1a', 'control-plane-eu-1b'])).toEqual(['a', 'b']);
  });
});
