import { describe, expect, it } from 'vitest';
import { checkExitCode, checkManifest } from '../../src/manifest/check.js';
import { editManifest, readFixture } from '../helpers.js';

/** kOps's validation rules that kopsless checks, each worded as kOps words it, at its v1alpha2 path. */

const minimal = readFixture('minimal-aws.yaml');
const privateCluster = readFixture('kops/egress-elastic-ip.yaml');

function errorsOf(text: string): string[] {
  return checkManifest(text).errors.map((e) => `${e.path}: ${e.message}`);
}

describe('subnet rules', () => {
  it('rejects a zone too short to be an AWS zone', () => {
    const text = editManifest(minimal, (c) => (c.spec.subnets[0].zone = 'us'));

    expect(errorsOf(text)).toEqual([
      'spec.subnets[0].zone: Invalid value: "us": invalid AWS zone: "us" in subnet "us-test-1a"',
    ]);
  });

  it('forbids subnets in two regions', () => {
    const text = editManifest(minimal, (c) =>
      c.spec.subnets.push({
        name: 'b',
        zone: 'eu-west-1b',
        type: 'Public',
        cidr: '172.20.64.0/19',
      }),
    );

    expect(errorsOf(text)).toEqual([
      'spec.subnets[1].zone: Forbidden: Clusters cannot span multiple regions (found zone "eu-west-1b", but region is "us-test-1")',
    ]);
  });

  it('forbids mixing shared subnets (id) with subnets kOps creates', () => {
    const text = editManifest(minimal, (c) =>
      c.spec.subnets.push({
        name: 'b',
        id: 'subnet-0abc',
        zone: 'us-test-1b',
        type: 'Public',
        cidr: '172.20.64.0/19',
      }),
    );

    expect(errorsOf(text)).toEqual([
      'spec.subnets[1].id: Forbidden: cannot mix subnets with specified ID and unspecified ID',
    ]);
  });

  it('forbids a subnet cidr overlapping the service range', () => {
    const text = editManifest(minimal, (c) => {
      c.spec.networkCIDR = '100.64.0.0/16';
      c.spec.nonMasqueradeCIDR = '10.0.0.0/8';
      c.spec.serviceClusterIPRange = '100.64.0.0/24';
      c.spec.subnets[0].cidr = '100.64.0.0/20';
    });

    expect(errorsOf(text)).toEqual([
      'spec.subnets[0].cidr: Forbidden: subnet "us-test-1a" cidr "100.64.0.0/20" must not overlap serviceClusterIPRange "100.64.0.0/24"',
    ]);
  });

  it('forbids a subnet cidr overlapping the pod range, unless pods take VPC addresses', () => {
    const overlapping = (networking: object) =>
      editManifest(minimal, (c) => {
        c.spec.networking = networking;
        c.spec.nonMasqueradeCIDR = '172.16.0.0/12';
        c.spec.podCIDR = '172.20.32.0/20';
      });

    expect(errorsOf(overlapping({ cni: {} }))).toContain(
      'spec.subnets[0].cidr: Forbidden: subnet "us-test-1a" cidr "172.20.32.0/19" must not overlap podCIDR "172.20.32.0/20"',
    );
    expect(errorsOf(overlapping({ amazonvpc: {} }))).toEqual([]);
  });

  it('names the additional network CIDRs when a subnet is in none of the networks', () => {
    const text = editManifest(minimal, (c) => {
      c.spec.additionalNetworkCIDRs = ['10.1.0.0/16'];
      c.spec.subnets[0].cidr = '10.2.0.0/24';
    });

    expect(errorsOf(text)).toEqual([
      'spec.subnets[0].cidr: Forbidden: subnet "us-test-1a" cidr "10.2.0.0/24" is not a subnet of the networkCIDR "172.20.0.0/16" or an additionalNetworkCIDR',
    ]);
  });

  it('forbids an ipv6CIDR overlapping an IPv6 service range', () => {
    const text = editManifest(
      readFixture('kops/ipv6-only.yaml'),
      (c) => (c.spec.serviceClusterIPRange = '2001:db8:0:2::/108'),
    );

    expect(errorsOf(text)).toEqual([
      'spec.subnets[1].ipv6CIDR: Forbidden: ipv6CIDR "2001:db8:0:2::/64" must not overlap serviceClusterIPRange "2001:db8:0:2::/108"',
    ]);
  });

  it('forbids additional routes on a subnet that is not private', () => {
    const text = editManifest(
      privateCluster,
      (c) => (c.spec.subnets[1].additionalRoutes = [{ cidr: '10.9.0.0/16', target: 'pcx-0abc' }]),
    );

    expect(errorsOf(text)).toEqual([
      'spec.subnets[1].additionalRoutes: Forbidden: additional routes can only be added on private subnets',
    ]);
  });

  it('asks for at least one subnet in kOps words', () => {
    const text = editManifest(minimal, (c) => (c.spec.subnets = []));

    expect(errorsOf(text)).toContain(
      'spec.subnets: Required value: must configure at least one subnet (use --zones)',
    );
  });
});

