import * as models from '@kubernetes/client-node';
import type { Obj } from './cluster.js';

/**
 * OpenAPI documents of the simulated API server, for what kubectl does with them: `apply`
 * computes its three-way strategic merge patch from the v3 schemas (merge keys and patch
 * strategies), and `--validate` (on by default) asks the v3 document whether the server checks
 * fields itself (`fieldValidation` on the PATCH operation) before it sends `fieldValidation=Strict`.
 *
 * The schemas are derived from @kubernetes/client-node's models (the same API types, generated
 * from Kubernetes's own OpenAPI), so property names and types are Kubernetes's. Those models do
 * not carry the patch directives, so the ones of the types served are listed below, as the Go
 * types in k8s.io/api tag them (`patchStrategy`, `patchMergeKey`).
 */

type Schema = Obj;

interface KindDef {
  group: string;
  version: string;
  kind: string;
  /** client-node model name. */
  model: string;
  resource: string;
  namespaced: boolean;
  verbs: string[];
}

/** The kinds served, with the verbs the routes (routes/*.ts) answer. */
export const KINDS: KindDef[] = [
  {
    group: '',
    version: 'v1',
    kind: 'Node',
    model: 'V1Node',
    resource: 'nodes',
    namespaced: false,
    verbs: ['get', 'list', 'patch'],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Pod',
    model: 'V1Pod',
    resource: 'pods',
    namespaced: true,
    verbs: ['create', 'get', 'list', 'patch', 'delete'],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Namespace',
    model: 'V1Namespace',
    resource: 'namespaces',
    namespaced: false,
    verbs: ['get', 'list'],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Event',
    model: 'CoreV1Event',
    resource: 'events',
    namespaced: true,
    verbs: ['create', 'get', 'list'],
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'DaemonSet',
    model: 'V1DaemonSet',
    resource: 'daemonsets',
    namespaced: true,
    verbs: ['get', 'list', 'patch'],
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    model: 'V1Deployment',
    resource: 'deployments',
    namespaced: true,
    verbs: ['create', 'get', 'list', 'patch', 'delete'],
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'ReplicaSet',
    model: 'V1ReplicaSet',
    resource: 'replicasets',
    namespaced: true,
    verbs: ['get', 'list'],
  },
  {
    group: 'policy',
    version: 'v1',
    kind: 'PodDisruptionBudget',
    model: 'V1PodDisruptionBudget',
    resource: 'poddisruptionbudgets',
    namespaced: true,
    verbs: ['create', 'get', 'list', 'patch', 'delete'],
  },
  {
    group: 'events.k8s.io',
    version: 'v1',
    kind: 'Event',
    model: 'EventsV1Event',
    resource: 'events',
    namespaced: true,
    verbs: ['create', 'get', 'list'],
  },
];

/** `patchStrategy` / `patchMergeKey` of the k8s.io/api fields of the types served. */
const PATCH_DIRECTIVES: Record<string, { strategy: string; key?: string }> = {
  'V1PodSpec.containers': { strategy: 'merge', key: 'name' },
  'V1PodSpec.initContainers': { strategy: 'merge', key: 'name' },
  'V1PodSpec.ephemeralContainers': { strategy: 'merge', key: 'name' },
  'V1PodSpec.volumes': { strategy: 'merge,retainKeys', key: 'name' },
  'V1PodSpec.imagePullSecrets': { strategy: 'merge', key: 'name' },
  'V1PodSpec.hostAliases': { strategy: 'merge', key: 'ip' },
  'V1Container.env': { strategy: 'merge', key: 'name' },
  'V1Container.ports': { strategy: 'merge', key: 'containerPort' },
  'V1Container.volumeMounts': { strategy: 'merge', key: 'mountPath' },
  'V1Container.volumeDevices': { strategy: 'merge', key: 'devicePath' },
  'V1ObjectMeta.finalizers': { strategy: 'merge' },
  'V1ObjectMeta.ownerReferences': { strategy: 'merge', key: 'uid' },
  'V1DeploymentSpec.strategy': { strategy: 'retainKeys' },
  'V1PodStatus.conditions': { strategy: 'merge', key: 'type' },
  'V1NodeStatus.conditions': { strategy: 'merge', key: 'type' },
  'V1NodeStatus.addresses': { strategy: 'merge', key: 'type' },
  'V1NodeSpec.podCIDRs': { strategy: 'merge' },
  'V1DeploymentStatus.conditions': { strategy: 'merge', key: 'type' },
  'V1ReplicaSetStatus.conditions': { strategy: 'merge', key: 'type' },
  'V1DaemonSetStatus.conditions': { strategy: 'merge', key: 'type' },
};

