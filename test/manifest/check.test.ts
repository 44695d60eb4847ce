import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { checkExitCode, checkManifest } from '../../src/manifest/check.js';
import { completeManifest } from '../../src/manifest/defaults.js';
import { editManifest, readFixture, readReference, referenceManifests } from '../helpers.js';

const minimal = readFixture('minimal-aws.yaml');
const seed = readFixture('seed.yaml');

function errorsOf(text: string): string[] {
  return checkManifest(text).errors.map((e) => `${e.path}: ${e.message}`);
}

describe('reference kOps manifests', () => {
  it.each(referenceManifests())('%s is valid for kOps: exit 0 or 3, never 1', (name) => {
    const check = checkManifest(readReference(name));

    expect(check.errors).toEqual([]);
    expect([0, 3]).toContain(checkExitCode(check));
  });

  it('minimal-aws is fully supported (exit 0)', () => {
    expect(checkExitCode(checkManifest(readReference('update_cluster_minimal-aws.yaml')))).toBe(0);
  });

  it("builds kOps's HA create output: three control-plane groups behind the API load balancer", () => {
    const check = checkManifest(readReference('create_cluster_ha.yaml'));

    expect(check.errors).toEqual([]);
    expect(check.unsupported).toEqual([]);
  });

  it('builds a mixed instances policy: nothing under it is unsupported', () => {
    const check = checkManifest(readReference('update_cluster_mixed_instances.yaml'));

    expect(check.errors).toEqual([]);
    expect(check.unsupported.map((u) => u.path)).not.toContainEqual(
      expect.stringContaining('mixedInstancesPolicy'),
    );
  });

  it('reports Cilium networking as unsupported, not invalid', () => {
    const check = checkManifest(readReference('update_cluster_privatecilium-eni.yaml'));

    expect(check.valid).toBe(true);
    expect(check.unsupported.map((u) => u.path)).toContain('spec.networking.cilium');
  });

  it('accepts subnets inside an additionalNetworkCIDR', () => {
    expect(checkManifest(readReference('update_cluster_complex.yaml')).errors).toEqual([]);
  });
});

describe('seed manifest', () => {
  it('is valid and fully supported, with the etcd sizing only noted as ignored', () => {
    const check = checkManifest(readFixture('seed.yaml'));

    expect(checkExitCode(check)).toBe(0);
    expect(check.ignored.map((i) => i.path)).toContain('spec.etcdClusters[0].cpuRequest');
  });
});

