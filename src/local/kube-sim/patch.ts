import type { Obj, SimCluster } from './cluster.js';
import { HttpError, notFound, type Request } from './http.js';
import { schemaFor } from './openapi.js';
import { checkFields } from './validation.js';

/** PATCH as the API server applies it: JSON patch, JSON merge patch and strategic merge patch. */

/** What a PATCH may change on an object the server keeps: labels, annotations and spec. */
export function keepServerFields(stored: Obj, patched: Obj, c: SimCluster): Obj {
  const specChanged = JSON.stringify(patched.spec) !== JSON.stringify(stored.spec);
  return {
    ...stored,
    metadata: {
      ...stored.metadata,
      labels: patched.metadata?.labels,
      annotations: patched.metadata?.annotations,
      resourceVersion: c.nextVersion(),
      ...(stored.metadata.generation !== undefined
        ? { generation: stored.metadata.generation + (specChanged ? 1 : 0) }
        : {}),
    },
    spec: patched.spec,
  };
}

/**
 * Strategic merge patch as the API server applies it: objects merge; a list merges by the patch
 * merge key its schema gives (`containers` by name, `ports` by containerPort, ...) and is
 * replaced when the schema gives none; the directives kubectl apply sends (`$patch`,
 * `$setElementOrder/<list>`, `$retainKeys`, `$deleteFromPrimitiveList/<list>`) are honoured.
 * Without a schema (kinds the server has none for), lists of named items merge by name.
 */
export function strategicMerge(
  target: any,
  patch: any,
  schema?: Obj,
  resolve: (s: Obj) => Obj = (s) => s,
): any {
  if (patch && typeof patch === 'object' && !Array.isArray(patch)) {
    if (patch.$patch === 'replace') {
      const { $patch: _p, ...rest } = patch;
      return structuredClone(rest);
    }
    if (patch.$patch === 'delete') return undefined;
    const s = schema ? resolve(schema) : undefined;
    let out: Obj =
      target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
    if (Array.isArray(patch.$retainKeys))
      out = Object.fromEntries(Object.entries(out).filter(([k]) => patch.$retainKeys.includes(k)));
    for (const [k, v] of Object.entries(patch)) {
      if (k.startsWith('$setElementOrder/') || k === '$retainKeys' || k === '$patch') continue;
      if (k.startsWith('$deleteFromPrimitiveList/')) {
        const field = k.slice('$deleteFromPrimitiveList/'.length);
        if (Array.isArray(out[field]))
          out[field] = out[field].filter((x: unknown) => !(v as unknown[]).includes(x));
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

function strategicMergeField(
  target: any,
  patch: any,
  schema: Obj | undefined,
  resolve: (s: Obj) => Obj,
  typed: boolean,
): any {
  if (!Array.isArray(patch)) return strategicMerge(target, patch, schema, resolve);
  const strategy = String(schema?.['x-kubernetes-patch-strategy'] ?? '');
  const mergeKey: string | undefined = typed ? schema?.['x-kubernetes-patch-merge-key'] : 'name';
  const mergeable = typed
    ? strategy.split(',').includes('merge')
    : patch.every((p) => p && typeof p === 'object' && 'name' in p);
  if (!mergeable || !Array.isArray(target))
    return structuredClone(patch.filter((p) => !(p && typeof p === 'object' && p.$patch)));
  if (!mergeKey) return [...target, ...patch.filter((p) => !target.includes(p))];
  const out = structuredClone(target);
  for (const item of patch) {
    if (item?.$patch === 'replace')
      return structuredClone(patch.filter((p) => p?.$patch !== 'replace'));
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

/** Applies a PATCH body to a copy of an object, by its content type (JSON patch, merge patch, strategic merge patch). */
export function applyPatch(target: Obj, req: Request): Obj {
  if (!req.body) throw new HttpError(400, 'BadRequest', 'patch body required');
  if (req.contentType?.startsWith('application/json-patch+json')) {
    const out = structuredClone(target);
    for (const op of req.body as unknown as Array<{ op: string; path: string; value?: unknown }>) {
      const parts = op.path
        .split('/')
        .slice(1)
        .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
      const last = parts.pop()!;
      const parent = parts.reduce<any>((acc, p) => (acc[p] ??= {}), out);
      if (op.op === 'remove') delete parent[last];
      else parent[last] = op.value;
    }
    return out;
  }
  if (req.contentType?.startsWith('application/merge-patch+json'))
    return mergePatch(target, req.body);
  if (req.contentType?.startsWith('application/apply-patch')) {
    throw new HttpError(
      415,
      'UnsupportedMediaType',
      'the simulated API server does not serve server-side apply (application/apply-patch+yaml): use client-side `kubectl apply -f`',
    );
  }
  const typed = schemaFor(target.apiVersion ?? '', target.kind ?? '');
  return typed
    ? strategicMerge(target, req.body, typed.schema, typed.resolve)
    : strategicMerge(target, req.body);
}

/**
 * The first steps of a PATCH of a stored object at `<namespace>/<name>` (the route's two
 * parameters): the object (404 naming `resource` when absent), the body's field validation, then
 * the patch applied to a copy. The caller decides what of the result the server keeps.
 */
export function patchStored(
  objects: ReadonlyMap<string, Obj>,
  resource: string,
  apiVersion: string,
  kind: string,
  r: Request,
): { key: string; stored: Obj; patched: Obj } {
  const key = `${r.params[0]}/${r.params[1]}`;
  const stored = objects.get(key);
  if (!stored) throw notFound(resource, r.params[1]!);
  checkFields(r, apiVersion, kind, r.body);
  return { key, stored, patched: applyPatch(stored, r) };
}