describe('network range rules', () => {
  it('requires an IPv6 cluster to have the non-masquerade range ::/0', () => {
    const text = editManifest(
      readFixture('kops/ipv6-only.yaml'),
      (c) => (c.spec.nonMasqueradeCIDR = 'fd00::/8'),
    );

    expect(errorsOf(text)).toContain(
      'spec.nonMasqueradeCIDR: Forbidden: IPv6 clusters must have a nonMasqueradeCIDR of "::/0"',
    );
  });

  it('forbids a non-masquerade range overlapping the VPC when pods do not take VPC addresses', () => {
    const text = editManifest(minimal, (c) => (c.spec.nonMasqueradeCIDR = '172.16.0.0/12'));

    expect(errorsOf(text)).toEqual([
      'spec.nonMasqueradeCIDR: Forbidden: nonMasqueradeCIDR "172.16.0.0/12" cannot overlap with networkCIDR "172.20.0.0/16"',
    ]);
  });

  it('allows the non-masquerade range to be the VPC with the VPC CNI', () => {
    const text = editManifest(minimal, (c) => {
      c.spec.networking = { amazonvpc: {} };
      c.spec.nonMasqueradeCIDR = '172.20.0.0/16';
    });

    expect(errorsOf(text)).toEqual([]);
  });

  it('requires the pod range inside the non-masquerade range', () => {
    const text = editManifest(minimal, (c) => (c.spec.podCIDR = '10.0.0.0/16'));

    expect(errorsOf(text)).toEqual([
      'spec.podCIDR: Forbidden: podCIDR "10.0.0.0/16" must be a subnet of nonMasqueradeCIDR "100.64.0.0/10"',
    ]);
  });
});

describe('networking rules', () => {
  it('names every option when more than one is set', () => {
    const text = editManifest(minimal, (c) => (c.spec.networking = { cni: {}, calico: {} }));

    expect(errorsOf(text)).toEqual([
      'spec.networking.cni: Forbidden: only one networking option permitted, found calico, cni',
      'spec.networking.calico: Forbidden: only one networking option permitted, found calico, cni',
    ]);
  });

  it('forbids the networking options kOps has removed', () => {
    const text = editManifest(minimal, (c) => (c.spec.networking = { weave: {} }));

    expect(errorsOf(text)).toEqual([
      'spec.networking.weave: Forbidden: Weave is no longer supported',
    ]);
  });

  it('forbids the VPC CNI in an IPv6 cluster', () => {
    const text = editManifest(
      readFixture('kops/ipv6-only.yaml'),
      (c) => (c.spec.networking = { amazonvpc: {} }),
    );

    expect(errorsOf(text)).toEqual([
      'spec.networking.amazonvpc: Forbidden: amazon-vpc-routed-eni networking does not support IPv6',
    ]);
  });
});

