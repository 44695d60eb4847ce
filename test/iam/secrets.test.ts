import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { manifestFromFlags } from '../../src/manifest/create-cluster.js';
import { completeManifest } from '../../src/manifest/defaults.js';
import { renderStackTemplate } from '../../src/planning/stack-template.js';
import { ROOT } from '../helpers.js';
import { readTemplate } from '../support/template.js';
import {
  ACCOUNT,
  actingFor,
  actorRoles,
  CLUSTER_API_LAYER_ARN,
  decide,
  functionRoles,
  type Role,
  resourcePolicies,
  resourcePolicyFor,
  SECRETS_KEY_ALIAS_ARN,
  SECRETS_KEY_ARN,
  stackRoles,
} from './policies.js';

// Who may read each object under <cluster>/secrets/ in the state store, evaluated as AWS does over
// template.yaml's function roles, their actor roles as the sessions the functions assume for the
// cluster, and the cluster stack's instance roles.
const READERS: Record<string, string[]> = {
  // The cluster CA and service-account keys: a replacement control plane restores them.
  'control-plane-pki.tar.gz': ['MastersRole'],
  // The admin kubeconfig: the cluster's API function, in the cluster's VPC, and the API that
  // hands it to callers allowed its route.
  kubeconfig: ['ClusterApiRole', 'ApiActorRole'],
  // The join token: every Kubernetes instance (control plane included, kubeadm init registers it).
  'bootstrap-token': ['MastersRole', 'NodesRole'],
  // A client certificate of the etcd CA: the cluster's API function removes members for the roll
  // through etcd's member API, from inside the cluster's VPC.
  'etcd-client.json': ['ClusterApiRole'],
  // Which control-plane instance ran kubeadm init: the others read it and join.
  'control-plane-initializer': ['MastersRole'],
};

// Who may write (or replace) each of them: a forged kubeconfig would point the lifecycle at
// another API server, a forged CA would be trusted by every node.
const WRITERS: Record<string, string[]> = {
  'control-plane-pki.tar.gz': ['MastersRole'],
  kubeconfig: ['MastersRole'],
  // Made once by write-state; renewed by the launch stage before instances launch.
  'bootstrap-token': ['WriteStateActorRole', 'LaunchClusterActorRole'],
  'etcd-client.json': ['MastersRole'],
  'control-plane-initializer': ['MastersRole'],
};

const BUCKET = 'kopsless-state-example';
const CLUSTER = 'private.example.com';
const OTHER_CLUSTER = 'other.example.com';

/** Every key under secrets/ that src/ reads or writes (user-data, the state store, the kube port). */
function secretKeysInSource(): string[] {
  const keys = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts'))
        for (const m of readFileSync(path, 'utf8').matchAll(
          /secrets\/([A-Za-z0-9][A-Za-z0-9._-]*)/g,
        ))
          keys.add(m[1]!);
    }
  };
  walk(join(ROOT, 'src'));
  return [...keys].sort();
}

const objectArn = (cluster: string, key: string) => `arn:aws:s3:::${BUCKET}/${cluster}/${key}`;
let roles: Role[];
let actors: Role[];
let instanceRoles: Map<string, Role>;

beforeAll(() => {
  const stack = renderStackTemplate({
    manifest: completeManifest(
      manifestFromFlags({
        name: CLUSTER,
        zones: ['us-east-1a', 'us-east-1b'],
        topology: 'private',
        controlPlaneCount: 1,
      }),
    ),
    stateBucket: BUCKET,
    // As deployed: the launch function gives the stack the deployment's ClusterApiLayer.
    clusterApiLayerArn: CLUSTER_API_LAYER_ARN,
  }) as Parameters<typeof stackRoles>[0];
  instanceRoles = stackRoles(stack);
  actors = [...actorRoles(readTemplate(), { stateBucket: BUCKET }).values()];
  roles = [
    ...functionRoles(readTemplate(), { stateBucket: BUCKET }).values(),
    ...actors.map((role) => actingFor(role, CLUSTER)),
    ...instanceRoles.values(),
  ];
});

