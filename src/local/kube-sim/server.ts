import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseFieldSelector, parseLabelSelector, type Obj, type SimCluster } from './cluster.js';
import { fieldErrors, groupVersionDocument, openApiV2Document, openApiV3Index, schemaFor } from './openapi.js';
import { decodeKubernetesProtobuf, ProtobufBodyError } from './protobuf.js';
import { BadSelectorError, selectorMatches } from './selectors.js';
import { toTable, wantsTable } from './tables.js';

/**
 * The simulated Kubernetes API server of the local backend, on 127.0.0.1 only. Each cluster
 * lives under `/clusters/<name>`, so one server stands in for every local cluster and a
 * kubeconfig's `server:` picks the cluster. It speaks enough of the API for the lifecycle
 * stages (@kubernetes/client-node) and for kubectl: discovery, OpenAPI v3 (v2 as JSON), nodes,
 * pods (create, patch, list with field and set-based label selectors, delete, eviction),
 * DaemonSets, Deployments (with their scale subresource) and the ReplicaSets they own,
 * PodDisruptionBudgets, Events (core/v1 and events.k8s.io/v1), with `fieldValidation`.
 * Request bodies are JSON, or protobuf for the kinds kubectl's create generators send it for
 * (Deployment, PodDisruptionBudget, Pod: see protobuf.ts); responses are JSON, which kubectl
 * accepts alongside protobuf. Not served: watches, dry runs, server-side apply.
 *
 * What the real server refuses is refused with its status and wording: 422 Invalid with
 * `details.causes[].field` (names that are not DNS-1123 subdomains, negative replicas, a changed
 * Deployment selector), 400 BadRequest for malformed label selectors and field labels a kind does
 * not index. Beyond that, the double caps what a write may ask (MAX_REPLICAS_PER_DEPLOYMENT,
 * MAX_PODS_PER_CLUSTER) so that no request's cost grows without bound; reads never reschedule.
 */

export interface SimBackend {
  /** The cluster, brought up to date with the instances that run; undefined when unknown. */
  cluster(name: string): Promise<SimCluster | undefined>;
}

type Handler = (c: SimCluster, req: Request) => Obj | Promise<Obj>;

interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  accept: string | undefined;
  contentType: string | undefined;
  body: Obj | undefined;
  params: string[];
  /** At most this many items per page when the client asks for pages (`limit`). */
  maxPageItems: number;
  /** `Warning:` headers for the response (field validation `Warn`). */
  warnings: string[];
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    /** The Status object's `details` (the causes of a 422 Invalid). */
    readonly details?: Obj,
  ) {
    super(message);
  }
}

/** One field error of a 422 Invalid, as apimachinery's field.Error renders it. */
interface FieldCause {
  field: string;
  type: 'Invalid' | 'Required' | 'Forbidden';
  /** The offending value, rendered as the API server renders it (JSON for numbers and strings). */
  value?: string;
  detail: string;
}

const CAUSE_REASON = { Invalid: 'FieldValueInvalid', Required: 'FieldValueRequired', Forbidden: 'FieldValueForbidden' } as const;

function causeBody(c: FieldCause): string {
  if (c.type === 'Invalid') return `Invalid value: ${c.value}: ${c.detail}`;
  if (c.type === 'Required') return `Required value${c.detail ? `: ${c.detail}` : ''}`;
  return `Forbidden: ${c.detail}`;
}

/**
 * 422 Invalid as the API server sends it (`errors.NewInvalid`): `<Kind>.<group> "<name>" is
 * invalid: <field>: <error>` (several in brackets), with `details.causes[]` naming each field.
 */