describe('cluster rules', () => {
  it('forbids gossip DNS (a .k8s.local name) unless DNS is None', () => {
    const text = editManifest(minimal, (c, groups) => {
      c.metadata.name = 'minimal.k8s.local';
      for (const g of groups.values())
        g.metadata.labels['kops.k8s.io/cluster'] = 'minimal.k8s.local';
    });

    expect(errorsOf(text)).toEqual([
      expect.stringMatching(
        /^spec\.topology\.dns\.type: Forbidden: gossip DNS support was removed in kOps 1\.37; migrate/,
      ),
    ]);
  });

  it('forbids legacy IAM permissions', () => {
    const text = editManifest(minimal, (c) => (c.spec.iam = { legacy: true }));

    expect(errorsOf(text)).toEqual([
      'spec.iam.legacy: Forbidden: legacy IAM permissions are no longer supported',
    ]);
  });

  it('forbids docker as the container runtime', () => {
    const text = editManifest(minimal, (c) => (c.spec.containerRuntime = 'docker'));

    expect(errorsOf(text)).toEqual([
      expect.stringMatching(
        /^spec\.containerRuntime: Forbidden: Docker CRI support was removed in Kubernetes 1\.24/,
      ),
    ]);
  });

  it('rejects an unknown container runtime with the supported values', () => {
    const text = editManifest(minimal, (c) => (c.spec.containerRuntime = 'crio'));

    expect(errorsOf(text)).toEqual([
      'spec.containerRuntime: Unsupported value: "crio": supported values: "containerd", "docker"',
    ]);
  });

  it('forbids nodeAuthorization', () => {
    const text = editManifest(minimal, (c) => (c.spec.nodeAuthorization = { nodeAuthorizer: {} }));

    expect(errorsOf(text)).toEqual([
      expect.stringMatching(/^spec\.nodeAuthorization: Forbidden: NodeAuthorization must be empty/),
    ]);
  });

  it('requires sysctl parameters to be key=value', () => {
    const text = editManifest(
      minimal,
      (c) => (c.spec.sysctlParameters = ['net.ipv4.ip_forward=1', 'vm.swappiness']),
    );

    expect(errorsOf(text)).toEqual([
      'spec.sysctlParameters[1]: Invalid value: "vm.swappiness": must contain a "=" character',
    ]);
  });

  it('rejects an unknown update policy', () => {
    const text = editManifest(minimal, (c) => (c.spec.updatePolicy = 'Sometimes'));

    expect(errorsOf(text)).toEqual([
      'spec.updatePolicy: Unsupported value: "Sometimes": supported values: "Automatic", "External"',
    ]);
  });

  it('forbids an internal API load balancer without a private subnet', () => {
    const text = editManifest(
      minimal,
      (c) => (c.spec.api = { loadBalancer: { type: 'Internal', class: 'Network' } }),
    );

    expect(errorsOf(text)).toEqual([
      'spec.api.loadBalancer.type: Forbidden: Internal LoadBalancers must have at least one subnet of type Private',
    ]);
  });

  it('forbids a Classic API load balancer', () => {
    const text = editManifest(
      minimal,
      (c) => (c.spec.api = { loadBalancer: { type: 'Public', class: 'Classic' } }),
    );

    expect(errorsOf(text)).toEqual([
      expect.stringMatching(
        /^spec\.api\.loadBalancer\.class: Forbidden: AWS Classic Load Balancer for API is no longer supported/,
      ),
    ]);
  });
});

describe('etcd rules', () => {
  it('rejects an etcd cluster name kOps does not know', () => {
    const text = editManifest(minimal, (c) => (c.spec.etcdClusters[1].name = 'other'));

    expect(errorsOf(text)).toContain(
      'spec.etcdClusters[1].name: Unsupported value: "other": supported values: "cilium", "main", "events", "leases"',
    );
  });

  it('rejects an etcd provider other than Manager', () => {
    const text = editManifest(minimal, (c) => (c.spec.etcdClusters[0].provider = 'Legacy'));

    expect(errorsOf(text)).toEqual([
      'spec.etcdClusters[0].provider: Unsupported value: "Legacy": supported values: "Manager"',
    ]);
  });

  it('rejects an etcd version that is not etcd 3', () => {
    const text = editManifest(minimal, (c) => {
      c.spec.etcdClusters[0].version = '2.2.1';
      c.spec.etcdClusters[1].version = '2.2.1';
    });

    expect(errorsOf(text)).toContain(
      'spec.etcdClusters[0].version: Invalid value: "2.2.1": unsupported storage version, we only support major version 3',
    );
  });

  it('requires every etcd cluster to run the same version', () => {
    const text = editManifest(minimal, (c) => {
      c.spec.etcdClusters[0].version = '3.5.21';
      c.spec.etcdClusters[1].version = '3.6.4';
    });

    expect(errorsOf(text)).toEqual([
      'spec.etcdClusters[1].version: Forbidden: cluster: "events", has a different storage version: "3.6.4", both must be the same',
    ]);
  });

  it('requires a version with an etcd image', () => {
    const text = editManifest(
      minimal,
      (c) => (c.spec.etcdClusters[0].image = 'registry.k8s.io/etcd:3.5.21-0'),
    );

    expect(errorsOf(text)).toEqual([
      'spec.etcdClusters[0].version: Required value: version must be set when image is set',
    ]);
  });
});

