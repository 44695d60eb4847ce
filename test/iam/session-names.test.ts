import { describe, expect, it } from 'vitest';
import {
  CLUSTER_HASH_SESSION_TAG,
  CLUSTER_SESSION_TAG,
} from '../../src/aws/cluster-credentials.js';
import { readTemplate } from '../support/template.js';
import { ACCOUNT, actorRoles, REGION } from './policies.js';

// The names AWS keeps unique per account or region that the actor roles create or act on are
// bound by the session's tags: the cluster's stack and stack role names end with the hash of the
// session's cluster (src/planning/names.ts), which no other cluster's name can end with.
const deployment = { stateBucket: 'kopsless-state-example' };
const ONE_STACK = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/kopsless-*-\${aws:PrincipalTag/${CLUSTER_HASH_SESSION_TAG}}/*`;
const ONE_STACK_ROLE = `arn:aws:iam::${ACCOUNT}:role/kopsless/stack/\${aws:PrincipalTag/${CLUSTER_SESSION_TAG}}/kopsless-stack-*-\${aws:PrincipalTag/${CLUSTER_HASH_SESSION_TAG}}`;
/** What makes, shapes or passes a stack role: the grants that must name exactly one. */
const STACK_ROLE_ACTIONS = [
  'iam:CreateRole',
  'iam:TagRole',
  'iam:AttachRolePolicy',
  'iam:GetRole',
  'iam:PassRole',
];

/** Every Allow statement of every actor role, with the role's logical ID. */
function allowStatements() {
  return [...actorRoles(readTemplate(), deployment)].flatMap(([id, role]) =>
    role.policies.flatMap(({ policy }) =>
      policy.Statement.filter((s) => s.Effect === 'Allow').map((s) => ({
        id,
        sid: String(s.Sid ?? ''),
        actions: [s.Action as string | string[]].flat(),
        resources: [s.Resource as string | string[]].flat(),
      })),
    ),
  );
}

describe('the names an actor role reaches', () => {
  it("are, for CloudFormation, only the names ending with the session's hash tag", () => {
    const statements = allowStatements().filter((s) =>
      s.actions.some((a) => a.startsWith('cloudformation:')),
    );

    expect(statements.length).toBeGreaterThanOrEqual(5);
    for (const s of statements) expect(s.resources, `${s.id} ${s.sid}`).toEqual([ONE_STACK]);
  });

  it("are, for a stack role, only one under its cluster's path ending with its hash tag", () => {
    const statements = allowStatements().filter(
      (s) =>
        s.actions.some((a) => STACK_ROLE_ACTIONS.includes(a)) &&
        s.resources.some((r) => r.includes(':role/kopsless/stack/')),
    );

    expect(new Set(statements.map((s) => s.id))).toEqual(
      new Set(['LaunchClusterActorRole', 'DeleteClusterActorRole']),
    );
    for (const s of statements) expect(s.resources, `${s.id} ${s.sid}`).toEqual([ONE_STACK_ROLE]);
  });
});
