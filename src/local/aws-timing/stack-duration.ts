import { resourceCreateSeconds } from './durations.js';

/**
 * How long CloudFormation takes to create a stack from its template: it creates every resource
 * as soon as the resources it refers to (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `DependsOn`) are
 * complete, so the stack takes as long as its longest chain of dependent resources, each taking
 * its type's figure (durations.ts).
 */

interface TemplateResource {
  Type?: string;
  DependsOn?: string | string[];
  Properties?: unknown;
}

/** The resources a template names under `Resources`, with the IDs each one refers to. */
export function resourceDependencies(template: {
  Resources?: Record<string, TemplateResource>;
}): Map<string, { type: string; dependsOn: Set<string> }> {
  const resources = template.Resources ?? {};
  const ids = new Set(Object.keys(resources));
  const out = new Map<string, { type: string; dependsOn: Set<string> }>();
  for (const [id, resource] of Object.entries(resources)) {
    const dependsOn = new Set<string>(
      typeof resource.DependsOn === 'string' ? [resource.DependsOn] : (resource.DependsOn ?? []),
    );
    collectReferences(resource.Properties, ids, dependsOn);
    dependsOn.delete(id);
    out.set(id, { type: resource.Type ?? 'unknown', dependsOn });
  }
  return out;
}

function collectReferences(value: unknown, ids: Set<string>, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) collectReferences(item, ids, into);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'Ref' && typeof inner === 'string' && ids.has(inner)) into.add(inner);
    else if (key === 'Fn::GetAtt') {
      const target = Array.isArray(inner) ? inner[0] : String(inner).split('.')[0];
      if (typeof target === 'string' && ids.has(target)) into.add(target);
    } else if (key === 'Fn::Sub') {
      const text = Array.isArray(inner) ? inner[0] : inner;
      if (typeof text === 'string')
        for (const match of text.matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}/g))
          if (ids.has(match[1]!)) into.add(match[1]!);
    }
    collectReferences(inner, ids, into);
  }
}

/** One resource on the stack's longest chain, and when it completes (seconds after CreateStack). */
export interface ChainLink {
  id: string;
  type: string;
  completesAt: number;
}

/**
 * Seconds from CreateStack until CREATE_COMPLETE, the chain of resources that takes that long
 * (first created first), and when each resource completes. A dependency cycle, which
 * CloudFormation refuses, throws.
 */
export function stackCreateSeconds(template: { Resources?: Record<string, TemplateResource> }): {
  seconds: number;
  longestChain: ChainLink[];
  /** Per logical ID: seconds after CreateStack when the resource is complete. */
  completesAt: ReadonlyMap<string, number>;
} {
  const resources = resourceDependencies(template);
  const finish = new Map<string, { at: number; after?: string }>();
  const visiting = new Set<string>();
  const completes = (id: string): number => {
    const known = finish.get(id);
    if (known) return known.at;
    if (visiting.has(id)) throw new Error(`stack template: dependency cycle through ${id}`);
    visiting.add(id);
    const resource = resources.get(id)!;
    let start = 0;
    let after: string | undefined;
    for (const dep of resource.dependsOn) {
      const at = completes(dep);
      if (at > start) {
        start = at;
        after = dep;
      }
    }
    visiting.delete(id);
    const at = start + resourceCreateSeconds(resource.type);
    finish.set(id, after ? { at, after } : { at });
    return at;
  };
  let last: string | undefined;
  let seconds = 0;
  for (const id of resources.keys()) {
    const at = completes(id);
    if (at > seconds) {
      seconds = at;
      last = id;
    }
  }
  const longestChain: ChainLink[] = [];
  for (let id = last; id !== undefined; id = finish.get(id)?.after)
    longestChain.unshift({
      id,
      type: resources.get(id)!.type,
      completesAt: finish.get(id)!.at,
    });
  return {
    seconds,
    longestChain,
    completesAt: new Map([...finish].map(([id, { at }]) => [id, at])),
  };
}