describe('cluster rules', () => {
  it('requires the cluster name to be a DNS name', () => {
    const text = editManifest(minimal, (c) => (c.metadata.name = 'Bad_Name.example.com'));

    expect(
      errorsOf(text).some((e) =>
        e.startsWith(
          'metadata.name: Invalid value: "Bad_Name.example.com": Cluster Name must be a valid DNS name',
        ),
      ),
    ).toBe(true);
  });

  it('refuses a cluster name over 106 characters, which no AWS tag key kubernetes.io/cluster/<name> can hold', () => {
    const name = `${'a'.repeat(60)}.${'b'.repeat(34)}.example.com`;
    const text = minimal.replaceAll('minimal-aws.example.com', name);

    expect(name).toHaveLength(107);
    expect(errorsOf(text)).toEqual([
      'metadata.name: Too long: must have at most 106 bytes (the tag key kubernetes.io/cluster/<name> is limited to 128 characters by AWS)',
    ]);
  });

  it('accepts a cluster name of 106 characters', () => {
    const name = `${'a'.repeat(60)}.${'b'.repeat(33)}.example.com`;

    expect(name).toHaveLength(106);
    expect(errorsOf(minimal.replaceAll('minimal-aws.example.com', name))).toEqual([]);
  });

  it('says a DNS label over 63 characters is too long, rather than quoting a regex', () => {
    const text = minimal.replaceAll('minimal-aws.example.com', `${'a'.repeat(64)}.example.com`);

    expect(errorsOf(text)).toContain(
      `metadata.name: Invalid value: "${'a'.repeat(64)}.example.com": Cluster Name must be a valid DNS name (e.g. --name=mycluster.myzone.com) errors: each dot-separated label must be no more than 63 characters ("aaaaaaaaaaaaaaaaaaaa..." has 64)`,
    );
  });

  it("refuses a cluster name whose first label is internal: its api record is another cluster's internal one", () => {
    const text = minimal.replaceAll('minimal-aws.example.com', 'internal.b.example.com');

    const check = checkManifest(text);

    expect(check.errors.map((e) => `${e.path}: ${e.message}`)).toContain(
      'metadata.name: Invalid value: "internal.b.example.com": Cluster Name "internal.b.example.com" cannot be used: its first label is "internal": its API record api.internal.b.example.com would be the internal API record of cluster b.example.com',
    );
    expect(checkExitCode(check)).toBe(1);
  });

  it('accepts a cluster name whose first label only starts with internal, or is api', () => {
    for (const name of ['internal-tools.example.com', 'api.example.com'])
      expect(errorsOf(minimal.replaceAll('minimal-aws.example.com', name))).toEqual([]);
  });

  it('requires a fully-qualified cluster name', () => {
    const text = editManifest(minimal, (c) => (c.metadata.name = 'minimal'));

    expect(errorsOf(text)).toContain(
      'metadata.name: Invalid value: "minimal": Cluster Name must be a fully-qualified DNS name (e.g. --name=mycluster.myzone.com)',
    );
  });

  it('requires kubernetesVersion', () => {
    const text = editManifest(minimal, (c) => delete c.spec.kubernetesVersion);

    expect(errorsOf(text)).toContain('spec.kubernetesVersion: Required value');
  });

  it('rejects an unparseable kubernetesVersion', () => {
    const text = editManifest(minimal, (c) => (c.spec.kubernetesVersion = 'one.thirty'));

    expect(errorsOf(text)).toContain(
      'spec.kubernetesVersion: Invalid value: "one.thirty": unable to parse kubernetes version',
    );
  });

  it('requires networkCIDR', () => {
    const text = editManifest(minimal, (c) => delete c.spec.networkCIDR);

    expect(errorsOf(text)[0]).toMatch(/^spec\.networkCIDR: Required value/);
  });

  it('rejects a subnet outside networkCIDR, naming its index', () => {
    const text = editManifest(minimal, (c) => {
      c.spec.subnets.push({
        name: 'us-test-1b',
        zone: 'us-test-1b',
        type: 'Public',
        cidr: '10.0.0.0/24',
      });
    });

    expect(errorsOf(text)).toContain(
      'spec.subnets[1].cidr: Forbidden: subnet "us-test-1b" cidr "10.0.0.0/24" is not a subnet of the networkCIDR "172.20.0.0/16"',
    );
  });

  it('rejects overlapping subnets', () => {
    const text = editManifest(minimal, (c) => {
      c.spec.subnets.push({
        name: 'us-test-1b',
        zone: 'us-test-1b',
        type: 'Public',
        cidr: '172.20.48.0/20',
      });
    });

    expect(errorsOf(text)).toContain(
      'spec.subnets[1].cidr: Forbidden: subnet "us-test-1b" cidr "172.20.48.0/20" overlaps subnet "us-test-1a" cidr "172.20.32.0/19"',
    );
  });

  it('names every earlier subnet an overlapping one overlaps, outer and inner', () => {
    const text = editManifest(minimal, (c) => {
      c.spec.subnets.push({
        name: 'inner',
        zone: 'us-test-1a',
        type: 'Public',
        cidr: '172.20.40.0/24',
      });
      c.spec.subnets.push({
        name: 'middle',
        zone: 'us-test-1a',
        type: 'Public',
        cidr: '172.20.40.0/22',
      });
      c.spec.subnets.push({
        name: 'apart',
        zone: 'us-test-1a',
        type: 'Public',
        cidr: '172.20.0.0/24',
      });
    });

    expect(errorsOf(text).filter((e) => e.includes('overlaps'))).toEqual([
      'spec.subnets[1].cidr: Forbidden: subnet "inner" cidr "172.20.40.0/24" overlaps subnet "us-test-1a" cidr "172.20.32.0/19"',
      'spec.subnets[2].cidr: Forbidden: subnet "middle" cidr "172.20.40.0/22" overlaps subnet "us-test-1a" cidr "172.20.32.0/19"',
      'spec.subnets[2].cidr: Forbidden: subnet "middle" cidr "172.20.40.0/22" overlaps subnet "inner" cidr "172.20.40.0/24"',
    ]);
  });

  it('rejects a CIDR with host bits set, suggesting the network', () => {
    const text = editManifest(minimal, (c) => (c.spec.subnets[0].cidr = '172.20.33.0/19'));

    expect(errorsOf(text)).toContain(
      'spec.subnets[0].cidr: Invalid value: "172.20.33.0/19": Network contains bits outside prefix (did you mean "172.20.32.0/19")',
    );
  });

  it('rejects an unknown subnet type with the supported values', () => {
    const text = editManifest(minimal, (c) => (c.spec.subnets[0].type = 'Secret'));

    expect(errorsOf(text)).toContain(
      'spec.subnets[0].type: Unsupported value: "Secret": supported values: "Public", "Private", "Utility", "DualStack"',
    );
  });

  it('rejects an even number of etcd members', () => {
    const text = editManifest(readReference('update_cluster_ha.yaml'), (c) =>
      c.spec.etcdClusters[0].etcdMembers.pop(),
    );

    expect(
      errorsOf(text).some((e) =>
        e.startsWith('spec.etcdClusters[0].etcdMembers: Invalid value: 2: Should be an odd number'),
      ),
    ).toBe(true);
  });

  it('rejects two networking options', () => {
    const text = editManifest(minimal, (c) => (c.spec.networking = { cni: {}, amazonvpc: {} }));

    expect(errorsOf(text)).toContain(
      'spec.networking.amazonvpc: Forbidden: only one networking option permitted, found amazonvpc, cni',
    );
  });

  it('requires a control-plane and a node instance group', () => {
    const text = editManifest(minimal, (_c, groups) => groups.delete('nodes'));

    expect(errorsOf(text)).toContain(
      'instanceGroups: Required value: must have at least one InstanceGroup with role Node',
    );
  });

  it('rejects a cluster rollingUpdate with both maxSurge and maxUnavailable zero', () => {
    const text = editManifest(
      minimal,
      (c) => (c.spec.rollingUpdate = { maxSurge: 0, maxUnavailable: 0 }),
    );

    expect(errorsOf(text)).toContain(
      'spec.rollingUpdate.maxSurge: Forbidden: Cannot be zero if maxUnavailable is zero',
    );
  });

  it('reports a YAML syntax error with its line', () => {
    const errors = errorsOf(
      'apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata: {name: x\n',
    );

    expect(errors[0]).toMatch(/^documents\[0\]: YAML syntax error at line \d+/);
  });

  it('rejects another apiVersion', () => {
    expect(errorsOf('apiVersion: kops/v1\nkind: Cluster\n')[0]).toBe(
      'documents[0].apiVersion: Unsupported value: "kops/v1": supported values: "kops.k8s.io/v1alpha2"',
    );
  });

  it('collects every error at once', () => {
    const text = editManifest(minimal, (c) => {
      delete c.spec.kubernetesVersion;
      c.spec.subnets[0].cidr = '10.9.0.0/16';
    });

    expect(errorsOf(text)).toHaveLength(2);
  });
});

