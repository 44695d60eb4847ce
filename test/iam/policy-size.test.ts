import { describe, expect, it } from 'vitest';
import { DEPLOYMENT_NAME_LIMIT } from '../../src/planning/names.js';
import { readTemplate, type Template } from '../support/template.js';
import { actorRoles, functionRoles, type PolicyDocument, resolveIntrinsics } from './policies.js';

/**
 * IAM's size limits, counted as IAM counts them (the JSON without whitespace), on template.yaml
 * deployed under the longest deployment name kopsless accepts (its state machines' names cap it
 * below CloudFormation's 128): every ARN built on the name is then at its longest.
 */
const MANAGED_POLICY_LIMIT = 6144;
const ROLE_INLINE_POLICIES_LIMIT = 10240;
const deployment = {
  stateBucket: 's'.repeat(63),
  hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  stackName: 'k'.repeat(DEPLOYMENT_NAME_LIMIT),
};

function size(policy: unknown): number {
  return JSON.stringify(policy).replace(/\s/g, '').length;
}

function managedPolicies(template: Template): Array<[string, number]> {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::IAM::ManagedPolicy')
    .map(([id, resource]) => [
      id,
      size(resolveIntrinsics(resource.Properties?.PolicyDocument, deployment) as PolicyDocument),
    ]);
}

describe("template.yaml's policies under the longest deployment name", () => {
  it(`keeps every managed policy within ${MANAGED_POLICY_LIMIT} characters`, () => {
    const over = managedPolicies(readTemplate()).filter(([, n]) => n > MANAGED_POLICY_LIMIT);

    expect(over).toEqual([]);
  });

  it(`keeps every role's inline policies within ${ROLE_INLINE_POLICIES_LIMIT} characters`, () => {
    const template = readTemplate();
    const roles = [...actorRoles(template, deployment), ...functionRoles(template, deployment)];

    const over = roles
      .map(([id, role]) => {
        const inline = role.policies.filter((p) => !p.managed);
        return [id, inline.reduce((n, p) => n + size(p.policy), 0)] as const;
      })
      .filter(([, n]) => n > ROLE_INLINE_POLICIES_LIMIT);

    expect(over).toEqual([]);
  });
});