describe('secrets in the state store', () => {
  it('has a rule for every key under secrets/ that the code uses', () => {
    const known = [...new Set([...Object.keys(READERS), ...Object.keys(WRITERS)])].sort();

    const used = secretKeysInSource();

    expect(used).toEqual(known);
  });

  it('evaluates every function role, every actor session and the masters, nodes and bastions roles', () => {
    expect(roles.map((r) => r.name).sort()).toEqual(
      [
        'ApiFunction',
        'DeleteClusterFunction',
        'LaunchClusterFunction',
        'NotifyFunction',
        'RollingUpdateFunction',
        'ValidateSpecFunction',
        'VerifyDnsFunction',
        'WatchEniFunction',
        'WriteStateFunction',
        'ApiActorRole',
        'DeleteClusterActorRole',
        'LaunchClusterActorRole',
        'RollingUpdateActorRole',
        'VerifyDnsActorRole',
        'WatchEniActorRole',
        'WriteStateActorRole',
        'BastionsRole',
        'ClusterApiRole',
        'MastersRole',
        'NodesRole',
      ].sort(),
    );
  });

  it.each(Object.entries(READERS))(
    'lets only the roles that need it read secrets/%s',
    async (key, readers) => {
      const allowed: string[] = [];

      for (const role of roles) {
        if (
          (await decide(role, {
            action: 's3:GetObject',
            resource: objectArn(CLUSTER, `secrets/${key}`),
          })) === 'Allowed'
        )
          allowed.push(role.name);
      }

      expect(allowed.sort()).toEqual([...readers].sort());
    },
  );

  it.each(Object.entries(WRITERS))(
    'lets only the roles that make it write secrets/%s',
    async (key, writers) => {
      const allowed: string[] = [];

      for (const role of roles) {
        if (
          (await decide(role, {
            action: 's3:PutObject',
            resource: objectArn(CLUSTER, `secrets/${key}`),
          })) === 'Allowed'
        )
          allowed.push(role.name);
      }

      expect(allowed.sort()).toEqual([...writers].sort());
    },
  );

  it('lets only the delete stage remove secrets (with the rest of the cluster state)', async () => {
    const allowed = new Set<string>();

    for (const role of roles) {
      for (const key of Object.keys(READERS))
        if (
          (await decide(role, {
            action: 's3:DeleteObject',
            resource: objectArn(CLUSTER, `secrets/${key}`),
          })) === 'Allowed'
        )
          allowed.add(role.name);
    }

    expect([...allowed]).toEqual(['DeleteClusterActorRole']);
  });

  it("denies a cluster's instance roles every secret of another cluster", async () => {
    const decisions: string[] = [];

    for (const role of instanceRoles.values()) {
      for (const key of Object.keys(READERS))
        decisions.push(
          await decide(role, {
            action: 's3:GetObject',
            resource: objectArn(OTHER_CLUSTER, `secrets/${key}`),
          }),
        );
    }

    expect(new Set(decisions)).toEqual(new Set(['ImplicitlyDenied']));
  });

  it('keeps the spec and status readable by every function that reads the state store', async () => {
    // Every function that reads the state store reads it as its actor role's session.
    const readers = roles.filter((r) => r.name.endsWith('ActorRole'));
    const decisions: string[] = [];

    for (const role of readers) {
      for (const key of [
        'config',
        'instancegroup/nodes-us-east-1a',
        'cluster-completed.spec',
        'status.json',
        'lock',
      ]) {
        decisions.push(
          `${role.name} ${key} ${await decide(role, { action: 's3:GetObject', resource: objectArn(CLUSTER, key) })}`,
        );
      }
    }

    expect(decisions.filter((d) => !d.endsWith(' Allowed'))).toEqual([]);
  });

  it("denies every function's session for another cluster every object of this one", async () => {
    const decisions = new Set<string>();

    for (const role of actors.map((r) => actingFor(r, OTHER_CLUSTER))) {
      for (const key of [...Object.keys(READERS).map((k) => `secrets/${k}`), 'config', 'lock'])
        for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'])
          decisions.add(await decide(role, { action, resource: objectArn(CLUSTER, key) }));
    }

    // Denied by the missing grant, or explicitly by a secrets/ Deny: never allowed.
    expect([...decisions].sort()).toEqual(['ExplicitlyDenied', 'ImplicitlyDenied']);
  });

  it("gives the functions' own roles no object of the state store at all", async () => {
    const decisions = new Set<string>();

    for (const role of functionRoles(readTemplate(), { stateBucket: BUCKET }).values())
      for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'])
        decisions.add(await decide(role, { action, resource: objectArn(CLUSTER, 'config') }));

    expect([...decisions]).toEqual(['ImplicitlyDenied']);
  });

  it('lets the control plane list only the key of its own stored keys (how its boot script tells a replacement)', async () => {
    const masters = instanceRoles.get('MastersRole')!;
    const list = (prefix: string) =>
      decide(masters, {
        action: 's3:ListBucket',
        resource: `arn:aws:s3:::${BUCKET}`,
        context: { 's3:prefix': prefix },
      });

    const decisions = [
      await list(`${CLUSTER}/secrets/control-plane-pki.tar.gz`),
      await list(`${CLUSTER}/secrets/`),
      await list(`${OTHER_CLUSTER}/secrets/control-plane-pki.tar.gz`),
    ];

    expect(decisions).toEqual(['Allowed', 'ImplicitlyDenied', 'ImplicitlyDenied']);
  });
});