describe('instance group rules', () => {
  it('rejects maxSize below minSize', () => {
    const text = editManifest(minimal, (_c, g) =>
      Object.assign(g.get('nodes')!.spec, { minSize: 3, maxSize: 2 }),
    );

    expect(errorsOf(text)).toContain(
      'instanceGroups[nodes].spec.maxSize: Forbidden: maxSize must be greater than or equal to minSize.',
    );
  });

  it('rejects a subnet the cluster does not have', () => {
    const text = editManifest(minimal, (_c, g) => (g.get('nodes')!.spec.subnets = ['us-test-1z']));

    expect(errorsOf(text)).toContain(
      'instanceGroups[nodes].spec.subnets[0]: Not found: "us-test-1z"',
    );
  });

  it('limits a control-plane group to one instance', () => {
    const text = editManifest(minimal, (_c, g) => (g.get('master-us-test-1a')!.spec.maxSize = 3));

    expect(errorsOf(text)).toContain(
      'instanceGroups[master-us-test-1a].spec.maxSize: Invalid value: 3: controlPlane InstanceGroup must have maxSize set to 1, add more InstanceGroups instead',
    );
  });

  it('limits a control-plane group to one subnet', () => {
    const text = editManifest(readReference('update_cluster_ha.yaml'), (_c, g) => {
      g.get('master-us-test-1a')!.spec.subnets = ['us-test-1a', 'us-test-1b'];
    });

    expect(
      errorsOf(text).some((e) =>
        e.startsWith('instanceGroups[master-us-test-1a].spec.subnets: Invalid value'),
      ),
    ).toBe(true);
  });

  it('requires a control-plane group to hold a member of every etcd cluster', () => {
    const text = editManifest(
      minimal,
      (c) => (c.spec.etcdClusters[1].etcdMembers[0].instanceGroup = 'nodes'),
    );

    const errors = errorsOf(text);
    expect(errors).toContain(
      'instanceGroups[master-us-test-1a].metadata.name: Forbidden: InstanceGroup "master-us-test-1a" with role ControlPlane must have a member in etcd (IG: "nodes") cluster "events"',
    );
    expect(errors).toContain(
      'spec.etcdClusters[1].etcdMembers[0].instanceGroup: Forbidden: InstanceGroup "nodes" must have role ControlPlane to hold an etcd member',
    );
  });

  it('forbids surging a control-plane group', () => {
    const text = editManifest(
      minimal,
      (_c, g) => (g.get('master-us-test-1a')!.spec.rollingUpdate = { maxSurge: 1 }),
    );

    expect(errorsOf(text)).toContain(
      'instanceGroups[master-us-test-1a].spec.rollingUpdate.maxSurge: Forbidden: Cannot surge instance groups with role "ControlPlane"',
    );
  });

  it('rejects an unparseable percentage', () => {
    const text = editManifest(
      minimal,
      (_c, g) => (g.get('nodes')!.spec.rollingUpdate = { maxUnavailable: 'ten%' }),
    );

    expect(errorsOf(text)[0]).toMatch(
      /^instanceGroups\[nodes\]\.spec\.rollingUpdate\.maxUnavailable: Invalid value: "ten%": Unable to parse/,
    );
  });

  it('accepts percentages for surge and unavailability', () => {
    const text = editManifest(
      minimal,
      (_c, g) => (g.get('nodes')!.spec.rollingUpdate = { maxSurge: '25%', maxUnavailable: '0%' }),
    );

    expect(errorsOf(text)).toEqual([]);
  });

  it('rejects an unknown role with the supported values', () => {
    const text = editManifest(minimal, (_c, g) => (g.get('nodes')!.spec.role = 'Worker'));

    expect(errorsOf(text)).toContain(
      'instanceGroups[nodes].spec.role: Unsupported value: "Worker": supported values: "ControlPlane", "APIServer", "Node", "Bastion"',
    );
  });
});

