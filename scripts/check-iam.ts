/**
 * `npm run check:iam`: runs the lifecycle of one cluster on the local backend (create, update,
 * rolling update, the ENI watcher acting, the API, delete), records every AWS call each function
 * makes, and evaluates each against that function's role in template.yaml with iam-simulate:
 * actions, resource ARNs and tag conditions as AWS evaluates them, plus the further actions AWS
 * checks for a call (iam:PassRole, ec2:RunInstances, ec2:CreateTags). Exit 1 on any denial.
 *
 * Prints `iam: N calls by F functions, D denied, U grants never used`, then the denied calls and
 * the grants nothing used. A grant is one action of one Allow statement; CloudFormation's own
 * calls for the cluster stack (made with the function's credentials) count as uses of the
 * function's grants, from test/iam/cloudformation.ts.
 */
import { readFileSync } from 'node:fs';
import { actorRoleOfArn } from '../src/local/actor-roles.js';
import type { AwsCall } from '../src/local/instrument/aws-calls.js';
import { checkManifest } from '../src/manifest/check.js';
import { CLUSTER_TAG, clusterApiFunctionName, stackRoleName } from '../src/planning/names.js';
import { STACK_ROLE_PATH_PREFIX } from '../src/planning/stack-role.js';
import { renderStackTemplate } from '../src/planning/stack-template.js';
import {
  cloudFormationActions,
  cloudFormationRequests,
  type StackRequest,
} from '../test/iam/cloudformation.js';
import { lifecycleManifests, runLifecycle } from '../test/iam/lifecycle-calls.js';
import {
  ACCOUNT,
  actorRoles,
  CLUSTER_API_LAYER_ARN,
  CLUSTER_STACK_ROLE,
  clusterStackRole,
  evaluate,
  functionRoles,
  grants,
  type Role,
  resolveIntrinsics,
  resourcePolicies,
  resourcePolicyFor,
  STACK_NAME,
  stackRoles,
  templatePolicy,
} from '../test/iam/policies.js';
import { formatProbeResult, ProbeFileError, parseProbes, runProbes } from '../test/iam/probes.js';
import { type IamRequest, iamRequests, Lookups } from '../test/iam/requests.js';
import { readTemplate } from '../test/support/template.js';

/**
 * `--probes FILE`: evaluates the probes in FILE (test/iam/probes.ts) instead of running the
 * lifecycle. Prints `ALLOWED|DENIED <logical id> <action> <resource>` per role and probe; 0, or 2
 * when the file cannot be read as probes.
 */
async function checkProbes(file: string | undefined): Promise<number> {
  if (!file) {
    console.error('check:iam: --probes needs a file: --probes FILE');
    return 2;
  }
  try {
    const probes = parseProbes(readFileSync(file, 'utf8'), file);
    const results = await runProbes(probes, readTemplate(), {
      stateBucket: process.env.STATE_BUCKET ?? 'kopsless-state-example',
    });
    // Written whole before the process exits: console.log into a pipe is asynchronous, and
    // process.exit would cut it short.
    const text = results.map((result) => `${formatProbeResult(result)}\n`).join('');
    await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
    return 0;
  } catch (error) {
    if (error instanceof ProbeFileError || (error as NodeJS.ErrnoException).code === 'ENOENT') {
      console.error(`check:iam: ${(error as Error).message}`);
      return 2;
    }
    throw error;
  }
}

const probesAt = process.argv.indexOf('--probes');
if (probesAt >= 0) process.exit(await checkProbes(process.argv[probesAt + 1]));

const verbose = process.argv.includes('--verbose');
const started = Date.now();
const recorded: Array<{ call: AwsCall; requests: IamRequest[] }> = [];
const byCloudFormation = new Map<string, Set<string>>();
/** CloudFormation's calls for a stack whose resources and tags are known, by stack role. */
const stackRequests: Array<{ actor: string; request: StackRequest }> = [];
/** Resources of a stack template tagged for a cluster other than its stack role's. */
const foreignTags: string[] = [];
const failures: string[] = [];
const lookups = new Lookups();
/** Sessions the functions assumed for one cluster: access key -> actor role and cluster tag. */
const sessions = new Map<string, { roleId: string; tags: Record<string, string> }>();

