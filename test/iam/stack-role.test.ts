import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../src/manifest/check.js';
import { manifestFromFlags } from '../../src/manifest/create-cluster.js';
import { toManifestYaml } from '../../src/manifest/yaml.js';
import { clusterTags, ownerTag } from '../../src/planning/names.js';
import { renderStackTemplate } from '../../src/planning/stack-template.js';
import { readTemplate } from '../support/template.js';
import { cloudFormationRequests } from './cloudformation.js';
import {
  ACCOUNT,
  CLUSTER_API_LAYER_ARN,
  CLUSTER_STACK_POLICIES,
  clusterStackRole,
  decide,
  REGION,
  resolveIntrinsics,
  SOURCE_INSTANCE_ARN,
  STACK_NAME,
  templatePolicy,
} from './policies.js';

const deployment = { stateBucket: 'kopsless-state-example' };

/** The actions the Allow statements of policies name. */
function allowedActions(...logicalIds: string[]): string[] {
  const statements = logicalIds.flatMap(
    (id) => templatePolicy(readTemplate(), id, deployment).Statement,
  );
  return [
    ...new Set(
      statements
        .filter((s) => s.Effect === 'Allow')
        .flatMap((s) => [s.Action as string | string[]].flat()),
    ),
  ].sort();
}

describe("template.yaml's cluster stack role policies", () => {
  it('ClusterStackBoundary allows exactly the actions the stack policies grant', () => {
    expect(allowedActions('ClusterStackBoundary')).toEqual(
      allowedActions(...CLUSTER_STACK_POLICIES),
    );
  });

  it("conditions every tag of the stack policies on the role's own cluster as well", () => {
    const statements = CLUSTER_STACK_POLICIES.flatMap(
      (id) => templatePolicy(readTemplate(), id, deployment).Statement,
    );
    const ownerOnly = statements.flatMap((statement) =>
      Object.values((statement.Condition ?? {}) as Record<string, Record<string, unknown>>).flatMap(
        (keys) =>
          Object.keys(keys)
            .filter((key) => key.endsWith('/kopsless.io/owner'))
            .filter(
              (key) =>
                keys[key.replace('/kopsless.io/owner', '/KubernetesCluster')] !==
                '${aws:PrincipalTag/KubernetesCluster}',
            )
            .map((key) => `${String(statement.Sid ?? statement.Action)} ${key}`),
      ),
    );

    expect(ownerOnly).toEqual([]);
  });

  it("denies the stack role of a cluster what its policy would allow, on another cluster's resource", async () => {
    const role = clusterStackRole(readTemplate(), deployment, 'a.example.com');
    // The boundary alone: a policy that allowed it anyway is still refused.
    const permissive = {
      ...role,
      policies: [
        {
          name: 'everything',
          policy: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'ec2:DeleteSecurityGroup', Resource: '*' }],
          },
        },
      ],
    };
    const request = (cluster: string) => ({
      action: 'ec2:DeleteSecurityGroup',
      resource: 'arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0',
      context: { 'aws:ResourceTag/KubernetesCluster': cluster },
    });

    expect(await decide(permissive, request('a.example.com'))).toBe('Allowed');
    expect(await decide(permissive, request('b.example.com'))).toBe('ExplicitlyDenied');
  });

  it('denies a session of the stack role whose tag names another cluster than its path', async () => {
    const role = clusterStackRole(readTemplate(), deployment, 'a.example.com');
    // A session tag (sts:TagSession) overrides the role's KubernetesCluster tag.
    const retagged = {
      ...role,
      principalTags: { ...role.principalTags, KubernetesCluster: 'b.example.com' },
    };
    const deleteVpcOf = (cluster: string) => ({
      action: 'ec2:DeleteVpc',
      resource: 'arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0123456789abcdef0',
      context: {
        'aws:ResourceTag/KubernetesCluster': cluster,
        'aws:ResourceTag/kopsless.io/owner': STACK_NAME,
      },
    });

    expect(await decide(role, deleteVpcOf('a.example.com'))).toBe('Allowed');
    expect(await decide(retagged, deleteVpcOf('b.example.com'))).toBe('ExplicitlyDenied');
    expect(await decide(retagged, deleteVpcOf('a.example.com'))).toBe('ExplicitlyDenied');
  });
});