interface Attribute {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

function attributesOf(model: string): Attribute[] | undefined {
  const m = (models as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] }>)[
    model
  ];
  return m?.getAttributeTypeMap?.();
}

const ref = (model: string) => ({ $ref: `#/components/schemas/${model}` });

function typeSchema(type: string, format: string, into: Map<string, Schema>): Schema {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return { type: 'array', items: typeSchema(array[1]!, format, into) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return { type: 'object', additionalProperties: typeSchema(map[1]!, format, into) };
  switch (type) {
    case 'string':
      return { type: 'string' };
    case 'boolean':
      return { type: 'boolean' };
    case 'number':
      return format.startsWith('int') ? { type: 'integer', format } : { type: 'number' };
    case 'Date':
    case 'V1MicroTime':
      return { type: 'string', format: 'date-time' };
    case 'IntOrString':
      return { 'x-kubernetes-int-or-string': true };
    case 'any':
      return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    default:
      collect(type, into);
      return into.has(type)
        ? ref(type)
        : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  }
}

/** Adds a model's schema and every schema it refers to. */
function collect(model: string, into: Map<string, Schema>): void {
  if (into.has(model)) return;
  const attributes = attributesOf(model);
  if (!attributes) return;
  const schema: Schema = { type: 'object', properties: {} };
  into.set(model, schema);
  for (const a of attributes) {
    const property = typeSchema(a.type, a.format, into);
    const directive = PATCH_DIRECTIVES[`${model}.${a.baseName}`];
    if (directive) {
      property['x-kubernetes-patch-strategy'] = directive.strategy;
      if (directive.key) property['x-kubernetes-patch-merge-key'] = directive.key;
    }
    schema.properties[a.baseName] = property;
  }
}

const gvKey = (group: string, version: string) =>
  group ? `apis/${group}/${version}` : `api/${version}`;

/** The group-versions with a document: `api/v1`, `apis/apps/v1`, ... */
export function groupVersions(): string[] {
  return [...new Set(KINDS.map((k) => gvKey(k.group, k.version)))];
}

const cache = new Map<string, Schema>();

function gvkExtension(k: KindDef): Obj {
  return {
    'x-kubernetes-group-version-kind': { group: k.group, version: k.version, kind: k.kind },
  };
}

const FIELD_VALIDATION = {
  name: 'fieldValidation',
  in: 'query',
  description: 'Ignore, Warn or Strict: what the server does with unknown or duplicate fields',
  schema: { type: 'string', uniqueItems: true },
};
const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];

/** The OpenAPI v3 document of one group-version (`api/v1`, `apis/apps/v1`), or undefined. */
export function groupVersionDocument(gv: string): Schema | undefined {
  const cached = cache.get(gv);
  if (cached) return cached;
  const kinds = KINDS.filter((k) => gvKey(k.group, k.version) === gv);
  if (kinds.length === 0) return undefined;
  const schemas = new Map<string, Schema>();
  const paths: Obj = {};
  for (const k of kinds) {
    collect(k.model, schemas);
    schemas.get(k.model)!['x-kubernetes-group-version-kind'] = [
      { group: k.group, version: k.version, kind: k.kind },
    ];
    const base = `/${gv}${k.namespaced ? '/namespaces/{namespace}' : ''}/${k.resource}`;
    const body = (types: string[]) => ({
      required: true,
      content: Object.fromEntries(types.map((t) => [t, { schema: ref(k.model) }])),
    });
    const ok = {
      responses: {
        '200': { description: 'OK', content: { 'application/json': { schema: ref(k.model) } } },
      },
    };
    const collection: Obj = {};
    const item: Obj = {};
    if (k.verbs.includes('list'))
      collection.get = {
        operationId: `list${k.kind}`,
        ...gvkExtension(k),
        'x-kubernetes-action': 'list',
        responses: { '200': { description: 'OK' } },
      };
    if (k.verbs.includes('create'))
      collection.post = {
        operationId: `create${k.kind}`,
        ...gvkExtension(k),
        'x-kubernetes-action': 'post',
        parameters: [FIELD_VALIDATION],
        requestBody: body(['*/*']),
        ...ok,
      };
    if (k.verbs.includes('get'))
      item.get = {
        operationId: `read${k.kind}`,
        ...gvkExtension(k),
        'x-kubernetes-action': 'get',
        ...ok,
      };
    if (k.verbs.includes('patch'))
      item.patch = {
        operationId: `patch${k.kind}`,
        ...gvkExtension(k),
        'x-kubernetes-action': 'patch',
        parameters: [FIELD_VALIDATION],
        requestBody: body(PATCH_TYPES),
        ...ok,
      };
    if (k.verbs.includes('delete'))
      item.delete = {
        operationId: `delete${k.kind}`,
        ...gvkExtension(k),
        'x-kubernetes-action': 'delete',
        responses: { '200': { description: 'OK' } },
      };
    paths[base] = collection;
    paths[`${base}/{name}`] = item;
  }
  const doc = {
    openapi: '3.0.0',
    info: { title: 'Kubernetes (kopsless simulated API server)', version: 'v1.32.0' },
    paths,
    components: { schemas: Object.fromEntries(schemas) },
  };
  cache.set(gv, doc);
  return doc;
}

