import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../src/manifest/check.js';
import { renderStackTemplate } from '../../src/planning/stack-template.js';
import { renderUserData } from '../../src/planning/user-data.js';
import { readFixture } from '../helpers.js';
import { decide, type Request, stackRoles } from './policies.js';

// The state-store calls each instance's boot script makes, evaluated against its instance role:
// the roles are as narrow as the secrets test wants, but still let the boot scripts work.
const BUCKET = 'kopsless-state-example';
const seed = checkManifest(readFixture('seed.yaml')).completed!;
const cluster = seed.cluster.metadata.name;
const roles = stackRoles(
  renderStackTemplate({ manifest: seed, stateBucket: BUCKET }) as Parameters<typeof stackRoles>[0],
);

/** The S3 requests of a boot script: reads, writes and the existence check (`aws s3 ls` lists with the key as prefix). */
function stateStoreRequests(script: string): Request[] {
  const object = (key: string) => `arn:aws:s3:::${BUCKET}/${cluster}/${key}`;
  const requests: Request[] = [];
  for (const m of script.matchAll(/state_store_read (\S+)\)/g))
    requests.push({ action: 's3:GetObject', resource: object(m[1]!) });
  for (const m of script.matchAll(/s3 cp "\$\{STATE_STORE\}\/([^"]+)" -/g))
    requests.push({ action: 's3:GetObject', resource: object(m[1]!) });
  for (const m of script.matchAll(/s3 cp - "\$\{STATE_STORE\}\/([^"]+)"/g))
    requests.push({ action: 's3:PutObject', resource: object(m[1]!) });
  for (const m of script.matchAll(/s3 ls "\$\{STATE_STORE\}\/([^"]+)"/g))
    requests.push({
      action: 's3:ListBucket',
      resource: `arn:aws:s3:::${BUCKET}`,
      context: { 's3:prefix': `${cluster}/${m[1]!}`, 's3:delimiter': '/' },
    });
  // The helper's own body (`s3 cp "${STATE_STORE}/$1" -`) is no call.
  return requests.filter((r) => !r.resource.includes('$'));
}

function script(group: string): string {
  const instanceGroup = seed.instanceGroups.find((ig) => ig.metadata.name === group)!;
  return renderUserData({
    cluster: seed.cluster,
    instanceGroup,
    maxPods: 17,
    stateBucket: BUCKET,
    region: 'us-east-1',
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
      for (const request of requests)
        if ((await decide(roles.get(roleId)!, request)) !== 'Allowed')
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
