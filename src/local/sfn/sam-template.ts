import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, type Tags } from 'yaml';
import {
  ALL_STATE_MACHINES,
  deployedStateMachineName,
  FUNCTIONS,
  type FunctionLogicalId,
  LOCAL_STACK_NAME,
} from '../../functions-registry.js';
import { localActorRoleArn } from '../actor-roles.js';
import { CLUSTER_STACK_POLICIES, localClusterStackPolicyArn } from '../cluster-stack-policies.js';
import { ACCOUNT } from './asl-definition.js';

/**
 * template.yaml as `sam build` and Lambda read it for each function: its esbuild
 * BuildProperties, its Handler, and its Environment, MemorySize and Timeout after the Globals,
 * with the intrinsics of its environment resolved to the values of a local deployment.
 */

/** The repository root: template.yaml, functions/ and node_modules/ are here. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A value of the template, intrinsics read as their long form (`{ Ref: X }`, `{ 'Fn::Sub': ... }`). */
type TemplateValue = unknown;

/** CloudFormation's short-form intrinsics (`!Ref X`), read as the long form `{ Ref: X }`. */
export const INTRINSICS: Tags = [
  'Ref',
  'GetAtt',
  'Sub',
  'If',
  'Equals',
  'Join',
  'Select',
  'Split',
  'Not',
  'And',
  'Or',
  'FindInMap',
  'ImportValue',
  'GetAZs',
  'Base64',
  'Cidr',
].flatMap(
  (name) =>
    (['scalar', 'seq', 'map'] as const).map((nodeClass) => ({
      tag: `!${name}`,
      collection: nodeClass === 'scalar' ? undefined : nodeClass,
      resolve: (value: unknown) => ({
        [name === 'Ref' ? 'Ref' : `Fn::${name}`]:
          typeof value === 'object' && value && 'toJSON' in value
            ? (value as { toJSON: () => unknown }).toJSON()
            : value,
      }),
    })) as Tags,
);

interface RawTemplate {
  Parameters?: Record<string, { Default?: unknown }>;
  Globals?: { Function?: Record<string, any> };
  Resources: Record<string, { Type: string; Properties?: Record<string, any>; Metadata?: any }>;
}

/** One AWS::Serverless::Function as it is built and run. */
export interface TemplateFunction {
  logicalId: FunctionLogicalId;
  /** `Metadata.BuildMethod`: `esbuild` for every kopsless function. */
  buildMethod: string;
  /** `Metadata.BuildProperties`, as written (PascalCase keys). */
  buildProperties: Record<string, unknown>;
  /** `Handler`: `<file>.<export>`. */
  handler: string;
  runtime: string;
  /** MB, after the Globals. */
  memorySize: number;
  /** Seconds, after the Globals. */
  timeout: number;
  /** `Environment.Variables`, the Globals' and the function's merged; intrinsics unresolved. */
  environment: Record<string, TemplateValue>;
}

/** Reads template.yaml (or another SAM template) with CloudFormation's short-form intrinsics. */
export function readSamTemplate(path = join(PROJECT_ROOT, 'template.yaml')): RawTemplate {
  return parse(readFileSync(path, 'utf8'), { customTags: INTRINSICS }) as RawTemplate;
}

