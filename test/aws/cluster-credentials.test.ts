import { describe, expect, it } from 'vitest';
import {
  CLUSTER_HASH_SESSION_TAG,
  CLUSTER_SESSION_TAG,
  clusterClientSettings,
  clusterSessionParams,
  MAX_CACHED_CLUSTERS,
  perCluster,
  VPC_SESSION_TAG,
} from '../../src/aws/cluster-credentials.js';
import { ACTOR_ROLES, actorRoleOfArn, localActorRoleArn } from '../../src/local/actor-roles.js';
import { TAG_KEY_LIMIT } from '../../src/manifest/validate-labels.js';
import {
  CLUSTER_NAME_RECORD_LIMIT,
  clusterHash,
  ownedTagKey,
  stackName,
  stackRoleName,
} from '../../src/planning/names.js';
import { readTemplate } from '../support/template.js';

/** The logical ID a `!GetAtt X.Arn` names, in either of its parsed forms. */
const getAttTarget = (value: unknown) => {
  const target = (value as { 'Fn::GetAtt'?: string | string[] } | undefined)?.['Fn::GetAtt'];
  return Array.isArray(target) ? target[0] : target?.split('.')[0];
};

const ROLE = 'arn:aws:iam::123456789012:role/kopsless-deployment/kopsless-LaunchClusterActorRole';

