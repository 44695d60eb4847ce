import { runSimulation } from '@cloud-copilot/iam-simulate';
import { clusterSessionTags } from '../../src/aws/cluster-credentials.js';
import { FUNCTIONS, type FunctionLogicalId, STATE_MACHINES } from '../../src/functions-registry.js';
import { localActorRoleArn } from '../../src/local/actor-roles.js';
import { stackRoleName } from '../../src/planning/names.js';
import { stackRolePath, stackRoleTags } from '../../src/planning/stack-role.js';
import type { Template } from '../support/template.js';

/**
 * The IAM policies of template.yaml and of a rendered cluster stack, resolved to the concrete
 * documents AWS would attach, and an evaluation of one request against them with
 * `@cloud-copilot/iam-simulate` (AGPL: used from test/ and scripts/ only, never shipped).
 */

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const PARTITION = 'aws';
/** The name CloudFormation would give the kopsless stack and, through it, the state machines. */
export const STACK_NAME = 'kopsless';
/** The ARNs of template.yaml's managed policies of the clusters' stack roles. */
export const CLUSTER_STACK_POLICY_ARN = `arn:${PARTITION}:iam::${ACCOUNT}:policy/kopsless-deployment/${STACK_NAME}-cluster-stack-policy`;
export const CLUSTER_STACK_ROLES_POLICY_ARN = `arn:${PARTITION}:iam::${ACCOUNT}:policy/kopsless-deployment/${STACK_NAME}-cluster-stack-roles`;
export const CLUSTER_STACK_API_POLICY_ARN = `arn:${PARTITION}:iam::${ACCOUNT}:policy/kopsless-deployment/${STACK_NAME}-cluster-stack-api`;
/** The managed policies a cluster's stack role carries, by logical ID. */
export const CLUSTER_STACK_POLICIES = [
  'ClusterStackPolicy',
  'ClusterStackRolesPolicy',
  'ClusterStackApiPolicy',
] as const;
export const CLUSTER_STACK_BOUNDARY_ARN = `arn:${PARTITION}:iam::${ACCOUNT}:policy/kopsless-deployment/${STACK_NAME}-cluster-stack-boundary`;
/** The ARN of template.yaml's permissions boundary for the roles of cluster stacks. */
export const BOUNDARY_ARN = `arn:${PARTITION}:iam::${ACCOUNT}:policy/kopsless/${STACK_NAME}-cluster-roles-boundary`;
/** The ARN CloudFormation would give template.yaml's SecretsKey. */
export const SECRETS_KEY_ARN = `arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e`;
/** The name of template.yaml's SecretsKeyAlias, and its ARN (what the functions write secrets with). */
export const SECRETS_KEY_ALIAS = `alias/${STACK_NAME}/state-secrets`;
export const SECRETS_KEY_ALIAS_ARN = `arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:${SECRETS_KEY_ALIAS}`;

/** The version ARN of template.yaml's ClusterApiLayer, which the launch function gives each cluster stack. */
export const CLUSTER_API_LAYER_ARN = `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:layer:${STACK_NAME}-cluster-api:1`;

/** The ARN SAM gives a function's role (`<Function>Role`). */
export function functionRoleArn(functionId: string): string {
  return `arn:${PARTITION}:iam::${ACCOUNT}:role/${STACK_NAME}-${functionId}Role-EXAMPLE`;
}

export type PolicyDocument = { Version: string; Statement: Array<Record<string, unknown>> };

/** One principal: a role ARN and the identity policies attached to it. */
export interface Role {
  name: string;
  arn: string;
  /** `managed`: a managed policy attached to the role (not counted in its inline policies' size). */
  policies: Array<{ name: string; policy: PolicyDocument; managed?: boolean }>;
  /** The role's permissions boundary, when it has one. */
  boundary?: PolicyDocument;
  /** A session policy the caller's credentials were issued with. */
  sessionPolicy?: PolicyDocument;
  /** The session's tags (`aws:PrincipalTag/<key>`). */
  principalTags?: Record<string, string>;
  /**
   * Keys the service that delivered the session's credentials puts in every request context:
   * `ec2:SourceInstanceArn` for an instance profile's, `lambda:SourceFunctionArn` for a function's
   * execution role. Absent for a session assumed through the trust policy.
   */
  deliveredBy?: Record<string, string>;
}

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** The values `!Ref`, `!GetAtt` and `!Sub` take in a deployment of template.yaml. */
export interface Deployment {
  stateBucket: string;
  /** The HostedZoneId parameter: the zone the clusters' records go into; unset, its default `*`. */
  hostedZoneId?: string;
  /** Values of `!Ref` for the resources of a cluster stack (`Vpc` -> its ID), when resolving one. */
  refs?: Record<string, string>;
  /** The deployment's name (`AWS::StackName`); unset, STACK_NAME. */
  stackName?: string;
}

