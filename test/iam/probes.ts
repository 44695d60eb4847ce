import { createHash } from 'node:crypto';
import { z } from 'zod';
import { checkManifest } from '../../src/manifest/check.js';
import { manifestFromFlags } from '../../src/manifest/create-cluster.js';
import { toManifestYaml } from '../../src/manifest/yaml.js';
import { CLUSTER_TAG, OWNER_TAG } from '../../src/planning/names.js';
import { renderStackTemplate } from '../../src/planning/stack-template.js';
import type { Template } from '../support/template.js';
import {
  ACCOUNT,
  actingFor,
  actorRoles,
  CLUSTER_API_LAYER_ARN,
  clusterStackRole,
  type Deployment,
  decide,
  functionRoles,
  PARTITION,
  type PolicyDocument,
  REGION,
  type Role,
  resourcePolicies,
  resourcePolicyFor,
  SECRETS_KEY_ARN,
  SOURCE_INSTANCE_ARN,
  STACK_NAME,
  stackRoles,
  templatePolicy,
} from './policies.js';

/**
 * `npm run check:iam -- --probes FILE`: hand-written requests ("may the nodes of a.example.com
 * delete an interface in b.example.com's VPC?") evaluated against every role that could make
 * them: the functions' own roles of template.yaml, each function's actor role
 * (`<Function>ActorRole`) as the session the function assumes for the cluster the probe acts for
 * (its session tag `kopsless.io/cluster`; launch's and delete's also with `kopsless.io/vpc`, the
 * VPC `${Vpc:<cluster>}` stands for), that cluster's stack role (`ClusterStackRole`, as
 * CloudFormation uses it: its tags as principal tags, under ClusterStackBoundary), and the
 * instance roles of that cluster's stack, under the permissions boundary template.yaml gives them.
 *
 * An instance role's session carries `ec2:SourceInstanceArn` and a cluster API role's
 * `lambda:SourceFunctionArn`, as the credentials EC2 and Lambda deliver do; a probe whose context
 * sets an `aws:PrincipalTag/<key>` stands for a session assumed through the role's trust policy
 * with that session tag, and carries neither.
 *
 * Resources and context values may use `${Account}`, `${Region}`, `${StateBucket}`,
 * `${SecretsKey}` for the secrets key's ARN, and `${Vpc:<cluster>}` for the ID the evaluation
 * gives a cluster's VPC. A request on the state bucket or the secrets key is evaluated with the
 * bucket policy or the key policy as well.
 */

const ContextValue = z.union([z.string(), z.array(z.string())]);
const Probe = z
  .object({
    actingFor: z.string().min(1),
    principal: z.string().min(1),
    action: z.string().regex(/^[a-z0-9-]+:[A-Za-z0-9*]+$/, 'must be <service>:<Action>'),
    resource: z.string().min(1),
    context: z.record(ContextValue).optional(),
  })
  .strict();
export type Probe = z.output<typeof Probe>;

/** A probe file that cannot be read as a list of probes; its message names the place. */
export class ProbeFileError extends Error {
  override readonly name = 'ProbeFileError';
}

/** Reads a probe file's text; throws ProbeFileError naming the first problem. */
export function parseProbes(text: string, file = 'probes'): Probe[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ProbeFileError(`${file}: not JSON: ${(error as Error).message}`);
  }
  const parsed = z.array(Probe).min(1).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path
      .map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`))
      .join('');
    throw new ProbeFileError(`${file}${where}: ${issue.message}`);
  }
  return parsed.data;
}

/** The VPC ID the evaluation gives a cluster's stack: distinct per cluster, stable across runs. */
export function vpcIdOf(cluster: string): string {
  return `vpc-${createHash('sha256').update(cluster).digest('hex').slice(0, 17)}`;
}

function substitute(text: string, deployment: Deployment): string {
  return text.replace(
    /\$\{(Account|Region|StateBucket|SecretsKey|Vpc:([^}]+))\}/g,
    (_, name: string, vpc) => {
      if (vpc) return vpcIdOf(vpc);
      if (name === 'Account') return ACCOUNT;
      if (name === 'Region') return REGION;
      if (name === 'SecretsKey') return SECRETS_KEY_ARN;
      return deployment.stateBucket;
    },
  );
}

/** The instance roles a cluster's stack would have, as kopsless renders it for a default cluster of that name. */
function clusterStackRoles(
  cluster: string,
  template: Template,
  deployment: Deployment,
): Map<string, Role> {
  const manifest = manifestFromFlags({
    name: cluster,
    zones: [`${REGION}a`],
    bastion: true,
    nodeCount: 1,
    nodeSize: 't3.medium',
    controlPlaneSize: 't3.medium',
  });
  const checked = checkManifest(
    [manifest.cluster, ...manifest.instanceGroups].map((d) => toManifestYaml(d)).join('---\n'),
  );
  if (!checked.completed)
    throw new ProbeFileError(
      `actingFor "${cluster}": not a cluster name kopsless accepts: ${checked.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
    );
  const stack = renderStackTemplate({
    manifest: checked.completed,
    stateBucket: deployment.stateBucket,
    deployment: STACK_NAME,
    // As deployed: the stack runs the cluster's API function (its role is ClusterApiRole).
    clusterApiLayerArn: CLUSTER_API_LAYER_ARN,
  }) as Parameters<typeof stackRoles>[0];
  return stackRoles(stack, {
    stateBucket: deployment.stateBucket,
    vpcId: vpcIdOf(cluster),
    boundary: templatePolicy(template, 'ClusterRolesBoundary', deployment),
  });
}