function invalid(kind: string, group: string, name: string, causes: FieldCause[]): HttpError {
  const rendered = causes.map((c) => `${c.field}: ${causeBody(c)}`);
  const qualified = group ? `${kind}.${group}` : kind;
  return new HttpError(422, 'Invalid', `${qualified} "${name}" is invalid: ${rendered.length === 1 ? rendered[0] : `[${rendered.join(', ')}]`}`, {
    name,
    ...(group ? { group } : {}),
    kind,
    causes: causes.map((c) => ({ reason: CAUSE_REASON[c.type], message: causeBody(c), field: c.field })),
  });
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** metadata.name of a Pod, Deployment or PodDisruptionBudget: a DNS-1123 subdomain (apimachinery's wording). */
function nameCauses(name: unknown): FieldCause[] {
  if (typeof name !== 'string' || name === '') return [{ field: 'metadata.name', type: 'Required', detail: 'name or generateName is required' }];
  const causes: FieldCause[] = [];
  if (name.length > 253) causes.push({ field: 'metadata.name', type: 'Invalid', value: JSON.stringify(name), detail: 'must be no more than 253 characters' });
  if (!DNS_SUBDOMAIN.test(name)) {
    causes.push({
      field: 'metadata.name',
      type: 'Invalid',
      value: JSON.stringify(name),
      detail: "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    });
  }
  return causes;
}

const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const NAME_PART_RULE = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/** Why a label or annotation key is not a qualified name (`[prefix/]name`), in apimachinery's words. */
function qualifiedNameErrors(key: string): string[] {
  const parts = key.split('/');
  if (parts.length > 2) {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  const [prefix, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [undefined, parts[0]!];
  const errors: string[] = [];
  if (prefix !== undefined) {
    if (prefix === '') errors.push('prefix part must be non-empty');
    else {
      if (prefix.length > 253) errors.push('prefix part must be no more than 253 characters');
      if (!DNS_SUBDOMAIN.test(prefix)) {
        errors.push("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
      }
    }
  }
  if (name === '') errors.push('name part must be non-empty');
  else if (name.length > 63) errors.push('name part must be no more than 63 characters');
  if (name !== '' && !QUALIFIED_NAME_PART.test(name)) errors.push(NAME_PART_RULE);
  return errors;
}

/**
 * The labels and annotation keys of an object's metadata (at `at`, e.g. `spec.template.`), as the
 * API server validates them (ValidateLabels, ValidateAnnotations): keys are qualified names,
 * label values at most 63 characters of the label alphabet. A write with a bad one is a 422.
 */
function metadataCauses(metadata: Obj | undefined, at = ''): FieldCause[] {
  const causes: FieldCause[] = [];
  const labels = metadata?.labels;
  if (labels && typeof labels === 'object') {
    for (const [key, value] of Object.entries(labels as Obj)) {
      for (const detail of qualifiedNameErrors(key)) causes.push({ field: `${at}metadata.labels`, type: 'Invalid', value: JSON.stringify(key), detail });
      if (typeof value !== 'string') continue;
      if (value.length > 63) causes.push({ field: `${at}metadata.labels`, type: 'Invalid', value: JSON.stringify(value), detail: 'must be no more than 63 characters' });
      if (!LABEL_VALUE.test(value)) {
        causes.push({
          field: `${at}metadata.labels`,
          type: 'Invalid',
          value: JSON.stringify(value),
          detail: "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        });
      }
    }
  }
  const annotations = metadata?.annotations;
  if (annotations && typeof annotations === 'object') {
    // The API server checks annotation keys lower-cased: `Example.com/Key` is a valid annotation.
    for (const key of Object.keys(annotations as Obj)) {
      for (const detail of qualifiedNameErrors(key.toLowerCase())) causes.push({ field: `${at}metadata.annotations`, type: 'Invalid', value: JSON.stringify(key), detail });
    }
  }
  return causes;
}

/** spec.replicas: a non-negative integer, within the simulated server's caps (see SimCluster.replicasRefusal). */
function replicasCauses(c: SimCluster, replicas: unknown, current: number): FieldCause[] {
  if (replicas === undefined) return [];
  if (typeof replicas !== 'number' || !Number.isInteger(replicas)) return [{ field: 'spec.replicas', type: 'Invalid', value: JSON.stringify(replicas), detail: 'must be an integer' }];
  if (replicas < 0) return [{ field: 'spec.replicas', type: 'Invalid', value: String(replicas), detail: 'must be greater than or equal to 0' }];
  const refusal = c.replicasRefusal(replicas, current);
  return refusal ? [{ field: 'spec.replicas', type: 'Invalid', value: String(replicas), detail: refusal }] : [];
}

/** JSON with object keys sorted: equal objects give equal text whatever order a patch left. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
}

/** A map[string]string as Go's `%#v` prints it (`map[string]string{"app":"web"}`), keys sorted. */
function goStringMap(labels: Record<string, string> | undefined): string {
  if (!labels) return 'map[string]string(nil)';
  return `map[string]string{${Object.entries(labels).sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(', ')}}`;
}

/** A LabelSelector as `%#v` prints it in the API server's immutability message. */
function goLabelSelector(selector: Obj | undefined): string {
  // field.Invalid dereferences a pointer value before printing it; a nil one prints as null.
  if (!selector) return 'null';
  const matchLabels = goStringMap(selector.matchLabels);
  const expressions = selector.matchExpressions
    ? `[]v1.LabelSelectorRequirement{${(selector.matchExpressions as Obj[]).map((e) => `v1.LabelSelectorRequirement{Key:${JSON.stringify(e.key)}, Operator:${JSON.stringify(e.operator)}, Values:${e.values ? `[]string{${(e.values as string[]).map((v) => JSON.stringify(v)).join(', ')}}` : '[]string(nil)'}}`).join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return `v1.LabelSelector{MatchLabels:${matchLabels}, MatchExpressions:${expressions}}`;
}

const RESOURCES = {
  v1: [
    { name: 'nodes', singularName: 'node', namespaced: false, kind: 'Node', verbs: ['get', 'list', 'patch'], shortNames: ['no'] },
    { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['create', 'delete', 'get', 'list', 'patch'], shortNames: ['po'], categories: ['all'] },
    { name: 'pods/eviction', singularName: '', namespaced: true, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] },
    { name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['get', 'list'], shortNames: ['ns'] },
    { name: 'events', singularName: 'event', namespaced: true, kind: 'Event', verbs: ['create', 'get', 'list'], shortNames: ['ev'] },
  ],
  'apps/v1': [
    { name: 'daemonsets', singularName: 'daemonset', namespaced: true, kind: 'DaemonSet', verbs: ['get', 'list', 'patch'], shortNames: ['ds'], categories: ['all'] },
    { name: 'deployments', singularName: 'deployment', namespaced: true, kind: 'Deployment', verbs: ['create', 'delete', 'get', 'list', 'patch'], shortNames: ['deploy'], categories: ['all'] },
    { name: 'deployments/scale', singularName: '', namespaced: true, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch'] },
    { name: 'replicasets', singularName: 'replicaset', namespaced: true, kind: 'ReplicaSet', verbs: ['get', 'list'], shortNames: ['rs'], categories: ['all'] },
  ],
  'policy/v1': [{ name: 'poddisruptionbudgets', singularName: 'poddisruptionbudget', namespaced: true, kind: 'PodDisruptionBudget', verbs: ['create', 'delete', 'get', 'list', 'patch'], shortNames: ['pdb'] }],
  'events.k8s.io/v1': [{ name: 'events', singularName: 'event', namespaced: true, kind: 'Event', verbs: ['create', 'get', 'list'], shortNames: ['ev'] }],
};

const GROUPS = ['apps', 'events.k8s.io', 'policy'];

/**
 * Field validation of a create or patch body (`fieldValidation=Strict|Warn|Ignore`, Strict
 * being what kubectl sends by default once the OpenAPI document says the server checks).
 * Directive keys of strategic merge patches (`$patch`, `$setElementOrder/...`) are not fields.
 */
function checkFields(req: Request, apiVersion: string, kind: string, body: Obj | undefined): void {
  const mode = req.query.get('fieldValidation') ?? 'Ignore';
  if (mode === 'Ignore' || !body || req.contentType?.startsWith('application/json-patch+json')) return;
  const errors = fieldErrors(apiVersion, kind, body);
  if (errors.length === 0) return;
  if (mode === 'Strict') {
    throw new HttpError(400, 'BadRequest', `${kind} in version "${apiVersion.split('/').pop()}" cannot be handled as a ${kind}: strict decoding error: ${errors.join(', ')}`);
  }
  req.warnings.push(...errors);
}

/** A core/v1 Event as events.k8s.io/v1 shows it. */
function toEventsV1(e: Obj): Obj {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: e.metadata,
    eventTime: e.eventTime ?? null,
    reportingController: e.reportingComponent || e.source?.component,
    reportingInstance: e.reportingInstance ?? '',
    ...(e.action ? { action: e.action } : {}),
    reason: e.reason,
    regarding: e.involvedObject,
    note: e.message,
    type: e.type,
    deprecatedSource: e.source,
    deprecatedFirstTimestamp: e.firstTimestamp,
    deprecatedLastTimestamp: e.lastTimestamp,
    deprecatedCount: e.count,
  };
}

/** An events.k8s.io/v1 Event as the core/v1 Event the store keeps. */
function fromEventsV1(e: Obj): Obj {
  return {
    metadata: e.metadata,
    involvedObject: e.regarding,
    reason: e.reason,
    message: e.note,
    type: e.type,
    ...(e.action ? { action: e.action } : {}),
    eventTime: e.eventTime,
    source: { component: e.reportingController },
    reportingComponent: e.reportingController,
    reportingInstance: e.reportingInstance,
    firstTimestamp: e.eventTime,
    lastTimestamp: e.eventTime,
    count: 1,
  };
}

function createEvent(c: SimCluster, namespace: string, event: Obj | undefined): Obj {
  if (!event?.involvedObject?.name) throw new HttpError(422, 'Invalid', 'Event is invalid: involvedObject.name: Required value');
  if (!event.reason) throw new HttpError(422, 'Invalid', 'Event is invalid: reason: Required value');
  if (event.involvedObject.namespace && event.involvedObject.namespace !== namespace) {
    throw new HttpError(422, 'Invalid', `Event is invalid: involvedObject.namespace: Invalid value: "${event.involvedObject.namespace}": does not match event.namespace`);
  }
  if (event.metadata?.name && c.events.has(`${namespace}/${event.metadata.name}`)) throw new HttpError(409, 'AlreadyExists', `events "${event.metadata.name}" already exists`);
  return c.storeEvent({ ...event, metadata: { ...event.metadata, namespace } });
}

/** What a PATCH may change on an object the server keeps: labels, annotations and spec. */
function keepServerFields(stored: Obj, patched: Obj, c: SimCluster): Obj {
  const specChanged = JSON.stringify(patched.spec) !== JSON.stringify(stored.spec);
  return {
    ...stored,
    metadata: {
      ...stored.metadata,
      labels: patched.metadata?.labels,
      annotations: patched.metadata?.annotations,
      resourceVersion: c.nextVersion(),
      ...(stored.metadata.generation !== undefined ? { generation: stored.metadata.generation + (specChanged ? 1 : 0) } : {}),
    },
    spec: patched.spec,
  };
}


function notFound(kind: string, name: string): HttpError {
  return new HttpError(404, 'NotFound', `${kind} "${name}" not found`);
}

/**
 * Strategic merge patch as the API server applies it: objects merge; a list merges by the patch
 * merge key its schema gives (`containers` by name, `ports` by containerPort, ...) and is
 * replaced when the schema gives none; the directives kubectl apply sends (`$patch`,
 * `$setElementOrder/<list>`, `$retainKeys`, `$deleteFromPrimitiveList/<list>`) are honoured.
 * Without a schema (kinds the server has none for), lists of named items merge by name.
 */
export function strategicMerge(target: any, patch: any, schema?: Obj, resolve: (s: Obj) => Obj = (s) => s): any {
  if (patch && typeof patch === 'object' && !Array.isArray(patch)) {
    if (patch.$patch === 'replace') {
      const { $patch: _p, ...rest } = patch;
      return structuredClone(rest);
    }
    if (patch.$patch === 'delete') return undefined;
    const s = schema ? resolve(schema) : undefined;
    let out: Obj = target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
    if (Array.isArray(patch.$retainKeys)) out = Object.fromEntries(Object.entries(out).filter(([k]) => patch.$retainKeys.includes(k)));
    for (const [k, v] of Object.entries(patch)) {
      if (k.startsWith('$setElementOrder/') || k === '$retainKeys' || k === '$patch') continue;
      if (k.startsWith('$deleteFromPrimitiveList/')) {
        const field = k.slice('$deleteFromPrimitiveList/'.length);
        if (Array.isArray(out[field])) out[field] = out[field].filter((x: unknown) => !(v as unknown[]).includes(x));
        continue;
      }
      const child = s?.properties?.[k] ?? s?.additionalProperties;
      if (v === null) delete out[k];
      else {
        const merged = strategicMergeField(out[k], v, child, resolve, !!schema);
        if (merged === undefined) delete out[k];
        else out[k] = merged;
      }
    }
    return out;
  }
  return structuredClone(patch);
}

function strategicMergeField(target: any, patch: any, schema: Obj | undefined, resolve: (s: Obj) => Obj, typed: boolean): any {
  if (!Array.isArray(patch)) return strategicMerge(target, patch, schema, resolve);
  const strategy = String(schema?.['x-kubernetes-patch-strategy'] ?? '');
  const mergeKey: string | undefined = typed ? schema?.['x-kubernetes-patch-merge-key'] : 'name';
  const mergeable = typed ? strategy.split(',').includes('merge') : patch.every((p) => p && typeof p === 'object' && 'name' in p);
  if (!mergeable || !Array.isArray(target)) return structuredClone(patch.filter((p) => !(p && typeof p === 'object' && p.$patch)));
  if (!mergeKey) return [...target, ...patch.filter((p) => !target.includes(p))];
  const out = structuredClone(target);
  for (const item of patch) {
    if (item?.$patch === 'replace') return structuredClone(patch.filter((p) => p?.$patch !== 'replace'));
    const i = out.findIndex((t: Obj) => t?.[mergeKey] === item?.[mergeKey]);
    if (item?.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = strategicMerge(out[i], item, schema?.items, resolve);
    else out.push(strategicMerge({}, item, schema?.items, resolve));
  }
  return out;
}

/** JSON merge patch (RFC 7386): like the above, but lists are replaced. */
function mergePatch(target: any, patch: any): any {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const out = target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function applyPatch(target: Obj, req: Request): Obj {
  if (!req.body) throw new HttpError(400, 'BadRequest', 'patch body required');
  if (req.contentType?.startsWith('application/json-patch+json')) {
    const out = structuredClone(target);
    for (const op of req.body as unknown as Array<{ op: string; path: string; value?: unknown }>) {
      const parts = op.path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
      const last = parts.pop()!;
      const parent = parts.reduce<any>((acc, p) => (acc[p] ??= {}), out);
      if (op.op === 'remove') delete parent[last];
      else parent[last] = op.value;
    }
    return out;
  }
  if (req.contentType?.startsWith('application/merge-patch+json')) return mergePatch(target, req.body);
  if (req.contentType?.startsWith('application/apply-patch')) {
    throw new HttpError(415, 'UnsupportedMediaType', 'the simulated API server does not serve server-side apply (application/apply-patch+yaml): use client-side `kubectl apply -f`');
  }
  const typed = schemaFor(target.apiVersion ?? '', target.kind ?? '');
  return typed ? strategicMerge(target, req.body, typed.schema, typed.resolve) : strategicMerge(target, req.body);
}

/** Where an object sits in the store: lists are served in this order, as etcd keys are. */
const storeKey = (o: Obj) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

const encodeContinue = (after: string) => Buffer.from(JSON.stringify({ v: 1, after }), 'utf8').toString('base64url');

function decodeContinue(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: number; after?: unknown };
    if (parsed.v === 1 && typeof parsed.after === 'string') return parsed.after;
  } catch {
    // falls through to the error below
  }
  throw new HttpError(400, 'BadRequest', 'continue key is not valid: it was not issued by this server');
}

/**
 * One page of a list (`limit` + `continue`). Without `limit` everything comes back, as from a
 * real API server. With it, a page holds at most `limit` items, and fewer when the server caps
 * pages (the API allows that; a client must follow `continue` until it is empty): the local
 * backend caps them small so every list in a local run takes the continue path. Unlike etcd,
 * later pages show the live objects after the last key, not a snapshot of the first page's time.
 */
function paginate(items: Obj[], req: Request): { page: Obj[]; continue?: string; remainingItemCount?: number } {
  const limitText = req.query.get('limit');
  const limit = limitText === null ? 0 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 0) throw new HttpError(400, 'BadRequest', `limit: Invalid value: "${limitText}": must be a non-negative integer`);
  const token = req.query.get('continue');
  const after = token ? decodeContinue(token) : undefined;
  const keyed = items.map((o) => ({ k: storeKey(o), o }));
  const rest = (after === undefined ? keyed : keyed.filter((x) => x.k > after)).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  if (limit === 0) return { page: rest.map((x) => x.o) };
  // The cap keeps pages small but never below an eighth of the list: a whole list is at most
  // about eight requests, each linear in the list, so listing stays linear however large it is.
  const cap = Math.max(req.maxPageItems, Math.ceil(items.length / MAX_PAGES_PER_LIST));
  const page = rest.slice(0, Math.min(limit, cap)).map((x) => x.o);
  const remaining = rest.length - page.length;
  return remaining > 0 ? { page, continue: encodeContinue(storeKey(page.at(-1)!)), remainingItemCount: remaining } : { page };
}

/**
 * The field labels each kind's list accepts in `fieldSelector` (the API server's field label
 * conversions); every kind has `metadata.name` and `metadata.namespace`.
 */
const FIELD_LABELS: Record<string, string[]> = {
  'v1/Pod': ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.podIPs', 'status.nominatedNodeName'],
  'v1/Node': ['spec.unschedulable'],
  'v1/Namespace': ['status.phase'],
  'v1/Event': ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  'events.k8s.io/v1/Event': ['regarding.kind', 'regarding.namespace', 'regarding.name', 'regarding.uid', 'regarding.apiVersion', 'regarding.resourceVersion', 'regarding.fieldPath', 'reason', 'reportingController', 'type'],
  'apps/v1/ReplicaSet': ['status.replicas'],
};

/** What an absent field reads as in a field selector (booleans are `false`, not empty). */
const FIELD_DEFAULTS: Record<string, string> = { 'spec.hostNetwork': 'false', 'spec.unschedulable': 'false' };

function list(kind: string, apiVersion: string, items: Obj[], c: SimCluster, req: Request): Obj {
  const byField = parseFieldSelector(req.query.get('fieldSelector'), ['metadata.name', 'metadata.namespace', ...(FIELD_LABELS[`${apiVersion}/${kind}`] ?? [])], FIELD_DEFAULTS);
  const byLabel = parseLabelSelector(req.query.get('labelSelector'));
  const selected = items.filter((o) => byField(o) && byLabel(o.metadata.labels));
  const { page, ...more } = paginate(selected, req);
  const metadata = { resourceVersion: c.nextVersion(), ...more };
  if (wantsTable(req.accept)) return { ...toTable(kind, page, metadata.resourceVersion, includeObject(req)), metadata };
  return { kind: `${kind}List`, apiVersion, metadata, items: page };
}

const includeObject = (req: Request) => (req.query.get('includeObject') === 'Object' ? 'Object' : 'Metadata');

function one(o: Obj | undefined, kind: string, name: string, req: Request, resource = kind.toLowerCase() + 's'): Obj {
  if (!o) throw notFound(resource, name);
  return wantsTable(req.accept) ? toTable(kind, [o], '1', includeObject(req)) : o;
}

/** The API server's check that a Deployment's selector selects its own pod template. */
function selectorMatchesTemplate(d: Obj): boolean {
  const selector = d.spec?.selector;
  if (!selector || (!Object.keys(selector.matchLabels ?? {}).length && !(selector.matchExpressions ?? []).length)) return false;
  return selectorMatches(d.spec.template?.metadata?.labels, selector);
}

/** A Deployment's scale subresource (autoscaling/v1 Scale). */
function scaleOf(d: Obj | undefined, name: string): Obj {
  if (!d) throw notFound('deployments.apps', name);
  const selector = Object.entries(d.spec.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name: d.metadata.name, namespace: d.metadata.namespace, uid: d.metadata.uid, resourceVersion: d.metadata.resourceVersion, creationTimestamp: d.metadata.creationTimestamp },
    spec: { replicas: d.spec.replicas },
    status: { replicas: d.status.replicas ?? 0, selector },
  };
}

function inNamespace(items: Iterable<Obj>, namespace: string | undefined): Obj[] {
  return [...items].filter((o) => namespace === undefined || o.metadata.namespace === namespace);
}

/**
 * The pods a pod list filters: only the node's, from the node index, when the field selector
 * pins `spec.nodeName` to one plain name (a drain's question, asked per node: at 1,000 nodes the
 * filter over every pod was most of a roll's time); otherwise every pod. The selector is still
 * applied to them in full, so the answer is the same.
 */
function podCandidates(c: SimCluster, req: Request): Obj[] {
  const node = /(?:^|,)spec\.nodeName==?([A-Za-z0-9._:-]+)(?=,|$)/.exec(req.query.get('fieldSelector') ?? '')?.[1];
  return node === undefined ? [...c.pods.values()] : c.podsBoundTo(node);
}

const NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Route table: method, path pattern (after /clusters/<name>), handler. */
const ROUTES: Array<[string, RegExp, Handler]> = [
  ['GET', /^\/api\/v1\/nodes$/, (c, r) => list('Node', 'v1', [...c.nodes.values()], c, r)],
  ['GET', /^\/api\/v1\/nodes\/([^/]+)$/, (c, r) => one(c.nodes.get(r.params[0]!), 'Node', r.params[0]!, r)],
  [
    'PATCH',
    /^\/api\/v1\/nodes\/([^/]+)$/,
    (c, r) => {
      const node = c.nodes.get(r.params[0]!);
      if (!node) throw notFound('nodes', r.params[0]!);
      const patched = applyPatch(node, r);
      const labelCauses = metadataCauses(patched.metadata);
      if (labelCauses.length) throw invalid('Node', '', r.params[0]!, labelCauses);
      // Only what the stages and kubectl change: cordon / uncordon and labels.
      const unschedulable = patched.spec?.unschedulable === true;
      // The kubelet reports the change as an event on its node.
      if (unschedulable !== (node.spec.unschedulable === true)) c.recordEvent({ involved: node, type: 'Normal', reason: unschedulable ? 'NodeNotSchedulable' : 'NodeSchedulable', message: `Node ${node.metadata.name} status is now: ${unschedulable ? 'NodeNotSchedulable' : 'NodeSchedulable'}`, component: 'kubelet', host: node.metadata.name });
      node.spec.unschedulable = unschedulable || undefined;
      node.metadata.labels = patched.metadata?.labels ?? node.metadata.labels;
      node.metadata.annotations = patched.metadata?.annotations ?? node.metadata.annotations;
      node.metadata.resourceVersion = c.nextVersion();
      c.reconcile();
      return node;
    },
  ],
  ['GET', /^\/api\/v1\/namespaces$/, (c, r) => list('Namespace', 'v1', NAMESPACES.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, creationTimestamp: '2026-01-01T00:00:00Z' }, status: { phase: 'Active' } })), c, r)],
  ['GET', /^\/api\/v1\/namespaces\/([^/]+)$/, (_c, r) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: r.params[0] }, status: { phase: 'Active' } })],
  ['GET', /^\/api\/v1\/pods$/, (c, r) => list('Pod', 'v1', podCandidates(c, r), c, r)],
  ['GET', /^\/api\/v1\/namespaces\/([^/]+)\/pods$/, (c, r) => list('Pod', 'v1', inNamespace(podCandidates(c, r), r.params[0]), c, r)],
  [
    'POST',
    /^\/api\/v1\/namespaces\/([^/]+)\/pods$/,
    (c, r) => {
      const name = r.body?.metadata?.name;
      checkFields(r, 'v1', 'Pod', r.body);
      if (name !== undefined || !r.body?.metadata?.generateName) {
        const causes = nameCauses(name);
        if (causes.length) throw invalid('Pod', '', name ?? '', causes);
      }
      const labelCauses = metadataCauses(r.body?.metadata);
      if (labelCauses.length) throw invalid('Pod', '', name ?? '', labelCauses);
      const refusal = c.replicasRefusal(1, 0);
      if (refusal) throw new HttpError(403, 'Forbidden', `pods "${name ?? ''}" is forbidden: ${refusal}`);
      if (name && c.pods.has(`${r.params[0]}/${name}`)) throw new HttpError(409, 'AlreadyExists', `pods "${name}" already exists`);
      const pod = c.createPod({ ...r.body, metadata: { ...r.body?.metadata, namespace: r.params[0] } });
      c.reconcile();
      return pod;
    },
  ],
  ['GET', /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/, (c, r) => one(c.pods.get(`${r.params[0]}/${r.params[1]}`), 'Pod', r.params[1]!, r)],
  [
    'PATCH',
    /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/,
    (c, r) => {
      const k = `${r.params[0]}/${r.params[1]}`;
      const pod = c.pods.get(k);
      if (!pod) throw notFound('pods', r.params[1]!);
      checkFields(r, 'v1', 'Pod', r.body);
      const patched = applyPatch(pod, r);
      const labelCauses = metadataCauses(patched.metadata);
      if (labelCauses.length) throw invalid('Pod', '', r.params[1]!, labelCauses);
      // As the API server: a pod's spec is immutable but for container images and a few fields.
      const images = (spec: Obj) => JSON.stringify({ ...spec, containers: (spec?.containers ?? []).map((x: Obj) => ({ ...x, image: undefined })), activeDeadlineSeconds: undefined, tolerations: undefined });
      if (images(patched.spec) !== images(pod.spec)) throw new HttpError(422, 'Invalid', `Pod "${r.params[1]}" is invalid: spec: Forbidden: pod updates may not change fields other than \`spec.containers[*].image\`, \`spec.activeDeadlineSeconds\`, \`spec.tolerations\` (only additions to existing tolerations)`);
      const updated = { ...pod, metadata: { ...pod.metadata, labels: patched.metadata?.labels, annotations: patched.metadata?.annotations, resourceVersion: c.nextVersion() }, spec: patched.spec };
      c.replacePod(updated);
      return updated;
    },
  ],
  [
    'DELETE',
    /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/,
    (c, r) => {
      const pod = c.deletePod(r.params[0]!, r.params[1]!);
      if (!pod) throw notFound('pods', r.params[1]!);
      c.reconcile();
      return pod;
    },
  ],
  [
    'POST',
    /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/eviction$/,
    (c, r) => {
      const result = c.evict(r.params[0]!, r.params[1]!);
      if (result.status === 'gone') throw notFound('pods', r.params[1]!);
      if (result.status === 'blocked') throw new HttpError(429, 'TooManyRequests', result.message ?? 'eviction refused');
      return { kind: 'Status', apiVersion: 'v1', status: 'Success', code: 201 };
    },
  ],
  ['GET', /^\/apis\/apps\/v1\/daemonsets$/, (c, r) => list('DaemonSet', 'apps/v1', [...c.daemonSets.values()], c, r)],
  ['GET', /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/daemonsets$/, (c, r) => list('DaemonSet', 'apps/v1', inNamespace(c.daemonSets.values(), r.params[0]), c, r)],
  ['GET', /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/daemonsets\/([^/]+)$/, (c, r) => one(c.daemonSets.get(`${r.params[0]}/${r.params[1]}`), 'DaemonSet', r.params[1]!, r)],
  [
    'PATCH',
    /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/daemonsets\/([^/]+)$/,
    (c, r) => {
      const k = `${r.params[0]}/${r.params[1]}`;
      const ds = c.daemonSets.get(k);
      if (!ds) throw notFound('daemonsets.apps', r.params[1]!);
      checkFields(r, 'apps/v1', 'DaemonSet', r.body);
      const patched = applyPatch(ds, r);
      const causes = [
        ...metadataCauses(patched.metadata),
        ...metadataCauses(patched.spec?.template?.metadata, 'spec.template.'),
        // apps/v1 made a DaemonSet's selector immutable, as a Deployment's.
        ...(canonical(patched.spec?.selector) === canonical(ds.spec.selector) ? [] : [{ field: 'spec.selector', type: 'Invalid', value: goLabelSelector(patched.spec?.selector), detail: 'field is immutable' } as FieldCause]),
      ];
      if (causes.length) throw invalid('DaemonSet', 'apps', r.params[1]!, causes);
      // Labels and annotations change as kubectl label / annotate ask; the rest of metadata is the server's.
      patched.metadata = { ...ds.metadata, labels: patched.metadata?.labels, annotations: patched.metadata?.annotations, generation: ds.metadata.generation + 1, resourceVersion: c.nextVersion() };
      c.daemonSets.set(k, patched);
      // A changed pod template rolls the DaemonSet: its pods are replaced with the new template.
      if (JSON.stringify(patched.spec.template) !== JSON.stringify(ds.spec.template)) {
        for (const pod of [...c.pods.values()].filter((p) => p.metadata.ownerReferences?.[0]?.kind === 'DaemonSet' && p.metadata.ownerReferences?.[0]?.name === ds.metadata.name)) {
          c.deletePod(pod.metadata.namespace, pod.metadata.name);
        }
      }
      c.reconcile();
      return patched;
    },
  ],
  ['GET', /^\/apis\/apps\/v1\/deployments$/, (c, r) => list('Deployment', 'apps/v1', [...c.deployments.values()], c, r)],
  ['GET', /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments$/, (c, r) => list('Deployment', 'apps/v1', inNamespace(c.deployments.values(), r.params[0]), c, r)],
  [
    'POST',
    /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments$/,
    (c, r) => {
      const name = r.body?.metadata?.name;
      checkFields(r, 'apps/v1', 'Deployment', r.body);
      const causes = [
        ...nameCauses(name),
        ...metadataCauses(r.body?.metadata),
        ...metadataCauses(r.body?.spec?.template?.metadata, 'spec.template.'),
        ...replicasCauses(c, r.body?.spec?.replicas, 0),
        ...(r.body?.spec?.template?.spec?.containers?.length ? [] : [{ field: 'spec.template.spec.containers', type: 'Required', detail: '' } as FieldCause]),
        ...(selectorMatchesTemplate(r.body ?? {}) ? [] : [{ field: 'spec.template.metadata.labels', type: 'Invalid', value: goStringMap(r.body?.spec?.template?.metadata?.labels), detail: '`selector` does not match template `labels`' } as FieldCause]),
      ];
      if (causes.length) throw invalid('Deployment', 'apps', name ?? '', causes);
      if (c.deployments.has(`${r.params[0]}/${name}`)) throw new HttpError(409, 'AlreadyExists', `deployments.apps "${name}" already exists`);
      const deployment = c.addDeployment({ ...r.body, metadata: { ...r.body?.metadata, namespace: r.params[0] } });
      c.reconcile();
      return deployment;
    },
  ],
  ['GET', /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/, (c, r) => one(c.deployments.get(`${r.params[0]}/${r.params[1]}`), 'Deployment', r.params[1]!, r)],
  [
    'PATCH',
    /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/,
    (c, r) => {
      const k = `${r.params[0]}/${r.params[1]}`;
      const d = c.deployments.get(k);
      if (!d) throw notFound('deployments.apps', r.params[1]!);
      checkFields(r, 'apps/v1', 'Deployment', r.body);
      const patched = keepServerFields(d, applyPatch(d, r), c);
      // A patch that removes replicas leaves it to defaulting, which sets 1.
      if (patched.spec && patched.spec.replicas === undefined) patched.spec.replicas = 1;
      const causes = [
        ...metadataCauses(patched.metadata),
        ...metadataCauses(patched.spec?.template?.metadata, 'spec.template.'),
        ...replicasCauses(c, patched.spec?.replicas, d.spec.replicas),
        // apps/v1 made a Deployment's selector immutable.
        ...(canonical(patched.spec?.selector) === canonical(d.spec.selector) ? [] : [{ field: 'spec.selector', type: 'Invalid', value: goLabelSelector(patched.spec?.selector), detail: 'field is immutable' } as FieldCause]),
        ...(patched.spec?.selector === undefined || selectorMatchesTemplate(patched) ? [] : [{ field: 'spec.template.metadata.labels', type: 'Invalid', value: goStringMap(patched.spec?.template?.metadata?.labels), detail: '`selector` does not match template `labels`' } as FieldCause]),
      ];
      if (causes.length) throw invalid('Deployment', 'apps', r.params[1]!, causes);
      c.deployments.set(k, patched);
      c.reconcile();
      return patched;
    },
  ],
  ['GET', /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)\/scale$/, (c, r) => scaleOf(c.deployments.get(`${r.params[0]}/${r.params[1]}`), r.params[1]!)],
  [
    'PATCH',
    /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)\/scale$/,
    (c, r) => {
      const d = c.deployments.get(`${r.params[0]}/${r.params[1]}`);
      const patched = applyPatch(scaleOf(d, r.params[1]!), r);
      const replicas = patched.spec?.replicas;
      const causes = replicasCauses(c, replicas ?? null, d!.spec.replicas);
      if (causes.length) throw invalid('Scale', 'autoscaling', r.params[1]!, causes);
      if (replicas !== d!.spec.replicas) {
        d!.spec.replicas = replicas;
        d!.metadata.generation += 1;
      }
      d!.metadata.resourceVersion = c.nextVersion();
      c.reconcile();
      return scaleOf(d, r.params[1]!);
    },
  ],
  ['GET', /^\/apis\/apps\/v1\/replicasets$/, (c, r) => list('ReplicaSet', 'apps/v1', [...c.replicaSets.values()], c, r)],
  ['GET', /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/replicasets$/, (c, r) => list('ReplicaSet', 'apps/v1', inNamespace(c.replicaSets.values(), r.params[0]), c, r)],
  ['GET', /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/replicasets\/([^/]+)$/, (c, r) => one(c.replicaSets.get(`${r.params[0]}/${r.params[1]}`), 'ReplicaSet', r.params[1]!, r, 'replicasets.apps')],
  ['GET', /^\/api\/v1\/events$/, (c, r) => list('Event', 'v1', [...c.events.values()], c, r)],
  ['GET', /^\/api\/v1\/namespaces\/([^/]+)\/events$/, (c, r) => list('Event', 'v1', inNamespace(c.events.values(), r.params[0]), c, r)],
  ['GET', /^\/api\/v1\/namespaces\/([^/]+)\/events\/([^/]+)$/, (c, r) => one(c.events.get(`${r.params[0]}/${r.params[1]}`), 'Event', r.params[1]!, r)],
  [
    'POST',
    /^\/api\/v1\/namespaces\/([^/]+)\/events$/,
    (c, r) => {
      checkFields(r, 'v1', 'Event', r.body);
      return createEvent(c, r.params[0]!, r.body);
    },
  ],
  ['GET', /^\/apis\/events.k8s.io\/v1\/events$/, (c, r) => list('Event', 'events.k8s.io/v1', [...c.events.values()].map(toEventsV1), c, r)],
  ['GET', /^\/apis\/events.k8s.io\/v1\/namespaces\/([^/]+)\/events$/, (c, r) => list('Event', 'events.k8s.io/v1', inNamespace(c.events.values(), r.params[0]).map(toEventsV1), c, r)],
  [
    'GET',
    /^\/apis\/events.k8s.io\/v1\/namespaces\/([^/]+)\/events\/([^/]+)$/,
    (c, r) => {
      const e = c.events.get(`${r.params[0]}/${r.params[1]}`);
      return one(e && toEventsV1(e), 'Event', r.params[1]!, r, 'events.events.k8s.io');
    },
  ],
  [
    'POST',
    /^\/apis\/events.k8s.io\/v1\/namespaces\/([^/]+)\/events$/,
    (c, r) => {
      checkFields(r, 'events.k8s.io/v1', 'Event', r.body);
      if (!r.body?.regarding?.name) throw new HttpError(422, 'Invalid', 'Event.events.k8s.io is invalid: regarding.name: Required value');
      if (!r.body.eventTime) throw new HttpError(422, 'Invalid', 'Event.events.k8s.io is invalid: eventTime: Required value');
      return toEventsV1(createEvent(c, r.params[0]!, fromEventsV1(r.body)));
    },
  ],
  [
    'DELETE',
    /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/,
    (c, r) => {
      if (!c.deleteDeployment(r.params[0]!, r.params[1]!)) throw notFound('deployments.apps', r.params[1]!);
      c.reconcile();
      return { kind: 'Status', apiVersion: 'v1', status: 'Success' };
    },
  ],
  ['GET', /^\/apis\/policy\/v1\/poddisruptionbudgets$/, (c, r) => list('PodDisruptionBudget', 'policy/v1', [...c.pdbs.values()].map((p) => ({ ...p, status: c.pdbStatus(p) })), c, r)],
  [
    'GET',
    /^\/apis\/policy\/v1\/namespaces\/([^/]+)\/poddisruptionbudgets$/,
    (c, r) => list('PodDisruptionBudget', 'policy/v1', inNamespace(c.pdbs.values(), r.params[0]).map((p) => ({ ...p, status: c.pdbStatus(p) })), c, r),
  ],
  [
    'POST',
    /^\/apis\/policy\/v1\/namespaces\/([^/]+)\/poddisruptionbudgets$/,
    (c, r) => {
      const name = r.body?.metadata?.name;
      checkFields(r, 'policy/v1', 'PodDisruptionBudget', r.body);
      const causes = [...nameCauses(name), ...metadataCauses(r.body?.metadata)];
      if (causes.length) throw invalid('PodDisruptionBudget', 'policy', name ?? '', causes);
      if (c.pdbs.has(`${r.params[0]}/${name}`)) throw new HttpError(409, 'AlreadyExists', `poddisruptionbudgets.policy "${name}" already exists`);
      const pdb = { ...r.body, apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { ...r.body?.metadata, namespace: r.params[0], creationTimestamp: new Date().toISOString(), resourceVersion: c.nextVersion() } };
      c.pdbs.set(`${r.params[0]}/${name}`, pdb);
      return { ...pdb, status: c.pdbStatus(pdb) };
    },
  ],
  [
    'GET',
    /^\/apis\/policy\/v1\/namespaces\/([^/]+)\/poddisruptionbudgets\/([^/]+)$/,
    (c, r) => {
      const pdb = c.pdbs.get(`${r.params[0]}/${r.params[1]}`);
      return one(pdb && { ...pdb, status: c.pdbStatus(pdb) }, 'PodDisruptionBudget', r.params[1]!, r, 'poddisruptionbudgets.policy');
    },
  ],
  [
    'PATCH',
    /^\/apis\/policy\/v1\/namespaces\/([^/]+)\/poddisruptionbudgets\/([^/]+)$/,
    (c, r) => {
      const k = `${r.params[0]}/${r.params[1]}`;
      const pdb = c.pdbs.get(k);
      if (!pdb) throw notFound('poddisruptionbudgets.policy', r.params[1]!);
      checkFields(r, 'policy/v1', 'PodDisruptionBudget', r.body);
      const patched = keepServerFields(pdb, applyPatch(pdb, r), c);
      const causes = metadataCauses(patched.metadata);
      if (causes.length) throw invalid('PodDisruptionBudget', 'policy', r.params[1]!, causes);
      c.pdbs.set(k, patched);
      return { ...patched, status: c.pdbStatus(patched) };
    },
  ],
  [
    'DELETE',
    /^\/apis\/policy\/v1\/namespaces\/([^/]+)\/poddisruptionbudgets\/([^/]+)$/,
    (c, r) => {
      if (!c.pdbs.delete(`${r.params[0]}/${r.params[1]}`)) throw notFound('poddisruptionbudgets.policy', r.params[1]!);
      return { kind: 'Status', apiVersion: 'v1', status: 'Success' };
    },
  ],
];

function discovery(path: string, version: string): Obj | undefined {
  if (path === '/version') {
    const [major, minor] = version.replace(/^v/, '').split('.');
    return { major, minor, gitVersion: version, platform: 'linux/amd64', goVersion: 'kopsless-simulated' };
  }
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (path === '/apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: GROUPS.map((name) => ({ name, versions: [{ groupVersion: `${name}/v1`, version: 'v1' }], preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' } })),
    };
  }
  const group = path === '/api/v1' ? 'v1' : path.startsWith('/apis/') ? path.slice('/apis/'.length) : undefined;
  const resources = group ? RESOURCES[group as keyof typeof RESOURCES] : undefined;
  if (resources) return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group, resources };
  return undefined;
}