/** An ARN or name built on STACK_NAME, as it is in a deployment named `deployment.stackName`. */
function named(value: string, deployment: Deployment): string {
  const stack = deployment.stackName ?? STACK_NAME;
  if (value.startsWith(`alias/${STACK_NAME}/`)) return value.replace(STACK_NAME, stack);
  // The name is the last `kopsless-` of the value (`policy/kopsless-deployment/kopsless-...`).
  const at = value.lastIndexOf(`${STACK_NAME}-`);
  if (at <= 0 || !':/'.includes(value[at - 1]!)) return value;
  return value.slice(0, at) + stack + value.slice(at + STACK_NAME.length);
}

function stateMachineArn(logicalId: string): string {
  const name = STATE_MACHINES[logicalId as keyof typeof STATE_MACHINES];
  if (!name) throw new Error(`no state machine ${logicalId} in the registry`);
  return `arn:${PARTITION}:states:${REGION}:${ACCOUNT}:stateMachine:${STACK_NAME}-${name}`;
}

function attribute(deployment: Deployment, logicalId: string, attr: string): string {
  return named(unnamedAttribute(deployment, logicalId, attr), deployment);
}

function unnamedAttribute(deployment: Deployment, logicalId: string, attr: string): string {
  if (logicalId === 'StateBucket' && attr === 'Arn')
    return `arn:${PARTITION}:s3:::${deployment.stateBucket}`;
  if (logicalId in STATE_MACHINES && attr === 'Name')
    return `${STACK_NAME}-${STATE_MACHINES[logicalId as keyof typeof STATE_MACHINES]}`;
  if (logicalId in STATE_MACHINES && attr === 'Arn') return stateMachineArn(logicalId);
  if (logicalId === 'SecretsKey' && attr === 'Arn') return SECRETS_KEY_ARN;
  if (logicalId.endsWith('ActorRole') && attr === 'Arn') return localActorRoleArn(logicalId);
  // SAM's role of a function.
  if (attr === 'Arn' && logicalId.endsWith('FunctionRole') && logicalId.slice(0, -4) in FUNCTIONS)
    return functionRoleArn(logicalId.slice(0, -4));
  throw new Error(
    `no value for ${logicalId}.${attr} in the IAM evaluation (add it to test/iam/policies.ts)`,
  );
}

function reference(deployment: Deployment, name: string): string {
  if (name === 'AWS::StackName') return deployment.stackName ?? STACK_NAME;
  return named(unnamedReference(deployment, name), deployment);
}