/** Remembers the session an AssumeRole call issued, to know whose later calls its key signs. */
function sessionIssued(call: AwsCall, output: unknown): void {
  if (call.service !== 'STS' || call.operation !== 'AssumeRole') return;
  // The middleware sees the handler's result: the operation's output under `output`.
  type Issued = { Credentials?: { AccessKeyId?: string } };
  const key = (output as { output?: Issued } | undefined)?.output?.Credentials?.AccessKeyId;
  const input = call.input as { RoleArn: string; Tags?: Array<{ Key: string; Value: string }> };
  const roleId = actorRoleOfArn(input.RoleArn);
  if (!key || !roleId) {
    failures.push(
      `${call.functionId} STS:AssumeRole of ${input.RoleArn}: no actor role of template.yaml`,
    );
    return;
  }
  sessions.set(key, {
    roleId,
    tags: Object.fromEntries((input.Tags ?? []).map((t) => [t.Key, t.Value])),
  });
}

/** The cluster a stack role's ARN names (`role/kopsless/stack/<cluster>/<name>`). */
function stackRoleCluster(roleArn: string): string | undefined {
  const cluster = new RegExp(`:role${STACK_ROLE_PATH_PREFIX}([^/]+)/[^/]+$`).exec(roleArn)?.[1];
  return cluster && roleArn.endsWith(`/${stackRoleName(cluster)}`) ? cluster : undefined;
}

/**
 * A stack role may create or change only what is tagged for its own cluster
 * (the ClusterStack*Policy conditions, ClusterStackBoundary's denials): every tagged resource of
 * the template it is given must carry its cluster's KubernetesCluster tag.
 */
function taggedForAnotherCluster(templateBody: string, cluster: string, actor: string): string[] {
  const resources =
    (
      JSON.parse(templateBody) as {
        Resources?: Record<string, { Type: string; Properties?: { Tags?: unknown } }>;
      }
    ).Resources ?? {};
  return Object.entries(resources).flatMap(([id, resource]) => {
    const tags = resource.Properties?.Tags;
    if (!Array.isArray(tags)) return [];
    const value = (tags as Array<{ Key?: string; Value?: unknown }>).find(
      (t) => t.Key === CLUSTER_TAG,
    )?.Value;
    return value === cluster
      ? []
      : [
          `${actor} (CloudFormation, the cluster stack): ${id} (${resource.Type}) is tagged ${CLUSTER_TAG}=${String(value)}, not ${cluster}: DENIED`,
        ];
  });
}

/** The key of one cluster's stack role among the roles evaluated. */
const stackRoleId = (cluster: string) => `${CLUSTER_STACK_ROLE}(${cluster})`;

async function cloudFormationUse(call: AwsCall): Promise<void> {
  if (
    call.service !== 'CloudFormation' ||
    !['CreateStack', 'UpdateStack', 'DeleteStack'].includes(call.operation)
  )
    return;
  const input = call.input as { StackName: string; TemplateBody?: string };
  const before =
    call.operation === 'CreateStack' ? undefined : await lookups.stackTemplate(input.StackName);
  const after = call.operation === 'DeleteStack' ? undefined : input.TemplateBody;
  // With a stack role CloudFormation acts as that role (the cluster's), not as the caller.
  const roleArn = (call.input as { RoleARN?: string }).RoleARN;
  const cluster = roleArn ? stackRoleCluster(roleArn) : undefined;
  if (roleArn && !cluster) {
    failures.push(
      `${call.functionId} ${call.operation} with ${roleArn}: not a cluster's stack role`,
    );
    return;
  }
  const actor = cluster ? stackRoleId(cluster) : call.functionId;
  if (cluster && after) foreignTags.push(...taggedForAnotherCluster(after, cluster, actor));
  if (cluster) {
    // The calls whose resource and tags the templates tell, evaluated as the stack role.
    const stackTags = (
      call.operation === 'DeleteStack'
        ? await lookups.stackTags(input.StackName)
        : ((call.input as { Tags?: unknown[] }).Tags ?? [])
    ) as Array<{ Key: string; Value: string }>;
    for (const request of cloudFormationRequests({
      before,
      after,
      stackTags,
      region: call.region,
      account: ACCOUNT,
      resolve: (value) =>
        resolveIntrinsics(value, { stateBucket: process.env.STATE_BUCKET ?? 'unused' }),
    }))
      stackRequests.push({ actor, request });
  }
  const set = byCloudFormation.get(actor) ?? new Set<string>();
  for (const action of cloudFormationActions(before, after)) set.add(action);
  byCloudFormation.set(actor, set);
}