/** `/openapi/v3`: where each group-version's document is, relative to the server root. */
export function openApiV3Index(prefix: string): Schema {
  return {
    paths: Object.fromEntries(
      groupVersions().map((gv) => [
        gv,
        { serverRelativeURL: `${prefix}/openapi/v3/${gv}?hash=kopsless-1` },
      ]),
    ),
  };
}

/** `/openapi/v2` as JSON (Swagger 2.0): definitions with the same schemas, `#/definitions/` refs. */
export function openApiV2Document(): Schema {
  const definitions: Obj = {};
  for (const gv of groupVersions())
    Object.assign(definitions, groupVersionDocument(gv)!.components.schemas);
  const text = JSON.stringify(definitions).replaceAll('#/components/schemas/', '#/definitions/');
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes (kopsless simulated API server)', version: 'v1.32.0' },
    paths: {},
    definitions: JSON.parse(text),
  };
}

/** The schema of a served kind, and the lookup of the schemas it refers to. */
export function schemaFor(
  apiVersion: string,
  kind: string,
): { schema: Schema; resolve: (s: Schema) => Schema } | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const k = KINDS.find((d) => d.group === group && d.version === version && d.kind === kind);
  if (!k) return undefined;
  const schemas = groupVersionDocument(gvKey(k.group, k.version))!.components.schemas as Record<
    string,
    Schema
  >;
  const resolve = (s: Schema): Schema =>
    s?.$ref ? (schemas[String(s.$ref).replace('#/components/schemas/', '')] ?? {}) : (s ?? {});
  return { schema: schemas[k.model]!, resolve };
}

/**
 * Strict field validation, as the API server decodes a body with `fieldValidation=Strict`: the
 * paths of fields the schema does not know, and of values of the wrong JSON type.
 */
export function fieldErrors(apiVersion: string, kind: string, body: Obj): string[] {
  const found = schemaFor(apiVersion, kind);
  if (!found) return [];
  const errors: string[] = [];
  const visit = (value: unknown, raw: Schema, path: string) => {
    const schema = found.resolve(raw);
    if (
      value === null ||
      value === undefined ||
      schema['x-kubernetes-preserve-unknown-fields'] ||
      schema['x-kubernetes-int-or-string']
    )
      return;
    const type = schema.type as string | undefined;
    if (type === 'object' && schema.properties) {
      if (typeof value !== 'object' || Array.isArray(value))
        return void errors.push(`${path}: expected object`);
      for (const [k, v] of Object.entries(value as Obj)) {
        // Strategic merge patch directives (`$patch`, `$setElementOrder/containers`, ...).
        if (k.startsWith('$')) continue;
        const child = schema.properties[k];
        const at = path ? `${path}.${k}` : k;
        if (!child) errors.push(`unknown field "${at}"`);
        else visit(v, child, at);
      }
    } else if (type === 'object' && schema.additionalProperties) {
      if (typeof value !== 'object' || Array.isArray(value))
        return void errors.push(`${path}: expected map`);
      for (const [k, v] of Object.entries(value as Obj))
        visit(v, schema.additionalProperties, `${path}[${k}]`);
    } else if (type === 'array') {
      if (!Array.isArray(value)) return void errors.push(`${path}: expected array`);
      value.forEach((v, i) => {
        if (!(v && typeof v === 'object' && '$patch' in v && Object.keys(v).length === 1))
          visit(v, schema.items, `${path}[${i}]`);
      });
    } else if (type === 'string' && typeof value !== 'string')
      errors.push(`${path}: expected string, got ${typeof value}`);
    else if (type === 'integer' && !Number.isInteger(value))
      errors.push(`${path}: expected integer, got ${JSON.stringify(value)}`);
    else if (type === 'boolean' && typeof value !== 'boolean')
      errors.push(`${path}: expected boolean, got ${typeof value}`);
  };
  visit(body, found.schema, '');
  return errors;
}