function unnamedReference(deployment: Deployment, name: string): string {
  const pseudo: Record<string, string> = {
    'AWS::Partition': PARTITION,
    'AWS::Region': REGION,
    'AWS::AccountId': ACCOUNT,
    'AWS::StackName': STACK_NAME,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  if (name in pseudo) return pseudo[name]!;
  if (name === 'StateBucket') return deployment.stateBucket;
  if (name === 'HostedZoneId') return deployment.hostedZoneId ?? '*';
  if (deployment.refs && name in deployment.refs) return deployment.refs[name]!;
  if (name in STATE_MACHINES) return stateMachineArn(name);
  if (name === 'NotificationTopic')
    return `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${STACK_NAME}-NotificationTopic`;
  if (name === 'ClusterRolesBoundary') return BOUNDARY_ARN;
  if (name === 'ClusterStackPolicy') return CLUSTER_STACK_POLICY_ARN;
  if (name === 'ClusterStackRolesPolicy') return CLUSTER_STACK_ROLES_POLICY_ARN;
  if (name === 'ClusterStackApiPolicy') return CLUSTER_STACK_API_POLICY_ARN;
  if (name === 'ClusterStackBoundary') return CLUSTER_STACK_BOUNDARY_ARN;
  if (name === 'SecretsKeyAlias') return SECRETS_KEY_ALIAS;
  if (name === 'ClusterApiLayer') return CLUSTER_API_LAYER_ARN;
  throw new Error(
    `no value for !Ref ${name} in the IAM evaluation (add it to test/iam/policies.ts)`,
  );
}

/** Replaces every intrinsic function in a policy with the value it has once deployed. */
export function resolveIntrinsics(value: unknown, deployment: Deployment): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, deployment));
  if (!value || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  if (keys.length === 1 && keys[0] === 'Ref') return reference(deployment, object.Ref as string);
  if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
    const target = object['Fn::GetAtt'];
    const [id, attr] = Array.isArray(target) ? (target as string[]) : String(target).split('.');
    return attribute(deployment, id!, attr!);
  }
  if (keys.length === 1 && keys[0] === 'Fn::Sub') {
    const text = object['Fn::Sub'];
    if (typeof text !== 'string')
      throw new Error('Fn::Sub with a variable map is not used in policies');
    return text
      .replace(/\$\{([\w:]+)(?:\.(\w+))?\}/g, (_, id: string, attr?: string) =>
        attr ? attribute(deployment, id, attr) : reference(deployment, id),
      )
      .replace(/\$\{!/g, '${'); // `${!x}` is CloudFormation's escape for the literal `${x}` (an IAM policy variable)
  }
  const intrinsic = keys.find((k) => k.startsWith('Fn::'));
  if (intrinsic) throw new Error(`${intrinsic} is not resolved by the IAM evaluation`);
  return Object.fromEntries(
    Object.entries(object).map(([k, v]) => [k, resolveIntrinsics(v, deployment)]),
  );
}

/**
 * Every function's role as SAM creates it from `Policies`: the inline statements of template.yaml.
 * (SAM also attaches AWSLambdaBasicExecutionRole and, with tracing, AWSXrayWriteOnlyAccess: logs
 * and X-Ray only, nothing these checks ask about.)
 */
export function functionRoles(
  template: Template,
  deployment: Deployment,
): Map<FunctionLogicalId, Role> {
  const roles = new Map<FunctionLogicalId, Role>();
  for (const id of Object.keys(FUNCTIONS) as FunctionLogicalId[]) {
    const resource = template.Resources[id];
    if (resource?.Type !== 'AWS::Serverless::Function')
      throw new Error(`template.yaml has no function ${id}`);
    const policies = (resource.Properties?.Policies ?? []) as unknown[];
    roles.set(id, {
      name: id,
      arn: functionRoleArn(id),
      policies: [
        ...policies.map((policy, i) => {
          if (!policy || typeof policy !== 'object' || !('Statement' in policy))
            throw new Error(
              `${id}.Policies[${i}] is not an inline policy document; the IAM evaluation reads only those`,
            );
          return {
            name: `${id}Policy${i}`,
            policy: resolveIntrinsics(policy, deployment) as PolicyDocument,
          };
        }),
        ...attachedPolicies(template, `${id}Role`, deployment),
      ],
    });
  }
  return roles;
}

/**
 * The `AWS::IAM::Policy` (inline) and `AWS::IAM::ManagedPolicy` resources of template.yaml
 * attached to the role `roleLogicalId`.
 */
function attachedPolicies(
  template: Template,
  roleLogicalId: string,
  deployment: Deployment,
): Role['policies'] {
  return Object.entries(template.Resources).flatMap(([id, resource]) => {
    const managed = resource.Type === 'AWS::IAM::ManagedPolicy';
    if (resource.Type !== 'AWS::IAM::Policy' && !managed) return [];
    const roles = (resource.Properties?.Roles ?? []) as Array<{ Ref?: string }>;
    if (!roles.some((r) => r.Ref === roleLogicalId)) return [];
    return [
      {
        name: id,
        ...(managed ? { managed } : {}),
        policy: resolveIntrinsics(
          resource.Properties?.PolicyDocument,
          deployment,
        ) as PolicyDocument,
      },
    ];
  });
}