describe('subnet names kopsless cannot give stack resources of their own', () => {
  const withSubnets = (...names: string[]) =>
    editManifest(minimal, (c) => {
      c.spec.networkCIDR = '172.20.0.0/16';
      for (const [i, name] of names.entries())
        c.spec.subnets.push({
          name,
          zone: 'us-test-1a',
          type: 'Public',
          cidr: `172.20.${i + 1}.0/24`,
        });
    });

  it.each(['us.test.1a', 'usTest1a', 'us_test_1a'])(
    'reports %s beside us-test-1a as unsupported, naming both and the ID',
    (name) => {
      const check = checkManifest(withSubnets(name));

      expect(check.errors).toEqual([]);
      expect(check.unsupported).toEqual([
        {
          path: 'spec.subnets[1].name',
          message: `not supported: subnet name "${name}" and subnet "us-test-1a" map to one CloudFormation logical ID SubnetUsTest1a (kopsless keeps letters and digits of a subnet name): rename one`,
        },
      ]);
      expect(checkExitCode(check)).toBe(3);
    },
  );

  it("reports a name that makes another subnet's route table association ID", () => {
    const check = checkManifest(withSubnets('us-test-1a-route-table-association'));

    expect(check.unsupported.map((u) => u.path)).toEqual(['spec.subnets[1].name']);
    expect(check.unsupported[0]!.message).toContain(
      'logical ID SubnetUsTest1aRouteTableAssociation',
    );
  });

  it('reports a name that makes a logical ID over 255 characters', () => {
    const check = checkManifest(withSubnets('a'.repeat(300)));

    expect(check.unsupported.map((u) => u.path)).toEqual(['spec.subnets[1].name']);
    expect(check.unsupported[0]!.message).toContain('over 255 characters');
  });

  it('accepts distinct names such as us-test-1a and us-test-1b', () => {
    expect(checkExitCode(checkManifest(withSubnets('us-test-1b')))).toBe(0);
  });
});