/** `/openapi/v2` and `/openapi/v3[/<group-version>]`, or undefined for other paths. */
function openApi(path: string, prefix: string, accept: string | undefined): { code: number; body: Obj } | undefined {
  if (path === '/openapi/v3') return { code: 200, body: openApiV3Index(prefix) };
  if (path.startsWith('/openapi/v3/')) {
    const doc = groupVersionDocument(path.slice('/openapi/v3/'.length));
    return doc ? { code: 200, body: doc } : { code: 404, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `no OpenAPI v3 document for ${path}` } };
  }
  if (path === '/openapi/v2') {
    // client-go asks for the protobuf encoding only; the real server answers 406 to an Accept it
    // cannot serve, and the simulated one encodes JSON only.
    const types = (accept ?? '*/*').split(',').map((t) => t.split(';')[0]!.trim());
    if (!types.some((t) => t === 'application/json' || t === '*/*' || t === 'application/*')) {
      return { code: 406, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotAcceptable', code: 406, message: `only application/json is served for /openapi/v2, not ${accept}` } };
    }
    return { code: 200, body: openApiV2Document() };
  }
  return undefined;
}

const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Obj | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    // The API server's own bound on a request body (3 MiB), which also bounds the work a body can cause.
    if (size > MAX_REQUEST_BODY_BYTES) throw new HttpError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_REQUEST_BODY_BYTES}`);
    chunks.push(chunk as Buffer);
  }
  if (chunks.length === 0) return undefined;
  if (/^application\/vnd\.kubernetes\.protobuf\s*(;|$)/.test(req.headers['content-type'] ?? '')) {
    // kubectl's create generators send protobuf; the object is then handled as a JSON body.
    try {
      return decodeKubernetesProtobuf(Buffer.concat(chunks));
    } catch (error) {
      if (error instanceof ProtobufBodyError) throw new HttpError(error.malformed ? 400 : 415, error.malformed ? 'BadRequest' : 'UnsupportedMediaType', error.message);
      throw error;
    }
  }
  if (/protobuf/.test(req.headers['content-type'] ?? '')) {
    throw new HttpError(415, 'UnsupportedMediaType', `the simulated API server reads JSON and application/vnd.kubernetes.protobuf, not ${req.headers['content-type']}: use \`kubectl apply -f <manifest>\``);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as Obj;
  } catch {
    throw new HttpError(400, 'BadRequest', 'request body is not JSON (the simulated API server reads JSON only)');
  }
}