/**
 * The per-cluster actor roles of template.yaml (`<Function>ActorRole`), by logical ID: their
 * policies, and their trust policy as `trust`. A session of one acts for the cluster its session
 * tag names: give it `principalTags` (see `actingFor`).
 */
export function actorRoles(
  template: Template,
  deployment: Deployment,
): Map<string, Role & { trust: PolicyDocument }> {
  const roles = new Map<string, Role & { trust: PolicyDocument }>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Role' || !id.endsWith('ActorRole')) continue;
    roles.set(id, {
      name: id,
      arn: attribute(deployment, id, 'Arn'),
      policies: [
        ...inlinePolicies(id, resource, deployment),
        ...attachedPolicies(template, id, deployment),
      ],
      trust: resolveIntrinsics(
        resource.Properties?.AssumeRolePolicyDocument,
        deployment,
      ) as PolicyDocument,
    });
  }
  return roles;
}

/** A template role's inline policies (`Properties.Policies`), resolved as deployed. */
function inlinePolicies(
  id: string,
  resource: Template['Resources'][string],
  deployment: Deployment,
): Role['policies'] {
  const policies = (resource.Properties?.Policies ?? []) as Array<{
    PolicyName: string;
    PolicyDocument: unknown;
  }>;
  return policies.map((p) => ({
    name: `${id}.${p.PolicyName}`,
    policy: resolveIntrinsics(p.PolicyDocument, deployment) as PolicyDocument,
  }));
}

/**
 * An actor role's session for `cluster`: the role with the session tags the code gives it
 * (src/aws/cluster-credentials.ts), given `vpcId` the VPC tag too.
 */
export function actingFor(role: Role, cluster: string, vpcId?: string): Role {
  const tags = Object.fromEntries(clusterSessionTags(cluster, vpcId).map((t) => [t.Key, t.Value]));
  return { ...role, principalTags: { ...role.principalTags, ...tags } };
}

/** The logical ID the evaluation gives a cluster's stack role (it is made by the launch stage, not a template). */
export const CLUSTER_STACK_ROLE = 'ClusterStackRole';

/**
 * The stack role of `cluster` as the launch stage makes it (src/aws/stack-role.ts) and
 * CloudFormation uses it: under the cluster's path, with CLUSTER_STACK_POLICIES, ClusterStackBoundary
 * as its boundary, and its own tags as the session's principal tags.
 */
export function clusterStackRole(
  template: Template,
  deployment: Deployment,
  cluster: string,
): Role {
  return {
    name: CLUSTER_STACK_ROLE,
    arn: `arn:${PARTITION}:iam::${ACCOUNT}:role${stackRolePath(cluster)}${stackRoleName(cluster)}`,
    policies: CLUSTER_STACK_POLICIES.map((id) => ({
      name: id,
      policy: templatePolicy(template, id, deployment),
    })),
    boundary: templatePolicy(template, 'ClusterStackBoundary', deployment),
    principalTags: Object.fromEntries(
      stackRoleTags(cluster, STACK_NAME).map((t) => [t.Key, t.Value]),
    ),
  };
}

/** The ID the evaluation gives a cluster stack's VPC (`!Ref Vpc`). */
export const STACK_VPC_ID = 'vpc-0000000000000000a';

/** A managed policy of template.yaml (the boundary), resolved as deployed. */
export function templatePolicy(
  template: Template,
  logicalId: string,
  deployment: Deployment,
): PolicyDocument {
  const resource = template.Resources[logicalId];
  if (resource?.Type !== 'AWS::IAM::ManagedPolicy')
    throw new Error(`template.yaml has no managed policy ${logicalId}`);
  return resolveIntrinsics(resource.Properties?.PolicyDocument, deployment) as PolicyDocument;
}

/** The instance the evaluation gives an instance profile's credentials. */
export const SOURCE_INSTANCE_ARN = `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:instance/i-0123456789abcdef0`;