/** Every function of the registry as the template declares it; a function the template lacks is an error. */
export function templateFunctions(
  template: RawTemplate = readSamTemplate(),
): Record<FunctionLogicalId, TemplateFunction> {
  const globals = template.Globals?.Function ?? {};
  const entries = (Object.keys(FUNCTIONS) as FunctionLogicalId[]).map((logicalId) => {
    const resource = template.Resources[logicalId];
    if (resource?.Type !== 'AWS::Serverless::Function')
      throw new Error(`template.yaml has no AWS::Serverless::Function ${logicalId}`);
    const properties = resource.Properties ?? {};
    const setting = <T>(name: string): T => (properties[name] ?? globals[name]) as T;
    const handler = setting<string>('Handler');
    if (typeof handler !== 'string' || !handler.includes('.'))
      throw new Error(`template.yaml: ${logicalId}.Properties.Handler must be <file>.<export>`);
    const fn: TemplateFunction = {
      logicalId,
      buildMethod: String(resource.Metadata?.BuildMethod ?? ''),
      buildProperties: { ...(resource.Metadata?.BuildProperties ?? {}) },
      handler,
      runtime: setting<string>('Runtime'),
      // Lambda's own defaults when neither the function nor the Globals set them.
      memorySize: Number(setting<number>('MemorySize') ?? 128),
      timeout: Number(setting<number>('Timeout') ?? 3),
      environment: {
        ...(globals.Environment?.Variables ?? {}),
        ...(properties.Environment?.Variables ?? {}),
      },
    };
    return [logicalId, fn] as const;
  });
  return Object.fromEntries(entries) as Record<FunctionLogicalId, TemplateFunction>;
}

/** The layer that carries the clusters' API function (ClusterApiLayer), as the template builds it. */
export interface TemplateLayer {
  logicalId: string;
  /** `Metadata.BuildProperties`: the same esbuild settings as a function's. */
  buildProperties: Record<string, unknown>;
}

/** The ClusterApiLayer of template.yaml; an error when the template lacks it or its build settings. */
export function templateClusterApiLayer(template: RawTemplate = readSamTemplate()): TemplateLayer {
  const logicalId = 'ClusterApiLayer';
  const resource = template.Resources[logicalId];
  if (resource?.Type !== 'AWS::Serverless::LayerVersion')
    throw new Error(`template.yaml has no AWS::Serverless::LayerVersion ${logicalId}`);
  const buildProperties = resource.Metadata?.BuildProperties;
  if (!buildProperties || typeof buildProperties !== 'object')
    throw new Error(`template.yaml: ${logicalId}.Metadata.BuildProperties is missing`);
  return { logicalId, buildProperties: { ...buildProperties } };
}

/** The file and export a Handler names: `validate-spec.handler` -> `validate-spec`, `handler`. */
export function handlerParts(handler: string): { file: string; exportName: string } {
  const dot = handler.lastIndexOf('.');
  return { file: handler.slice(0, dot), exportName: handler.slice(dot + 1) };
}

/** What the intrinsics of a function's environment stand for in a local deployment. */
export interface LocalDeployment {
  stateBucket: string;
  region: string;
  /** The stack the state machines' names derive from (`kopsless` locally). */
  stackName?: string;
  /** Template parameters given a value other than their default. */
  parameters?: Record<string, string>;
}

function stateMachineArn(deployment: LocalDeployment, logicalId: string): string {
  const file = ALL_STATE_MACHINES[logicalId as keyof typeof ALL_STATE_MACHINES];
  return `arn:aws:states:${deployment.region}:${ACCOUNT}:stateMachine:${deployedStateMachineName(
    file,
    deployment.stackName ?? LOCAL_STACK_NAME,
  )}`;
}