let hostedZoneId = '';
try {
  ({ hostedZoneId } = await runLifecycle(
    {
      after: (call, { output }) => sessionIssued(call, output),
      before: async (call) => {
        try {
          recorded.push({ call, requests: await iamRequests(call, lookups) });
          await cloudFormationUse(call);
        } catch (error) {
          failures.push(
            `${call.functionId} ${call.service}:${call.operation}: ${(error as Error).message}`,
          );
        }
      },
    },
    (line) => verbose && console.error(`${((Date.now() - started) / 1000).toFixed(1)}s ${line}`),
  ));
} catch (error) {
  console.error(`iam: the lifecycle failed, nothing was evaluated: ${(error as Error).message}`);
  process.exit(1);
}

// Deployed with HostedZoneId set to the zone the lifecycle's cluster uses: the narrowest grant.
const deployment = { stateBucket: process.env.STATE_BUCKET!, hostedZoneId };
const roles = new Map<string, Role>([
  ...functionRoles(readTemplate(), deployment),
  ...actorRoles(readTemplate(), deployment),
]);
// Each cluster's API function runs under the role its cluster stack makes (stack-cluster-api.ts),
// as the stack is rendered on AWS, where the launch function gives it the deployment's layer; its
// calls are recorded under the function's name (kopsless-kubeapi-<cluster>-<hash>).
for (const text of lifecycleManifests()) {
  const manifest = checkManifest(text).completed!;
  const stack = renderStackTemplate({
    manifest,
    stateBucket: deployment.stateBucket,
    deployment: STACK_NAME,
    clusterApiLayerArn: CLUSTER_API_LAYER_ARN,
  }) as Parameters<typeof stackRoles>[0];
  const role = stackRoles(stack, {
    stateBucket: deployment.stateBucket,
    boundary: templatePolicy(readTemplate(), 'ClusterRolesBoundary', deployment),
  }).get('ClusterApiRole')!;
  const name = clusterApiFunctionName(manifest.cluster.metadata.name);
  roles.set(name, { ...role, name });
  // CloudFormation's role for this cluster's stack, tagged for it (src/aws/stack-role.ts).
  const cluster = manifest.cluster.metadata.name;
  roles.set(stackRoleId(cluster), {
    ...clusterStackRole(readTemplate(), deployment, cluster),
    name: stackRoleId(cluster),
  });
}
const policies = resourcePolicies(readTemplate(), deployment);
const used = new Set<string>();
const denied: string[] = [];
const decisions = new Map<string, Awaited<ReturnType<typeof evaluate>>>();
let deniedCalls = 0;
for (const { call, requests } of recorded) {
  // A call signed with a per-cluster session is the actor role's, with that session's tags.
  const session = call.accessKeyId ? sessions.get(call.accessKeyId) : undefined;
  const roleId = session?.roleId ?? call.functionId;
  const found = roles.get(roleId);
  if (!found) {
    failures.push(`${roleId}: no such function or role in template.yaml`);
    continue;
  }
  const role = session ? { ...found, principalTags: session.tags } : found;
  const caller = session ? `${call.functionId} as ${roleId}` : call.functionId;
  let refused = false;
  for (const request of requests) {
    const key = JSON.stringify([
      roleId,
      role.principalTags,
      request.action,
      request.resource,
      request.context,
    ]);
    let result = decisions.get(key);
    if (!result)
      decisions.set(
        key,
        (result = await evaluate(role, request, resourcePolicyFor(request, policies, deployment))),
      );
    for (const statement of result.allowedBy)
      used.add(`${roleId} ${statement} ${request.action.toLowerCase()}`);
    if (result.decision === 'Allowed') continue;
    refused = true;
    const tags = Object.entries(request.context)
      .filter(([k]) => k.startsWith('aws:'))
      .map(([k, v]) => `${k}=${String(v)}`);
    denied.push(
      `  ${caller} ${call.service}:${call.operation}: ${request.action} on ${request.resource}${request.because ? ` (${request.because})` : ''}${tags.length ? ` [${tags.join(', ')}]` : ''}: ${result.decision}`,
    );
  }
  if (refused) deniedCalls++;
}