describe('the secrets key and the bucket policy', () => {
  const deployment = { stateBucket: BUCKET };
  const account = (name: string, statements: Array<Record<string, unknown>>): Role => ({
    name,
    arn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
    policies: [{ name, policy: { Version: '2012-10-17', Statement: statements } }],
  });
  // What the ReadOnlyAccess managed policy grants on S3 and KMS.
  const readOnly = account('ReadOnlyAccess', [
    {
      Effect: 'Allow',
      Action: ['s3:Get*', 's3:List*', 'kms:Describe*', 'kms:Get*', 'kms:List*'],
      Resource: '*',
    },
  ]);
  // An identity that IAM lets do anything with S3 and KMS.
  const admin = account('Administrator', [
    { Effect: 'Allow', Action: ['s3:*', 'kms:*'], Resource: '*' },
  ]);
  const decideWithPolicies = (role: Role, request: Parameters<typeof decide>[1]) =>
    decide(
      role,
      request,
      resourcePolicyFor(request, resourcePolicies(readTemplate(), deployment), deployment),
    );
  const viaS3 = { 'kms:ViaService': 's3.us-east-1.amazonaws.com' };

  it('lets a read-only principal read the spec but no secret, and never decrypt with the key', async () => {
    const decisions = [
      await decideWithPolicies(readOnly, {
        action: 's3:GetObject',
        resource: objectArn(CLUSTER, 'config'),
      }),
      ...(await Promise.all(
        Object.keys(READERS).map((key) =>
          decideWithPolicies(readOnly, {
            action: 's3:GetObject',
            resource: objectArn(CLUSTER, `secrets/${key}`),
          }),
        ),
      )),
      await decideWithPolicies(readOnly, {
        action: 'kms:Decrypt',
        resource: SECRETS_KEY_ARN,
        context: viaS3,
      }),
    ];

    expect(decisions[0]).toBe('Allowed');
    expect(decisions.slice(1)).not.toContain('Allowed');
  });

  it('refuses the key to an identity whose IAM policy allows every KMS action', async () => {
    const decisions = await Promise.all(
      ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:CreateGrant', 'kms:ReEncryptFrom'].map((action) =>
        decideWithPolicies(admin, { action, resource: SECRETS_KEY_ARN, context: viaS3 }),
      ),
    );

    expect(decisions).toEqual(Array(4).fill('ImplicitlyDenied'));
  });

  it.each(Object.entries(READERS))(
    'denies secrets/%s, by the bucket policy, to an identity that may read any object',
    async (key) => {
      const decision = await decideWithPolicies(admin, {
        action: 's3:GetObject',
        resource: objectArn(CLUSTER, `secrets/${key}`),
      });

      expect(decision).toBe('ExplicitlyDenied');
    },
  );

  it('refuses a secret written without the secrets key or under another, and takes one under it', async () => {
    const put = (context: Record<string, string>) =>
      decideWithPolicies(admin, {
        action: 's3:PutObject',
        resource: objectArn(CLUSTER, 'secrets/kubeconfig'),
        context,
      });

    const decisions = [
      await put({}),
      await put({ 's3:x-amz-server-side-encryption': 'AES256' }),
      await put({
        's3:x-amz-server-side-encryption': 'aws:kms',
        's3:x-amz-server-side-encryption-aws-kms-key-id': `arn:aws:kms:us-east-1:${ACCOUNT}:key/11111111-2222-4333-8444-555555555555`,
      }),
      await put({
        's3:x-amz-server-side-encryption': 'aws:kms',
        's3:x-amz-server-side-encryption-aws-kms-key-id': SECRETS_KEY_ARN,
      }),
      await put({
        's3:x-amz-server-side-encryption': 'aws:kms',
        's3:x-amz-server-side-encryption-aws-kms-key-id': SECRETS_KEY_ALIAS_ARN,
      }),
    ];

    expect(decisions).toEqual([
      'ExplicitlyDenied',
      'ExplicitlyDenied',
      'ExplicitlyDenied',
      'Allowed',
      'Allowed',
    ]);
  });
});
