import { describe, expect, it } from 'vitest';
import { readTemplate } from '../support/template.js';
import { clusterStackRole, decide, templatePolicy } from './policies.js';

const deployment = { stateBucket: 'kopsless-state-example' };

/** The actions the Allow statements of a policy name. */
function allowedActions(logicalId: string): string[] {
  const policy = templatePolicy(readTemplate(), logicalId, deployment);
  return [
    ...new Set(
      policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) =>
        [s.Action as string | string[]].flat(),
      ),
    ),
  ].sort();
}

describe("template.yaml's cluster stack role policies", () => {
  it('ClusterStackBoundary allows exactly the actions ClusterStackPolicy grants', () => {
    expect(allowedActions('ClusterStackBoundary')).toEqual(allowedActions('ClusterStackPolicy'));
  });

  it("conditions every tag of ClusterStackPolicy on the role's own cluster as well", () => {
    const policy = templatePolicy(readTemplate(), 'ClusterStackPolicy', deployment);
    const ownerOnly = policy.Statement.flatMap((statement) =>
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
});
