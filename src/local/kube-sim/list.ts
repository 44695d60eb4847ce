import { type Obj, parseFieldSelector, parseLabelSelector, type SimCluster } from './cluster.js';
import { HttpError, notFound, type Request } from './http.js';
import { type IncludeObject, toTable, wantsTable } from './tables.js';

/** Reads: one object or a list, filtered by field and label selectors, paginated, as a Table when asked. */

/** A long list is served in at most about this many pages, whatever the page cap (see `paginate`). */
const MAX_PAGES_PER_LIST = 8;

/** Where an object sits in the store: lists are served in this order, as etcd keys are. */
const storeKey = (o: Obj) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

const encodeContinue = (after: string) =>
  Buffer.from(JSON.stringify({ v: 1, after }), 'utf8').toString('base64url');

function decodeContinue(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      v?: number;
      after?: unknown;
    };
    if (parsed.v === 1 && typeof parsed.after === 'string') return parsed.after;
  } catch {
    // falls through to the error below
  }
  throw new HttpError(
    400,
    'BadRequest',
    'continue key is not valid: it was not issued by this server',
  );
}

/**
 * One page of a list (`limit` + `continue`). Without `limit` everything comes back, as from a
 * real API server. With it, a page holds at most `limit` items, and fewer when the server caps
 * pages (the API allows that; a client must follow `continue` until it is empty): the local
 * backend caps them small so every list in a local run takes the continue path. Unlike etcd,
 * later pages show the live objects after the last key, not a snapshot of the first page's time.
 */
function paginate(
  items: Obj[],
  req: Request,
): { page: Obj[]; continue?: string; remainingItemCount?: number } {
  const limitText = req.query.get('limit');
  const limit = limitText === null ? 0 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 0)
    throw new HttpError(
      400,
      'BadRequest',
      `limit: Invalid value: "${limitText}": must be a non-negative integer`,
    );
  const token = req.query.get('continue');
  const after = token ? decodeContinue(token) : undefined;
  const keyed = items.map((o) => ({ k: storeKey(o), o }));
  const rest = (after === undefined ? keyed : keyed.filter((x) => x.k > after)).sort((a, b) =>
    a.k < b.k ? -1 : a.k > b.k ? 1 : 0,
  );
  if (limit === 0) return { page: rest.map((x) => x.o) };
  // The cap keeps pages small but never below an eighth of the list: a whole list is at most
  // about eight requests, each linear in the list, so listing stays linear however large it is.
  const cap = Math.max(req.maxPageItems, Math.ceil(items.length / MAX_PAGES_PER_LIST));
  const page = rest.slice(0, Math.min(limit, cap)).map((x) => x.o);
  const remaining = rest.length - page.length;
  return remaining > 0
    ? { page, continue: encodeContinue(storeKey(page.at(-1)!)), remainingItemCount: remaining }
    : { page };
}

/**
 * The field labels each kind's list accepts in `fieldSelector` (the API server's field label
 * conversions); every kind has `metadata.name` and `metadata.namespace`.
 */
const FIELD_LABELS: Record<string, string[]> = {
  'v1/Pod': [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.podIPs',
    'status.nominatedNodeName',
  ],
  'v1/Node': ['spec.unschedulable'],
  'v1/Namespace': ['status.phase'],
  'v1/Event': [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  'events.k8s.io/v1/Event': [
    'regarding.kind',
    'regarding.namespace',
    'regarding.name',
    'regarding.uid',
    'regarding.apiVersion',
    'regarding.resourceVersion',
    'regarding.fieldPath',
    'reason',
    'reportingController',
    'type',
  ],
  'apps/v1/ReplicaSet': ['status.replicas'],
};

/** What an absent field reads as in a field selector (booleans are `false`, not empty). */
const FIELD_DEFAULTS: Record<string, string> = {
  'spec.hostNetwork': 'false',
  'spec.unschedulable': 'false',
};

/** A `<Kind>List` (or a Table) of the items that pass the request's field and label selectors, one page of them. */
export function list(
  kind: string,
  apiVersion: string,
  items: Obj[],
  c: SimCluster,
  req: Request,
): Obj {
  const byField = parseFieldSelector(
    req.query.get('fieldSelector'),
    ['metadata.name', 'metadata.namespace', ...(FIELD_LABELS[`${apiVersion}/${kind}`] ?? [])],
    FIELD_DEFAULTS,
  );
  const byLabel = parseLabelSelector(req.query.get('labelSelector'));
  const selected = items.filter((o) => byField(o) && byLabel(o.metadata.labels));
  const { page, ...more } = paginate(selected, req);
  const metadata = { resourceVersion: c.nextVersion(), ...more };
  if (wantsTable(req.accept))
    return { ...toTable(kind, page, metadata.resourceVersion, includeObject(req)), metadata };
  return { kind: `${kind}List`, apiVersion, metadata, items: page };
}

/** `includeObject` as the API server reads it: absent is Metadata, anything else unknown is a 400. */
function includeObject(req: Request): IncludeObject {
  const value = req.query.get('includeObject') ?? 'Metadata';
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  throw new HttpError(
    400,
    'BadRequest',
    `includeObject: Unsupported value: "${value}": supported values: "Metadata", "None", "Object"`,
  );
}

/** One object (or a one-row Table), or 404 when it is absent. */
export function one(
  o: Obj | undefined,
  kind: string,
  name: string,
  req: Request,
  resource = `${kind.toLowerCase()}s`,
): Obj {
  if (!o) throw notFound(resource, name);
  return wantsTable(req.accept) ? toTable(kind, [o], '1', includeObject(req)) : o;
}

/** The items of one namespace, or all of them when no namespace is given. */
export function inNamespace(items: Iterable<Obj>, namespace: string | undefined): Obj[] {
  return [...items].filter((o) => namespace === undefined || o.metadata.namespace === namespace);
}