/**
 * Roles a cluster's stack role may make besides those kopsless renders (ClusterStackRolesPolicy:
 * any `role/kopsless/kopsless-*` under ClusterRolesBoundary, tagged for the cluster, with any
 * inline policy and any trust policy): one named like an instance role, one like a cluster API
 * role, each allowing everything, so only the boundary and the resource policies limit them.
 */
function rolesMadeByStack(cluster: string, template: Template, deployment: Deployment): Role[] {
  const boundary = templatePolicy(template, 'ClusterRolesBoundary', deployment);
  const everything: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
  };
  const made = (name: string, role: string, deliveredBy: Record<string, string>): Role => ({
    name,
    arn: `arn:${PARTITION}:iam::${ACCOUNT}:role/kopsless/${role}`,
    policies: [{ name: 'anything', policy: everything }],
    boundary,
    deliveredBy,
    principalTags: { [CLUSTER_TAG]: cluster, [OWNER_TAG]: STACK_NAME },
  });
  return [
    made('StackMadeInstanceRole', 'kopsless-masters-made-by-stack', {
      'ec2:SourceInstanceArn': SOURCE_INSTANCE_ARN,
    }),
    made('StackMadeFunctionRole', 'kopsless-kubeapi-made-by-stack', {
      'lambda:SourceFunctionArn': `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:kopsless-kubeapi-made-by-stack`,
    }),
  ];
}

/**
 * The actor roles whose code also tags a session with the cluster's VPC (`kopsless.io/vpc`), to
 * associate it with a private zone or undo that (src/aws/zone-vpc.ts).
 */
const VPC_TAGGED_SESSIONS = new Set(['LaunchClusterActorRole', 'DeleteClusterActorRole']);

/** The session of actor role `id` for `cluster`, with the tags the code gives it at most. */
function sessionFor(id: string, role: Role, cluster: string): Role {
  return actingFor(role, cluster, VPC_TAGGED_SESSIONS.has(id) ? vpcIdOf(cluster) : undefined);
}

export interface ProbeResult {
  decision: 'ALLOWED' | 'DENIED';
  role: string;
  action: string;
  resource: string;
}

/** Every role a probe names (or all, for `*`), each with its decision, in a stable order. */
export async function runProbes(
  probes: Probe[],
  template: Template,
  deployment: Deployment,
): Promise<ProbeResult[]> {
  const shared = new Map<string, Role>(functionRoles(template, deployment));
  const policies = resourcePolicies(template, deployment);
  const actors = actorRoles(template, deployment);
  const stacks = new Map<string, Map<string, Role>>();
  const results: ProbeResult[] = [];
  for (const [i, probe] of probes.entries()) {
    let stack = stacks.get(probe.actingFor);
    if (!stack)
      stacks.set(
        probe.actingFor,
        (stack = clusterStackRoles(probe.actingFor, template, deployment)),
      );
    const sessions = [...actors].map(
      ([id, role]) => [id, sessionFor(id, role, probe.actingFor)] as const,
    );
    // CloudFormation, for the cluster's stack, as the cluster's stack role.
    const stackRole = clusterStackRole(template, deployment, probe.actingFor);
    const roles = new Map<string, Role>([
      ...shared,
      ...sessions,
      [stackRole.name, stackRole],
      ...stack,
      ...rolesMadeByStack(probe.actingFor, template, deployment).map((r) => [r.name, r] as const),
    ]);
    const chosen =
      probe.principal === '*' ? [...roles.values()] : [roles.get(probe.principal)].filter(Boolean);
    if (chosen.length === 0)
      throw new ProbeFileError(
        `probes[${i}].principal: no role "${probe.principal}" (one of: ${[...roles.keys()].join(', ')}, or *)`,
      );
    const resource = substitute(probe.resource, deployment);
    const context = Object.fromEntries(
      Object.entries(probe.context ?? {}).map(([k, v]) => [
        k,
        Array.isArray(v) ? v.map((x) => substitute(x, deployment)) : substitute(v, deployment),
      ]),
    );
    // Session tags are chosen at sts:AssumeRole: credentials EC2 or Lambda delivered carry none.
    const assumed = Object.keys(context).some((key) => key.startsWith('aws:PrincipalTag/'));
    for (const chosenRole of chosen as Role[]) {
      const role = assumed ? { ...chosenRole, deliveredBy: undefined } : chosenRole;
      let decision: Awaited<ReturnType<typeof decide>>;
      try {
        const request = { action: probe.action, resource, context };
        decision = await decide(role, request, resourcePolicyFor(request, policies, deployment));
      } catch (error) {
        throw new ProbeFileError(`probes[${i}]: ${(error as Error).message}`);
      }
      results.push({
        decision: decision === 'Allowed' ? 'ALLOWED' : 'DENIED',
        role: role.name,
        action: probe.action,
        resource,
      });
    }
  }
  return results;
}

/** One line per role and probe, as `check:iam --probes` prints it. */
export function formatProbeResult(r: ProbeResult): string {
  return `${r.decision} ${r.role} ${r.action} ${r.resource}`;
}