describe('credentials for one cluster', () => {
  it('asks STS for the actor role tagged with the cluster and the hash its names end with', () => {
    const params = clusterSessionParams(ROLE, 'launch', 'a.example.com');

    expect(params).toEqual({
      RoleArn: ROLE,
      RoleSessionName: 'launch-a.example.com',
      DurationSeconds: 3600,
      Tags: [
        { Key: CLUSTER_SESSION_TAG, Value: 'a.example.com' },
        { Key: CLUSTER_HASH_SESSION_TAG, Value: '7653e4959f8eac25' },
      ],
    });
  });

  it('stays within what STS takes for the longest cluster name a session accepts', () => {
    const cluster = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(CLUSTER_NAME_RECORD_LIMIT - 3 * 64)}`;

    const { RoleSessionName, Tags } = clusterSessionParams(
      ROLE,
      'rolling-update',
      cluster,
      'vpc-0a1b2c3d4e5f60718',
    );

    // STS: at most 50 session tags, keys of 128 characters, values of 256, a session name of 64.
    expect(cluster).toHaveLength(240);
    expect(Tags.length).toBeLessThanOrEqual(50);
    for (const tag of Tags) {
      expect(tag.Key.length).toBeLessThanOrEqual(128);
      expect(tag.Value.length).toBeLessThanOrEqual(256);
    }
    expect(RoleSessionName.length).toBeLessThanOrEqual(64);
  });

  it('keeps the tags of the longest cluster name the manifest accepts, with its VPC, small', () => {
    // The manifest's longest name: every resource carries kubernetes.io/cluster/<name>, a tag
    // key AWS limits to 128 characters.
    const longest = TAG_KEY_LIMIT - ownedTagKey('').length;
    const cluster = `${'a'.repeat(63)}.${'b'.repeat(longest - 64)}`;

    const { Tags } = clusterSessionParams(ROLE, 'launch', cluster, 'vpc-0a1b2c3d4e5f60718');

    // STS also limits the packed (compressed) size of a session's tags, by a measure it does
    // not publish; about 450 characters of keys and values have been seen to reach it. Kept
    // under 300, the tags leave room whatever the name compresses to.
    const characters = Tags.reduce((sum, t) => sum + t.Key.length + t.Value.length, 0);
    expect(cluster).toHaveLength(106);
    expect(characters).toBeLessThan(300);
  });

  it('binds the stack and stack role names of the longest cluster by the hash they end with', () => {
    const cluster = `${'a'.repeat(63)}.${'b'.repeat(TAG_KEY_LIMIT - ownedTagKey('').length - 64)}`;

    // The grants are on stack/kopsless-*-<hash>/* and role/.../kopsless-stack-*-<hash>: cutting
    // a name to CloudFormation's 128 or IAM's 64 characters must keep the hash at its end.
    expect(stackName(cluster)).toMatch(new RegExp(`^kopsless-.*-${clusterHash(cluster)}$`));
    expect(stackName(cluster).length).toBeLessThanOrEqual(128);
    expect(stackRoleName(cluster)).toMatch(
      new RegExp(`^kopsless-stack-.*-${clusterHash(cluster)}$`),
    );
    expect(stackRoleName(cluster).length).toBeLessThanOrEqual(64);
  });

  it.each([
    '*',
    'b.example.com/secrets',
    '../b.example.com',
    'B.Example.com',
    '',
    'internal.b.example.com',
    `${'a.'.repeat(120)}io`,
  ])('refuses to make %j a session tag: only a cluster name scopes the grants', (cluster) => {
    expect(() => clusterSessionParams(ROLE, 'watch-eni', cluster)).toThrow(
      /cannot act for cluster/,
    );
  });

  it("adds the cluster's VPC as a third session tag when asked", () => {
    const params = clusterSessionParams(ROLE, 'launch', 'a.example.com', 'vpc-0a1b2c3d4e5f60718');

    expect(params.Tags.map((t) => t.Key)).toEqual([
      CLUSTER_SESSION_TAG,
      CLUSTER_HASH_SESSION_TAG,
      VPC_SESSION_TAG,
    ]);
    expect(params.Tags.at(-1)).toEqual({ Key: VPC_SESSION_TAG, Value: 'vpc-0a1b2c3d4e5f60718' });
  });

  it.each(['vpc-*', '*', 'vpc-0a1b2c3d,VPCRegion=us-east-1', 'subnet-0a1b2c3d', 'vpc-'])(
    'refuses to make %j the VPC tag: only a VPC ID may become one',
    (vpcId) => {
      expect(() => clusterSessionParams(ROLE, 'launch', 'a.example.com', vpcId)).toThrow(
        /not a VPC ID/,
      );
    },
  );

  it('keeps a session name within the 64 characters STS allows', () => {
    const cluster = `${'x'.repeat(60)}.example.com`;

    const { RoleSessionName, Tags } = clusterSessionParams(ROLE, 'rolling-update', cluster);

    expect(RoleSessionName).toHaveLength(64);
    expect(Tags[0]!.Value).toBe(cluster);
  });

  it('gives the clients a provider of the session, and the endpoint and region as they were', () => {
    const settings = clusterClientSettings(
      { endpoint: 'http://127.0.0.1:5000', region: 'us-east-1' },
      { roleArn: ROLE, sessionPrefix: 'launch' },
      'a.example.com',
    );

    expect(settings.endpoint).toBe('http://127.0.0.1:5000');
    expect(settings.region).toBe('us-east-1');
    expect(typeof settings.credentials).toBe('function');
  });

  it('keeps the caller its own credentials when no actor role is configured', () => {
    const keys = { accessKeyId: 'AKIA', secretAccessKey: 'secret' };

    const settings = clusterClientSettings(
      { credentials: keys },
      { sessionPrefix: 'launch' },
      'a.example.com',
    );

    expect(settings.credentials).toEqual(keys);
  });

  it('builds the clients of a cluster once and keeps them per cluster', () => {
    const built: string[] = [];
    const of = perCluster({}, { sessionPrefix: 'test' }, (_settings, cluster) => {
      built.push(cluster);
      return { cluster };
    });

    const first = of('a.example.com');
    of('b.example.com');
    const again = of('a.example.com');

    expect(again).toBe(first);
    expect(built).toEqual(['a.example.com', 'b.example.com']);
  });

  it('drops the least recently used cluster past the limit', () => {
    const built: string[] = [];
    const of = perCluster({}, { sessionPrefix: 'test' }, (_settings, cluster) => {
      built.push(cluster);
      return cluster;
    });
    for (let i = 0; i <= MAX_CACHED_CLUSTERS; i++) of(`c${i}.example.com`);

    of('c1.example.com');
    of('c0.example.com');

    expect(built.filter((c) => c === 'c0.example.com')).toHaveLength(2);
    expect(built.filter((c) => c === 'c1.example.com')).toHaveLength(1);
  });
});

/** The tags every session for a cluster carries, in the order the code gives them. */
const SESSION_TAGS = [CLUSTER_SESSION_TAG, CLUSTER_HASH_SESSION_TAG];

describe('actor roles', () => {
  it('are the ones template.yaml gives each function in CLUSTER_ACTOR_ROLE_ARN, and no other', () => {
    const template = readTemplate();
    const fromTemplate = Object.fromEntries(
      Object.entries(template.Resources).flatMap(([id, resource]) => {
        const variables = (
          resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined
        )?.Variables;
        const arn = variables?.CLUSTER_ACTOR_ROLE_ARN;
        return arn ? [[id, getAttTarget(arn)]] : [];
      }),
    );

    expect(fromTemplate).toEqual(ACTOR_ROLES);
  });

  it('each trust only its own function, only with the two session tags of a cluster, and launch and delete also with the VPC tag', () => {
    const template = readTemplate();

    // The functions that associate the cluster's VPC with a private zone, or undo it.
    const ZONE_ASSOCIATING = new Set(['LaunchClusterFunction', 'DeleteClusterFunction']);
    const trusts = Object.entries(ACTOR_ROLES).map(([fn, role]) => {
      const statements = (
        template.Resources[role!]!.Properties!.AssumeRolePolicyDocument as {
          Statement: Array<Record<string, any>>;
        }
      ).Statement;
      return statements.map((s) => ({
        principal: getAttTarget(s.Principal.AWS),
        tagKeys: s.Condition['ForAllValues:StringEquals']['aws:TagKeys'],
        tagsRequired: s.Condition.Null,
        fn,
      }));
    });

    for (const statements of trusts)
      for (const s of statements)
        expect(s).toEqual({
          principal: `${s.fn}Role`,
          tagKeys: ZONE_ASSOCIATING.has(s.fn) ? [...SESSION_TAGS, VPC_SESSION_TAG] : SESSION_TAGS,
          tagsRequired: Object.fromEntries(
            SESSION_TAGS.map((k) => [`aws:RequestTag/${k}`, 'false']),
          ),
          fn: s.fn,
        });
  });

  it('are named on the local backend so that check:iam finds them again', () => {
    expect(actorRoleOfArn(localActorRoleArn('WatchEniActorRole'))).toBe('WatchEniActorRole');
    expect(actorRoleOfArn('arn:aws:iam::123456789012:role/kopsless-deployment/kopsless-X')).toBe(
      undefined,
    );
  });
});