/** The Allow statements of a role that list an action at all (any resource, any condition). */
function grantsOf(role: Role, action: string): string[] {
  return [...grants(role)]
    .filter(([, actions]) => actions.some((a) => a.toLowerCase() === action.toLowerCase()))
    .map(([statement]) => statement);
}

/** True when an Allow statement of the role's boundary names the action (wildcards included). */
function boundaryAllows(role: Role, action: string): boolean {
  if (!role.boundary) return true;
  return role.boundary.Statement.some(
    (statement) =>
      statement.Effect === 'Allow' &&
      ([] as string[])
        .concat(statement.Action as string | string[])
        .some((pattern) =>
          new RegExp(
            `^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`,
            'i',
          ).test(action),
        ),
  );
}

/** The grants of all clusters' stack roles count as one role's: one policy serves them all. */
const usageId = (id: string) => (id.startsWith(`${CLUSTER_STACK_ROLE}(`) ? CLUSTER_STACK_ROLE : id);

for (const [functionId, actions] of byCloudFormation) {
  const role = roles.get(functionId)!;
  for (const action of actions) {
    const statements = grantsOf(role, action);
    for (const statement of statements)
      used.add(`${usageId(functionId)} ${statement} ${action.toLowerCase()}`);
    if (statements.length === 0 || !boundaryAllows(role, action)) {
      deniedCalls++;
      denied.push(
        `  ${functionId} (CloudFormation, the cluster stack): ${action}: ${statements.length === 0 ? 'not granted' : 'outside the boundary'}`,
      );
    }
  }
}
for (const { actor, request } of stackRequests) {
  const role = roles.get(actor)!;
  const key = JSON.stringify([actor, request.action, request.resource, request.context]);
  let result = decisions.get(key);
  if (!result) decisions.set(key, (result = await evaluate(role, request)));
  for (const statement of result.allowedBy)
    used.add(`${usageId(actor)} ${statement} ${request.action.toLowerCase()}`);
  if (result.decision === 'Allowed') continue;
  deniedCalls++;
  denied.push(
    `  ${actor} (CloudFormation, the cluster stack): ${request.action} on ${request.resource} for ${request.because}: ${result.decision}`,
  );
}
for (const problem of foreignTags) {
  deniedCalls++;
  denied.push(`  ${problem}`);
}

const unused = new Set<string>();
for (const [functionId, role] of roles) {
  for (const [statement, actions] of grants(role)) {
    for (const action of actions)
      if (!used.has(`${usageId(functionId)} ${statement} ${action.toLowerCase()}`))
        unused.add(
          `  ${usageId(functionId)} ${statement.replace(/^.*?#/, 'statement ')}: ${action}`,
        );
  }
}

const uniqueDenied = [...new Set(denied)];
console.log(
  `iam: ${recorded.length} calls by ${new Set(recorded.map((r) => r.call.functionId)).size} functions, ${deniedCalls} denied, ${unused.size} grants never used`,
);
if (uniqueDenied.length > 0) console.log(`denied:\n${uniqueDenied.join('\n')}`);
if (unused.size > 0) console.log(`grants never used:\n${[...unused].join('\n')}`);
if (failures.length > 0)
  console.log(`calls the check could not evaluate:\n${failures.map((f) => `  ${f}`).join('\n')}`);
if (verbose) console.error(`${((Date.now() - started) / 1000).toFixed(1)}s in all`);
process.exit(deniedCalls > 0 || failures.length > 0 ? 1 : 0);