/**
 * The key the service a stack role trusts puts in its credentials' requests: EC2's instance
 * profile (`ec2:SourceInstanceArn`), or Lambda for the stack's function that runs as the role
 * (`lambda:SourceFunctionArn`, its name from the template).
 */
function deliveredCredentials(
  roleId: string,
  properties: Record<string, any>,
  resources: Record<string, { Type: string; Properties?: Record<string, any> }>,
): { deliveredBy?: Record<string, string> } {
  const statements = (properties.AssumeRolePolicyDocument?.Statement ?? []) as Array<{
    Principal?: { Service?: string | string[] };
  }>;
  const services = statements.flatMap((s) => [s.Principal?.Service ?? []].flat());
  if (services.includes('ec2.amazonaws.com'))
    return { deliveredBy: { 'ec2:SourceInstanceArn': SOURCE_INSTANCE_ARN } };
  if (!services.includes('lambda.amazonaws.com')) return {};
  const fn = Object.values(resources).find(
    (r) =>
      r.Type === 'AWS::Lambda::Function' &&
      JSON.stringify(r.Properties?.Role) === JSON.stringify({ 'Fn::GetAtt': [roleId, 'Arn'] }),
  );
  const name = fn?.Properties?.FunctionName;
  if (typeof name !== 'string') return {};
  return {
    deliveredBy: {
      'lambda:SourceFunctionArn': `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:${name}`,
    },
  };
}

/**
 * The IAM roles of a rendered cluster stack (masters, nodes, bastions), by logical ID, their
 * policies resolved as CloudFormation would (`vpcId` for the stack's VPC), under `boundary`.
 */
export function stackRoles(
  stack: {
    Resources: Record<string, { Type: string; Properties?: Record<string, any> }>;
  },
  options: { stateBucket?: string; vpcId?: string; boundary?: PolicyDocument } = {},
): Map<string, Role> {
  const deployment: Deployment = {
    stateBucket: options.stateBucket ?? 'unused',
    refs: { Vpc: options.vpcId ?? STACK_VPC_ID },
  };
  const roles = new Map<string, Role>();
  for (const [id, resource] of Object.entries(stack.Resources)) {
    if (resource.Type !== 'AWS::IAM::Role') continue;
    const properties = resource.Properties ?? {};
    const policies = (properties.Policies ?? []) as Array<{
      PolicyName: string;
      PolicyDocument: PolicyDocument;
    }>;
    roles.set(id, {
      name: id,
      arn: `arn:${PARTITION}:iam::${ACCOUNT}:role${(properties.Path as string | undefined) ?? '/'}${properties.RoleName as string}`,
      policies: policies.map((p) => ({
        name: p.PolicyName,
        policy: resolveIntrinsics(p.PolicyDocument, deployment) as PolicyDocument,
      })),
      ...(options.boundary ? { boundary: options.boundary } : {}),
      ...deliveredCredentials(id, properties, stack.Resources),
      // An instance's session carries its role's tags (aws:PrincipalTag/...).
      principalTags: Object.fromEntries(
        ((properties.Tags ?? []) as Array<{ Key: string; Value: string }>).map((t) => [
          t.Key,
          t.Value,
        ]),
      ),
    });
  }
  return roles;
}

/** The resource policies of template.yaml that IAM evaluates with a request: the bucket's and the secrets key's. */
export interface ResourcePolicies {
  bucket: PolicyDocument;
  secretsKey: PolicyDocument;
}

/** template.yaml's state bucket policy and secrets key policy, resolved as deployed. */
export function resourcePolicies(template: Template, deployment: Deployment): ResourcePolicies {
  const bucket = template.Resources.StateBucketPolicy?.Properties?.PolicyDocument;
  const key = template.Resources.SecretsKey?.Properties?.KeyPolicy;
  if (!bucket || !key)
    throw new Error('template.yaml has no StateBucketPolicy policy or SecretsKey key policy');
  return {
    bucket: resolveIntrinsics(bucket, deployment) as PolicyDocument,
    secretsKey: resolveIntrinsics(key, deployment) as PolicyDocument,
  };
}