describe('instance group rules', () => {
  it('rejects an unknown tenancy', () => {
    const text = editManifest(minimal, (_c, g) => (g.get('nodes')!.spec.tenancy = 'shared'));

    expect(errorsOf(text)).toEqual([
      'instanceGroups[nodes].spec.tenancy: Unsupported value: "shared": supported values: "default", "dedicated", "host"',
    ]);
  });

  it('rejects a root volume type EC2 does not have', () => {
    const text = editManifest(
      minimal,
      (_c, g) => (g.get('nodes')!.spec.rootVolume = { type: 'sc1' }),
    );

    expect(errorsOf(text)).toEqual([
      'instanceGroups[nodes].spec.rootVolume.type: Unsupported value: "sc1": supported values: "standard", "gp3", "gp2", "io1", "io2"',
    ]);
  });

  it('rejects negative root volume IOPS', () => {
    const text = editManifest(minimal, (_c, g) => (g.get('nodes')!.spec.rootVolume = { iops: -1 }));

    expect(errorsOf(text)).toEqual([
      'instanceGroups[nodes].spec.rootVolume.iops: Invalid value: -1: IOPS must be greater than 0',
    ]);
  });

  it('requires instance group sysctl parameters to be key=value', () => {
    const text = editManifest(
      minimal,
      (_c, g) => (g.get('nodes')!.spec.sysctlParameters = ['fs.file-max']),
    );

    expect(errorsOf(text)).toEqual([
      'instanceGroups[nodes].spec.sysctlParameters[0]: Invalid value: "fs.file-max": must contain a "=" character',
    ]);
  });

  it('forbids an APIServer group when DNS is None', () => {
    const text = editManifest(minimal, (c, g) => {
      c.spec.topology = { dns: { type: 'None' } };
      g.get('nodes')!.spec.role = 'APIServer';
      g.set('workers', {
        ...structuredClone(g.get('nodes')!),
        metadata: { name: 'workers' },
        spec: { ...g.get('nodes')!.spec, role: 'Node' },
      });
    });

    expect(errorsOf(text)).toEqual([
      'instanceGroups[nodes].spec.role: Forbidden: APIServer cannot be used with topology.dns.type=None',
    ]);
  });

  it('requires an instance profile to be an instance-profile ARN', () => {
    const text = editManifest(
      minimal,
      (_c, g) => (g.get('nodes')!.spec.iam = { profile: 'arn:aws:iam::123456789012:role/nodes' }),
    );

    expect(errorsOf(text)).toEqual([
      expect.stringMatching(
        /^instanceGroups\[nodes\]\.spec\.iam\.profile: Invalid value: "arn:aws:iam::123456789012:role\/nodes": Instance Group IAM Instance Profile must be a valid aws arn/,
      ),
    ]);
  });

  it('requires the name, content and a known type of additional user data', () => {
    const text = editManifest(
      minimal,
      (_c, g) => (g.get('nodes')!.spec.additionalUserData = [{ type: 'text/plain' }]),
    );

    expect(errorsOf(text)).toEqual([
      'instanceGroups[nodes].additionalUserData.name: Required value: field must be set',
      'instanceGroups[nodes].additionalUserData.content: Required value: field must be set',
      expect.stringMatching(
        /^instanceGroups\[nodes\]\.additionalUserData\.type: Unsupported value: "text\/plain": supported values: "text\/x-include-once-url"/,
      ),
    ]);
  });

  it('rejects a warm pool whose maxSize is below its minSize', () => {
    const text = editManifest(
      minimal,
      (_c, g) => (g.get('nodes')!.spec.warmPool = { minSize: 3, maxSize: 1 }),
    );

    expect(errorsOf(text)).toEqual([
      'instanceGroups[nodes].spec.warmPool.maxSize: Invalid value: 1: warm pool maxSize cannot be set to lower than minSize',
    ]);
  });

  it('makes a manifest that breaks one of these rules invalid (exit 1)', () => {
    const text = editManifest(minimal, (_c, g) => (g.get('nodes')!.spec.tenancy = 'shared'));

    expect(checkExitCode(checkManifest(text))).toBe(1);
  });
});