/** `!Ref name` in a local deployment: a parameter, a pseudo parameter, the bucket or a state machine. */
function reference(
  template: RawTemplate,
  deployment: LocalDeployment,
  name: string,
): string | undefined {
  const pseudo: Record<string, string> = {
    'AWS::Region': deployment.region,
    'AWS::AccountId': ACCOUNT,
    'AWS::Partition': 'aws',
    'AWS::StackName': deployment.stackName ?? LOCAL_STACK_NAME,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  if (name in pseudo) return pseudo[name];
  if (deployment.parameters && name in deployment.parameters) return deployment.parameters[name];
  const parameter = template.Parameters?.[name];
  if (parameter) return parameter.Default === undefined ? undefined : String(parameter.Default);
  if (name === 'StateBucket') return deployment.stateBucket;
  if (name in ALL_STATE_MACHINES) return stateMachineArn(deployment, name);
  // The local backend's topic (see LOCAL_TOPIC_NAME in event-log.ts).
  if (name === 'NotificationTopic')
    return `arn:aws:sns:${deployment.region}:${ACCOUNT}:kopsless-notifications`;
  // The local backend runs the clusters' API functions itself (cluster-api.ts): no layer for
  // the cluster stacks, as the functions read an empty CLUSTER_API_LAYER_ARN.
  if (name === 'ClusterApiLayer') return '';
  // The managed policies of the clusters' stack roles, made in moto by the backend (stack-policies.ts).
  if (name in CLUSTER_STACK_POLICIES)
    return localClusterStackPolicyArn(
      name as keyof typeof CLUSTER_STACK_POLICIES,
      deployment.stackName,
    );
  if (name === 'ClusterRolesBoundary')
    return `arn:aws:iam::${ACCOUNT}:policy/kopsless/${deployment.stackName ?? LOCAL_STACK_NAME}-cluster-roles-boundary`;
  return undefined;
}

/**
 * One environment value as Lambda would see it in this deployment. An intrinsic the local
 * backend has no value for is an error naming the variable, not an empty string.
 */
function resolveValue(
  template: RawTemplate,
  deployment: LocalDeployment,
  where: string,
  value: TemplateValue,
): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  const intrinsic = (value ?? {}) as Record<string, unknown>;
  if (typeof intrinsic.Ref === 'string') {
    const resolved = reference(template, deployment, intrinsic.Ref);
    if (resolved !== undefined) return resolved;
  }
  if (intrinsic['Fn::GetAtt'] !== undefined) {
    const target = intrinsic['Fn::GetAtt'];
    const [id, attribute] = Array.isArray(target) ? target : String(target).split('.');
    if (id && id in ALL_STATE_MACHINES && attribute === 'Arn')
      return stateMachineArn(deployment, id);
    if (id && id in ALL_STATE_MACHINES && attribute === 'Name')
      return stateMachineArn(deployment, id).split(':').pop()!;
    if (id === 'StateBucket' && attribute === 'Arn')
      return `arn:aws:s3:::${deployment.stateBucket}`;
    // Each function's per-cluster actor role, as the in-process runner names it.
    if (id && /ActorRole$/.test(id) && attribute === 'Arn') return localActorRoleArn(id);
  }
  if (typeof intrinsic['Fn::Sub'] === 'string') {
    let failed: string | undefined;
    const text = (intrinsic['Fn::Sub'] as string).replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
      // `${!x}` is CloudFormation's escape for the literal `${x}` (an IAM policy variable).
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      const [id, attribute] = name.split('.');
      const resolved = attribute
        ? resolveValue(template, deployment, where, { 'Fn::GetAtt': [id, attribute] })
        : reference(template, deployment, name);
      if (resolved === undefined) failed = name;
      return resolved ?? '';
    });
    if (failed === undefined) return text;
  }
  throw new Error(
    `${where}: the local backend has no value for ${JSON.stringify(value)} (src/local/sfn/sam-template.ts)`,
  );
}

/**
 * A value of the template (a policy document, say) with every intrinsic in it resolved for a
 * local deployment, as CloudFormation would resolve it.
 */
export function resolvedTemplateValue(
  value: unknown,
  deployment: LocalDeployment,
  where: string,
  template: RawTemplate = readSamTemplate(),
): unknown {
  if (Array.isArray(value))
    return value.map((v, i) => resolvedTemplateValue(v, deployment, `${where}[${i}]`, template));
  if (!value || typeof value !== 'object') return value;
  if (Object.keys(value).some((k) => k === 'Ref' || k.startsWith('Fn::')))
    return resolveValue(template, deployment, where, value as TemplateValue);
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      resolvedTemplateValue(v, deployment, `${where}.${k}`, template),
    ]),
  );
}

/** A function's `Environment.Variables` with every intrinsic resolved for a local deployment. */
export function resolvedEnvironment(
  fn: TemplateFunction,
  deployment: LocalDeployment,
  template: RawTemplate = readSamTemplate(),
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fn.environment).map(([name, value]) => [
      name,
      resolveValue(template, deployment, `${fn.logicalId}.Environment.Variables.${name}`, value),
    ]),
  );
}