describe("template.yaml's boundary of the roles a cluster stack makes", () => {
  /** A role of cluster a's stack that its stack gave every EC2 action: the boundary alone holds it. */
  const role = {
    name: 'kopsless-evil',
    arn: 'arn:aws:iam::123456789012:role/kopsless/kopsless-evil',
    policies: [
      {
        name: 'everything',
        policy: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'ec2:*', Resource: '*' }],
        },
      },
    ],
    boundary: templatePolicy(readTemplate(), 'ClusterRolesBoundary', deployment),
    // Used as an instance profile: EC2 delivers its credentials.
    deliveredBy: { 'ec2:SourceInstanceArn': SOURCE_INSTANCE_ARN },
    principalTags: { KubernetesCluster: 'a.example.com', 'kopsless.io/owner': STACK_NAME },
  };
  const ec2 = (kind: string, id: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:${kind}/${id}`;

  it("denies re-tagging another cluster's security group as its own", async () => {
    const request = {
      action: 'ec2:CreateTags',
      resource: ec2('security-group', 'sg-0b'),
      context: {
        'aws:ResourceTag/KubernetesCluster': 'b.example.com',
        'aws:RequestTag/KubernetesCluster': 'a.example.com',
        'aws:TagKeys': ['KubernetesCluster'],
      },
    };

    expect(await decide(role, request)).toBe('ExplicitlyDenied');
  });

  it('denies the cluster tag on an existing untagged resource, allows it at creation', async () => {
    const tagging = (context: Record<string, string | string[]>) => ({
      action: 'ec2:CreateTags',
      resource: ec2('network-interface', 'eni-0a'),
      context: {
        'aws:RequestTag/KubernetesCluster': 'a.example.com',
        'aws:TagKeys': ['KubernetesCluster'],
        ...context,
      },
    });

    expect(await decide(role, tagging({}))).toBe('ExplicitlyDenied');
    expect(await decide(role, tagging({ 'ec2:CreateAction': 'CreateNetworkInterface' }))).toBe(
      'Allowed',
    );
  });

  it("denies attaching another cluster's volume and interfaces in its subnets", async () => {
    const onB = (action: string, resource: string) => ({
      action,
      resource,
      context: { 'aws:ResourceTag/KubernetesCluster': 'b.example.com' },
    });

    expect(await decide(role, onB('ec2:AttachVolume', ec2('volume', 'vol-0b')))).toBe(
      'ExplicitlyDenied',
    );
    expect(await decide(role, onB('ec2:CreateNetworkInterface', ec2('subnet', 'subnet-0b')))).toBe(
      'ExplicitlyDenied',
    );
    expect(
      await decide(role, {
        ...onB('ec2:AttachVolume', ec2('volume', 'vol-0a')),
        context: { 'aws:ResourceTag/KubernetesCluster': 'a.example.com' },
      }),
    ).toBe('Allowed');
  });

  it('denies a session of the role that EC2 did not deliver, whatever cluster its tag names', async () => {
    const attach = (cluster: string) => ({
      action: 'ec2:AttachVolume',
      resource: ec2('volume', `vol-0${cluster[0]}`),
      context: { 'aws:ResourceTag/KubernetesCluster': cluster },
    });
    // Assumed through a trust policy that allows sts:TagSession: the session tag overrides the role's.
    const assumed = (cluster: string) => ({
      ...role,
      deliveredBy: undefined,
      principalTags: { ...role.principalTags, KubernetesCluster: cluster },
    });

    expect(await decide(assumed('b.example.com'), attach('b.example.com'))).toBe(
      'ExplicitlyDenied',
    );
    expect(await decide(assumed('a.example.com'), attach('a.example.com'))).toBe(
      'ExplicitlyDenied',
    );
    expect(await decide(role, attach('a.example.com'))).toBe('Allowed');
  });
});

describe("CloudFormation's calls for a cluster's stack, as a stack role", () => {
  const zone = 'ZOWN00000000000';
  const deploymentWithZone = { ...deployment, hostedZoneId: zone };

  /** The requests of creating, then deleting, the stack of a private cluster `cluster`. */
  function stackRequests(cluster: string, clusterApiLayerArn?: string) {
    const flags = manifestFromFlags({
      name: cluster,
      zones: [`${REGION}a`],
      topology: 'private',
      bastion: true,
      nodeCount: 1,
      nodeSize: 't3.medium',
      controlPlaneSize: 't3.medium',
    });
    const manifest = checkManifest(
      [flags.cluster, ...flags.instanceGroups].map((d) => toManifestYaml(d)).join('---\n'),
    ).completed!;
    const template = JSON.stringify(
      renderStackTemplate({
        manifest,
        stateBucket: deployment.stateBucket,
        deployment: STACK_NAME,
        hostedZoneId: zone,
        ...(clusterApiLayerArn ? { clusterApiLayerArn } : {}),
      }),
    );
    const common = {
      stackTags: [...clusterTags(cluster), ownerTag(STACK_NAME)],
      region: REGION,
      account: ACCOUNT,
      resolve: (value: unknown) => resolveIntrinsics(value, deploymentWithZone),
    };
    return [
      ...cloudFormationRequests({ ...common, before: undefined, after: template }),
      ...cloudFormationRequests({ ...common, before: template, after: undefined }),
    ];
  }

  it('allows the stack role of a cluster every call its own stack makes', async () => {
    const role = clusterStackRole(readTemplate(), deploymentWithZone, 'a.example.com');
    const requests = stackRequests('a.example.com');

    const refused = [];
    for (const request of requests)
      if ((await decide(role, request)) !== 'Allowed')
        refused.push(`${request.action} ${request.because}`);

    expect(requests.length).toBeGreaterThan(20);
    expect(refused).toEqual([]);
  }, 60_000);

  it("denies the stack role of a cluster another cluster's role and function names, even tagged as its own", async () => {
    const role = clusterStackRole(readTemplate(), deploymentWithZone, 'a.example.com');
    const NAMED = ['iam:CreateRole', 'lambda:CreateFunction'];
    // A template of a's stack that named b's resources: every tag a's, only the names b's.
    const asIfOwn = (request: ReturnType<typeof stackRequests>[number]) => ({
      ...request,
      context: Object.fromEntries(
        Object.entries(request.context).map(([key, value]) => [
          key,
          value === 'b.example.com' ? 'a.example.com' : value,
        ]),
      ),
    });
    const named = stackRequests('b.example.com', CLUSTER_API_LAYER_ARN).filter((r) =>
      NAMED.includes(r.action),
    );

    const decisions = new Set<string>();
    for (const request of named) decisions.add(await decide(role, asIfOwn(request)));

    expect(new Set(named.map((r) => r.action))).toEqual(new Set(NAMED));
    expect(decisions).toEqual(new Set(['ExplicitlyDenied']));
  }, 60_000);

  it("denies the stack role of a cluster every call another cluster's stack makes", async () => {
    const role = clusterStackRole(readTemplate(), deploymentWithZone, 'a.example.com');

    const allowed = [];
    for (const request of stackRequests('b.example.com'))
      if ((await decide(role, request)) === 'Allowed')
        allowed.push(`${request.action} ${request.because}`);

    expect(allowed).toEqual([]);
  }, 60_000);
});
