import { CreatePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import type { AwsClientSettings } from '../../aws/clients.js';
import { isAwsErrorCode } from '../../errors.js';
import { LOCAL_STACK_NAME } from '../../functions-registry.js';
import {
  CLUSTER_STACK_POLICIES,
  type ClusterStackPolicyId,
  localClusterStackEnvironment,
} from '../cluster-stack-policies.js';
import { readSamTemplate, resolvedTemplateValue } from '../sfn/sam-template.js';

/**
 * The local backend's copies of template.yaml's ClusterStack*Policy and ClusterStackBoundary,
 * made in moto once (moto's IAM then holds the stack roles the launch stage makes, with this
 * policies attached and this boundary). moto evaluates no policy: what they allow is checked by
 * `npm run check:iam` from template.yaml itself.
 */

type Statement = { Resource?: unknown };

/**
 * The policy's document as deployed locally. A statement about the ClusterApiLayer is left out:
 * the local backend has no layer (its `!Ref` is empty), and moto refuses an empty resource.
 */
function localDocument(id: ClusterStackPolicyId, region: string, stack: string): string {
  const template = readSamTemplate();
  const resource = template.Resources?.[id] as
    | { Properties?: { PolicyDocument?: unknown } }
    | undefined;
  if (!resource?.Properties?.PolicyDocument)
    throw new Error(`template.yaml has no managed policy ${id}`);
  const document = resolvedTemplateValue(
    resource.Properties.PolicyDocument,
    { stateBucket: 'unused', region, stackName: stack },
    `${id}.PolicyDocument`,
    template,
  ) as { Statement: Statement[] };
  const empty = (r: unknown) => r === '' || (Array.isArray(r) && r.includes(''));
  return JSON.stringify({
    ...document,
    Statement: document.Statement.filter((s) => !empty(s.Resource)),
  });
}

/**
 * Makes the policies in moto unless they exist; returns the variables template.yaml gives the
 * launch and delete functions (CLUSTER_STACK_POLICY_ARNS, CLUSTER_STACK_BOUNDARY_ARN).
 */
export async function ensureClusterStackPolicies(
  settings: AwsClientSettings,
  region: string,
  stack: string = LOCAL_STACK_NAME,
): Promise<ReturnType<typeof localClusterStackEnvironment>> {
  const iam = new IAMClient(settings);
  try {
    for (const [id, suffix] of Object.entries(CLUSTER_STACK_POLICIES)) {
      try {
        await iam.send(
          new CreatePolicyCommand({
            PolicyName: `${stack}-${suffix}`,
            Path: '/kopsless-deployment/',
            PolicyDocument: localDocument(id as ClusterStackPolicyId, region, stack),
            Tags: [{ Key: 'kopsless.io/owner', Value: stack }],
          }),
        );
      } catch (error) {
        if (!isAwsErrorCode(error, 'EntityAlreadyExistsException', 'EntityAlreadyExists'))
          throw error;
      }
    }
  } finally {
    iam.destroy();
  }
  return localClusterStackEnvironment(stack);
}
