import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../src/manifest/check.js';
import { renderStackTemplate } from '../../src/planning/stack-template.js';
import { renderUserData } from '../../src/planning/user-data.js';
import { readFixture } from '../helpers.js';
import { readTemplate } from '../support/template.js';
import {
  actingFor,
  actorRoles,
  decide,
  type Request,
  resourcePolicies,
  resourcePolicyFor,
  SECRETS_KEY_ALIAS_ARN,
  SECRETS_KEY_ARN,
  stackRoles,
} from './policies.js';

// The state-store calls each instance's boot script makes, evaluated against its instance role:
// the roles are as narrow as the secrets test wants, but still let the boot scripts work.
const BUCKET = 'kopsless-state-example';
const seed = checkManifest(readFixture('seed.yaml')).completed!;
const cluster = seed.cluster.metadata.name;
const roles = stackRoles(
  renderStackTemplate({ manifest: seed, stateBucket: BUCKET }) as Parameters<typeof stackRoles>[0],
  { stateBucket: BUCKET },
);

const deployment = { stateBucket: BUCKET };
const policies = resourcePolicies(readTemplate(), deployment);
const viaS3 = { 'kms:ViaService': 's3.us-east-1.amazonaws.com' };

/**
 * The S3 requests of a boot script: reads, writes and the existence check (`state_store_has`
 * lists with the key as prefix); a secret's write names the key the script gives it.
 */
function stateStoreRequests(script: string): Request[] {
  const object = (key: string) => `arn:aws:s3:::${BUCKET}/${cluster}/${key}`;
  const requests: Request[] = [];
  const secretsKey = /^readonly SECRETS_KEY='([^']+)'$/m.exec(script)?.[1] ?? '';
  for (const m of script.matchAll(/state_store_write_secret (\S+)$/gm))
    requests.push({
      action: 's3:PutObject',
      resource: object(m[1]!),
      context: {
        's3:x-amz-server-side-encryption': 'aws:kms',
        's3:x-amz-server-side-encryption-aws-kms-key-id': secretsKey,
      },
    });
  for (const m of script.matchAll(/state_store_read ([a-z][^\s)"]*)/g))
    requests.push({ action: 's3:GetObject', resource: object(m[1]!) });
  for (const m of script.matchAll(/state_store_write (\S+)$/gm))
    requests.push({ action: 's3:PutObject', resource: object(m[1]!) });
  for (const m of script.matchAll(/state_store_has (\S+);/g))
    requests.push({
      action: 's3:ListBucket',
      resource: `arn:aws:s3:::${BUCKET}`,
      context: { 's3:prefix': `${cluster}/${m[1]!}`, 's3:delimiter': '/' },
    });
  // The helpers' own bodies (`state_store_write "$1" ...`) are no calls.
  return requests.filter((r) => !r.resource.includes('$'));
}

/** What S3 asks KMS with the instance's credentials for a request on a secret. */
function kmsRequests(request: Request): Request[] {
  if (!request.resource.includes('/secrets/')) return [];
  if (request.action === 's3:GetObject')
    return [{ action: 'kms:Decrypt', resource: SECRETS_KEY_ARN, context: viaS3 }];
  if (request.action === 's3:PutObject')
    return [{ action: 'kms:GenerateDataKey', resource: SECRETS_KEY_ARN, context: viaS3 }];
  return [];
}

function script(group: string): string {
  const instanceGroup = seed.instanceGroups.find((ig) => ig.metadata.name === group)!;
  return renderUserData({
    cluster: seed.cluster,
    instanceGroup,
    maxPods: 17,
    stateBucket: BUCKET,
    region: 'us-east-1',
    secretsKeyArn: SECRETS_KEY_ALIAS_ARN,
  });
}

describe('boot scripts against their instance roles', () => {
  it.each([
    [
      'control plane',
      'control-plane-us-east-1a',
      'MastersRole',
      [
        'GetObject secrets/bootstrap-token',
        'GetObject secrets/control-plane-pki.tar.gz',
        'ListBucket secrets/control-plane-pki.tar.gz',
        'PutObject pki/ca-cert-hash',
        'PutObject secrets/control-plane-pki.tar.gz',
        'PutObject secrets/kubeconfig',
      ],
    ],
    [
      'node',
      'nodes-us-east-1a',
      'NodesRole',
      ['GetObject pki/ca-cert-hash', 'GetObject secrets/bootstrap-token'],
    ],
  ])(
    'lets a %s make every state-store call of its boot script',
    async (_kind, group, roleId, expected) => {
      const requests = stateStoreRequests(script(group));

      const refused: string[] = [];
      for (const request of requests.flatMap((r) => [r, ...kmsRequests(r)]))
        if (
          (await decide(
            roles.get(roleId)!,
            request,
            resourcePolicyFor(request, policies, deployment),
          )) !== 'Allowed'
        )
          refused.push(`${request.action} ${request.resource}`);

      const calls = requests.map(
        (r) =>
          `${r.action.replace('s3:', '')} ${String(r.context?.['s3:prefix'] ?? r.resource).replace(/^.*?example\.com\//, '')}`,
      );
      expect([...new Set(calls)].sort()).toEqual(expected);
      expect(refused).toEqual([]);
    },
  );
});

describe("the control plane's etcd volume", () => {
  /** The tags the boot script's CreateVolume gives the volume (its ETCD_VOLUME_TAG_SPECIFICATIONS). */
  function volumeTags(userData: string): Record<string, string> {
    const line = /^readonly ETCD_VOLUME_TAG_SPECIFICATIONS=\((.*)\)$/m.exec(userData)?.[1] ?? '';
    const params = Object.fromEntries(
      [...line.matchAll(/'([^'=]+)=([^']*)'/g)].map((m) => [m[1]!, m[2]!]),
    );
    const tags: Record<string, string> = {};
    for (const [name, key] of Object.entries(params)) {
      const n = /^TagSpecification\.1\.Tag\.(\d+)\.Key$/.exec(name)?.[1];
      if (n) tags[key] = params[`TagSpecification.1.Tag.${n}.Value`]!;
    }
    return tags;
  }
  const volume = 'arn:aws:ec2:us-east-1:123456789012:volume/vol-0a0a0a0a0a0a0a0a0';
  const tagContext = (prefix: string, tags: Record<string, string>) =>
    Object.fromEntries(Object.entries(tags).map(([k, v]) => [`${prefix}/${k}`, v]));

  it('is created with the tags its role requires, and deleted by the delete session for its cluster', async () => {
    const tags = volumeTags(script('control-plane-us-east-1a'));
    const deleteSession = actingFor(
      actorRoles(readTemplate(), deployment).get('DeleteClusterActorRole')!,
      cluster,
    );

    const created = await decide(roles.get('MastersRole')!, {
      action: 'ec2:CreateVolume',
      resource: volume,
      context: { ...tagContext('aws:RequestTag', tags), 'ec2:Encrypted': 'true' },
    });
    const deleted = await decide(deleteSession, {
      action: 'ec2:DeleteVolume',
      resource: volume,
      context: tagContext('aws:ResourceTag', tags),
    });

    expect(tags).toMatchObject({ KubernetesCluster: cluster, 'kopsless.io/owner': 'kopsless' });
    expect([created, deleted]).toEqual(['Allowed', 'Allowed']);
  });
});