function send(res: ServerResponse, code: number, body: Obj, warnings: string[] = []): void {
  res.writeHead(code, { 'Content-Type': 'application/json', ...(warnings.length ? { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') } : {}) });
  res.end(JSON.stringify(body));
}

/** The most items a page holds when a client asks for pages (see `paginate`), unless the list is long. */
export const DEFAULT_MAX_PAGE_ITEMS = 2;
/** A long list is served in at most about this many pages, whatever the page cap (see `paginate`). */
const MAX_PAGES_PER_LIST = 8;

export async function handle(backend: SimBackend, req: IncomingMessage, res: ServerResponse, maxPageItems = DEFAULT_MAX_PAGE_ITEMS): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const match = /^\/clusters\/([^/]+)(\/.*)?$/.exec(url.pathname);
  try {
    if (!match) throw new HttpError(404, 'NotFound', 'paths are /clusters/<cluster>/...');
    const cluster = await backend.cluster(decodeURIComponent(match[1]!));
    if (!cluster) throw new HttpError(404, 'NotFound', `no running cluster "${match[1]}" on the local backend`);
    // What became due by the cluster's clock (a node booted, a pod drained) shows in this answer.
    cluster.tick();
    const path = (match[2] ?? '/').replace(/\/$/, '') || '/';
    const method = req.method ?? 'GET';
    if (method === 'GET') {
      const doc = discovery(path, cluster.kubernetesVersion);
      if (doc) return send(res, 200, doc);
      const spec = openApi(path, `/clusters/${match[1]}`, req.headers.accept);
      if (spec) return send(res, spec.code, spec.body);
    }
    if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') throw new HttpError(405, 'MethodNotAllowed', 'the simulated API server does not serve watches');
    // A dry run must change nothing; rather than apply it for real, the double refuses it.
    if (method !== 'GET' && url.searchParams.has('dryRun')) throw new HttpError(400, 'BadRequest', 'the simulated API server does not serve dry runs (dryRun=All): `kubectl diff` and `--dry-run=server` need a real API server');
    for (const [routeMethod, pattern, handler] of ROUTES) {
      const m = pattern.exec(path);
      if (!m || routeMethod !== method) continue;
      const request: Request = { method, path, query: url.searchParams, accept: req.headers.accept, contentType: req.headers['content-type'], body: await readBody(req), params: m.slice(1), maxPageItems, warnings: [] };
      const result = await handler(cluster, request);
      return send(res, method === 'POST' && result.kind !== 'Status' ? 201 : 200, result, request.warnings);
    }
    throw new HttpError(404, 'NotFound', `the simulated API server does not serve ${method} ${path}`);
  } catch (error) {
    const e = error instanceof HttpError ? error : error instanceof BadSelectorError ? new HttpError(400, 'BadRequest', error.message) : new HttpError(500, 'InternalError', (error as Error).message);
    send(res, e.code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: e.reason, ...(e.details ? { details: e.details } : {}), code: e.code });
  }
}

export interface RunningSim {
  server: Server;
  port: number;
  /** Base URL of one cluster's API. */
  urlFor(cluster: string): string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (a free port unless one is given). */
export async function listen(backend: SimBackend, port = 0, options: { maxPageItems?: number } = {}): Promise<RunningSim> {
  const server = createServer((req, res) => void handle(backend, req, res, options.maxPageItems));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    port: actual,
    urlFor: (cluster) => `http://127.0.0.1:${actual}/clusters/${cluster}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