describe('node labels kubelet refuses', () => {
  const withLabel = (key: string) =>
    seed.replace(
      '    kops.k8s.io/instancegroup: nodes-us-east-1a\n',
      `    kops.k8s.io/instancegroup: nodes-us-east-1a\n    ${key}: "x"\n`,
    );

  it.each([
    'node-role.kubernetes.io/worker',
    'app.kubernetes.io/name',
    'kubernetes.io/role',
    'k8s.io/team',
    'example.k8s.io/tier',
  ])('reports %s as unsupported on its path (exit 3)', (key) => {
    const check = checkManifest(withLabel(key));

    expect(check.errors).toEqual([]);
    expect(check.unsupported).toEqual([
      {
        path: `instanceGroups[nodes-us-east-1a].spec.nodeLabels[${key}]`,
        message: expect.stringMatching(
          /^not supported: kubelet refuses labels in the kubernetes\.io and k8s\.io namespaces /,
        ),
      },
    ]);
    expect(checkExitCode(check)).toBe(3);
  });

  it.each([
    'node.kubernetes.io/pool',
    'kubelet.kubernetes.io/x',
    'topology.kubernetes.io/zone',
    'kubernetes.io/os',
    'example.com/team',
    'team',
  ])('accepts %s, which kubelet sets', (key) => {
    expect(checkExitCode(checkManifest(withLabel(key)))).toBe(0);
  });
});

describe('keys named like Object.prototype members are unknown fields like any other', () => {
  const KEYS = [
    'hasOwnProperty',
    'valueOf',
    'toString',
    'constructor',
    '__proto__',
    'isPrototypeOf',
  ];

  it.each(KEYS)('reports spec.%s as an unknown field (exit 1)', (key) => {
    const check = checkManifest(
      seed.replace('  channel: stable\n', `  channel: stable\n  ${key}: 1\n`),
    );

    expect(check.errors).toEqual([
      { path: `spec.${key}`, message: expect.stringMatching(`^unknown field "${key}"`) },
    ]);
    expect(check.unsupported).toEqual([]);
    expect(checkExitCode(check)).toBe(1);
  });

  it.each(KEYS)('reports %s in a subnet and in an instance group spec as unknown', (key) => {
    const text = seed
      .replace('    name: us-east-1a\n', `    name: us-east-1a\n    ${key}: x\n`)
      .replace('  machineType: t3.medium\n', `  machineType: t3.medium\n  ${key}: x\n`);

    const paths = checkManifest(text).errors.map((u) => u.path);

    expect(paths).toEqual([
      `spec.subnets[0].${key}`,
      `instanceGroups[control-plane-us-east-1a].spec.${key}`,
    ]);
  });

  it('reports a JSON "__proto__" key as unknown', () => {
    const docs = parseAllDocuments(seed).map((d) => d.toJS());
    const json = JSON.stringify(docs).replace(
      '"channel":"stable"',
      '"channel":"stable","__proto__":{"x":1}',
    );

    expect(checkManifest(json).errors).toEqual([
      { path: 'spec.__proto__', message: 'unknown field "__proto__"' },
    ]);
  });
});

describe('a field kOps does not have either', () => {
  it('is invalid, with the nearest name of its object', () => {
    const check = checkManifest(seed.replace('  kubelet:\n', '  kubelet:\n    maxPodz: 110\n'));

    expect(check.errors).toEqual([
      {
        path: 'spec.kubelet.maxPodz',
        message: 'unknown field "maxPodz" (did you mean "maxPods"?)',
      },
    ]);
    expect(checkExitCode(check)).toBe(1);
  });

  it('is told apart from a kOps setting kopsless does not build', () => {
    const check = checkManifest(
      seed.replace('  kubelet:\n', '  kubelet:\n    cpuCFSQuota: false\n'),
    );

    expect(check.errors).toEqual([]);
    expect(check.unsupported.map((u) => u.path)).toEqual(['spec.kubelet.cpuCFSQuota']);
  });
});

describe('defaults', () => {
  it('fills kOps defaults into a valid manifest', () => {
    const completed = checkManifest(readFixture('seed.yaml')).completed!;

    expect(completed.cluster.spec.masterPublicName).toBe('api.seed.example.com');
    expect(completed.cluster.spec.masterInternalName).toBe('api.internal.seed.example.com');
    expect(completed.cluster.spec.serviceClusterIPRange).toBe('100.64.0.0/13');
    expect(completed.instanceGroups[1]!.spec.rootVolumeSize).toBe(128);
    expect(completed.instanceGroups[1]!.spec.nodeLabels).toEqual({
      'kops.k8s.io/instancegroup': 'nodes-us-east-1a',
    });
  });

  it('is idempotent', () => {
    const once = checkManifest(readFixture('seed.yaml')).completed!;

    expect(completeManifest(once)).toEqual(once);
  });
});