/** The resource policy AWS evaluates with a request, if any: the bucket's for its objects, the key's for the key. */
export function resourcePolicyFor(
  request: Request,
  policies: ResourcePolicies | undefined,
  deployment: Deployment,
): PolicyDocument | undefined {
  if (!policies) return undefined;
  const bucketArn = `arn:${PARTITION}:s3:::${deployment.stateBucket}`;
  if (
    request.action.startsWith('s3:') &&
    (request.resource === bucketArn || request.resource.startsWith(`${bucketArn}/`))
  )
    return policies.bucket;
  if (request.action.startsWith('kms:') && request.resource === SECRETS_KEY_ARN)
    return policies.secretsKey;
  return undefined;
}

export interface Request {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

/**
 * How AWS decides one request of one role: its identity policies, boundary and session policy,
 * and the resource's policy when it has one (`resourcePolicyFor`).
 */
export async function decide(
  role: Role,
  request: Request,
  resourcePolicy?: PolicyDocument,
): Promise<Decision> {
  const result = await runSimulation(
    {
      identityPolicies: role.policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(role.boundary
        ? { permissionBoundaryPolicies: [{ name: 'boundary', policy: role.boundary }] }
        : {}),
      ...(role.sessionPolicy ? { sessionPolicy: role.sessionPolicy } : {}),
      ...(resourcePolicy ? { resourcePolicy } : {}),
      request: {
        action: request.action,
        principal: role.arn,
        resource: { accountId: ACCOUNT, resource: request.resource },
        contextVariables: {
          // AWS sets it for every role session: the role's ARN (path included).
          'aws:PrincipalArn': role.arn,
          ...role.deliveredBy,
          ...Object.fromEntries(
            Object.entries(role.principalTags ?? {}).map(([k, v]) => [`aws:PrincipalTag/${k}`, v]),
          ),
          ...(request.context ?? {}),
        },
      },
    },
    {},
  );
  if (result.resultType === 'error')
    throw new Error(
      `the IAM simulation refused ${role.name} ${request.action} ${request.resource}: ${JSON.stringify(result.errors)}`,
    );
  return result.overallResult as Decision;
}

/** A decision and the Allow statements that granted it (`<policy>#<Sid or 1-based index>`). */
export async function evaluate(
  role: Role,
  request: Request,
  resourcePolicy?: PolicyDocument,
): Promise<{ decision: Decision; allowedBy: string[] }> {
  const result = await runSimulation(
    {
      identityPolicies: role.policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(role.boundary
        ? { permissionBoundaryPolicies: [{ name: 'boundary', policy: role.boundary }] }
        : {}),
      ...(role.sessionPolicy ? { sessionPolicy: role.sessionPolicy } : {}),
      ...(resourcePolicy ? { resourcePolicy } : {}),
      request: {
        action: request.action,
        principal: role.arn,
        resource: { accountId: ACCOUNT, resource: request.resource },
        contextVariables: {
          // AWS sets it for every role session: the role's ARN (path included).
          'aws:PrincipalArn': role.arn,
          ...role.deliveredBy,
          ...Object.fromEntries(
            Object.entries(role.principalTags ?? {}).map(([k, v]) => [`aws:PrincipalTag/${k}`, v]),
          ),
          ...(request.context ?? {}),
        },
      },
    },
    {},
  );
  if (result.resultType === 'error')
    throw new Error(
      `the IAM simulation refused ${role.name} ${request.action} ${request.resource}: ${JSON.stringify(result.errors)}`,
    );
  if (result.resultType !== 'single')
    throw new Error(`${request.action} ${request.resource}: one resource expected`);
  const allows = result.result.analysis?.identityAnalysis?.allowStatements ?? [];
  return {
    decision: result.overallResult as Decision,
    allowedBy: allows.map((s) => `${s.policyId}#${s.explain.identifier}`),
  };
}

/** Every action each Allow statement grants, as `<policy>#<Sid or 1-based index>` -> actions. */
export function grants(role: Role): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { name, policy } of role.policies) {
    policy.Statement.forEach((statement, i) => {
      if (statement.Effect !== 'Allow') return;
      const actions = ([] as string[]).concat(statement.Action as string | string[]);
      out.set(`${name}#${(statement.Sid as string | undefined) ?? String(i + 1)}`, actions);
    });
  }
  return out;
}
