import type { Obj } from '../cluster.js';
import { HttpError, notFound, type Route } from '../http.js';
import { inNamespace, list, one } from '../list.js';
import { applyPatch, keepServerFields, patchStored } from '../patch.js';
import { selectorMatches } from '../selectors.js';
import {
  canonical,
  checkFields,
  type FieldCause,
  goLabelSelector,
  goStringMap,
  invalid,
  metadataCauses,
  nameCauses,
  replicasCauses,
} from '../validation.js';

/** The API server's check that a Deployment's selector selects its own pod template. */
function selectorMatchesTemplate(d: Obj): boolean {
  const selector = d.spec?.selector;
  if (
    !selector ||
    (!Object.keys(selector.matchLabels ?? {}).length && !(selector.matchExpressions ?? []).length)
  )
    return false;
  return selectorMatches(d.spec.template?.metadata?.labels, selector);
}

/** A Deployment's scale subresource (autoscaling/v1 Scale). */
function scaleOf(d: Obj | undefined, name: string): Obj {
  if (!d) throw notFound('deployments.apps', name);
  const selector = Object.entries(d.spec.selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: {
      name: d.metadata.name,
      namespace: d.metadata.namespace,
      uid: d.metadata.uid,
      resourceVersion: d.metadata.resourceVersion,
      creationTimestamp: d.metadata.creationTimestamp,
    },
    spec: { replicas: d.spec.replicas },
    status: { replicas: d.status.replicas ?? 0, selector },
  };
}

/** Routes of apps/v1: DaemonSets, Deployments (with their scale subresource) and ReplicaSets. */
export const APPS_ROUTES: Route[] = [
  [
    'GET',
    /^\/apis\/apps\/v1\/daemonsets$/,
    (c, r) => list('DaemonSet', 'apps/v1', [...c.daemonSets.values()], c, r),
  ],
  [
    'GET',
    /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/daemonsets$/,
    (c, r) => list('DaemonSet', 'apps/v1', inNamespace(c.daemonSets.values(), r.params[0]), c, r),
  ],
  [
    'GET',
    /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/daemonsets\/([^/]+)$/,
    (c, r) => one(c.daemonSets.get(`${r.params[0]}/${r.params[1]}`), 'DaemonSet', r.params[1]!, r),
  ],
  [
    'PATCH',
    /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/daemonsets\/([^/]+)$/,
    (c, r) => {
      const {
        key: k,
        stored: ds,
        patched,
      } = patchStored(c.daemonSets, 'daemonsets.apps', 'apps/v1', 'DaemonSet', r);
      const causes = [
        ...metadataCauses(patched.metadata),
        ...metadataCauses(patched.spec?.template?.metadata, 'spec.template.'),
        // apps/v1 made a DaemonSet's selector immutable, as a Deployment's.
        ...(canonical(patched.spec?.selector) === canonical(ds.spec.selector)
          ? []
          : [
              {
                field: 'spec.selector',
                type: 'Invalid',
                value: goLabelSelector(patched.spec?.selector),
                detail: 'field is immutable',
              } as FieldCause,
            ]),
      ];
      if (causes.length) throw invalid('DaemonSet', 'apps', r.params[1]!, causes);
      // Labels and annotations change as kubectl label / annotate ask; the rest of metadata is the server's.
      patched.metadata = {
        ...ds.metadata,
        labels: patched.metadata?.labels,
        annotations: patched.metadata?.annotations,
        generation: ds.metadata.generation + 1,
        resourceVersion: c.nextVersion(),
      };
      c.daemonSets.set(k, patched);
      // A changed pod template rolls the DaemonSet: its pods are replaced with the new template.
      if (JSON.stringify(patched.spec.template) !== JSON.stringify(ds.spec.template)) {
        for (const pod of [...c.pods.values()].filter(
          (p) =>
            p.metadata.ownerReferences?.[0]?.kind === 'DaemonSet' &&
            p.metadata.ownerReferences?.[0]?.name === ds.metadata.name,
        )) {
          c.deletePod(pod.metadata.namespace, pod.metadata.name);
        }
      }
      c.reconcile();
      return patched;
    },
  ],
  [
    'GET',
    /^\/apis\/apps\/v1\/deployments$/,
    (c, r) => list('Deployment', 'apps/v1', [...c.deployments.values()], c, r),
  ],
  [
    'GET',
    /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments$/,
    (c, r) => list('Deployment', 'apps/v1', inNamespace(c.deployments.values(), r.params[0]), c, r),
  ],
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
        ...(r.body?.spec?.template?.spec?.containers?.length
          ? []
          : [
              {
                field: 'spec.template.spec.containers',
                type: 'Required',
                detail: '',
              } as FieldCause,
            ]),
        ...(selectorMatchesTemplate(r.body ?? {})
          ? []
          : [
              {
                field: 'spec.template.metadata.labels',
                type: 'Invalid',
                value: goStringMap(r.body?.spec?.template?.metadata?.labels),
                detail: '`selector` does not match template `labels`',
              } as FieldCause,
            ]),
      ];
      if (causes.length) throw invalid('Deployment', 'apps', name ?? '', causes);
      if (c.deployments.has(`${r.params[0]}/${name}`))
        throw new HttpError(409, 'AlreadyExists', `deployments.apps "${name}" already exists`);
      const deployment = c.addDeployment({
        ...r.body,
        metadata: { ...r.body?.metadata, namespace: r.params[0] },
      });
      c.reconcile();
      return deployment;
    },
  ],
  [
    'GET',
    /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/,
    (c, r) =>
      one(c.deployments.get(`${r.params[0]}/${r.params[1]}`), 'Deployment', r.params[1]!, r),
  ],
  [
    'PATCH',
    /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/,
    (c, r) => {
      const {
        key: k,
        stored: d,
        patched: applied,
      } = patchStored(c.deployments, 'deployments.apps', 'apps/v1', 'Deployment', r);
      const patched = keepServerFields(d, applied, c);
      // A patch that removes replicas leaves it to defaulting, which sets 1.
      if (patched.spec && patched.spec.replicas === undefined) patched.spec.replicas = 1;
      const causes = [
        ...metadataCauses(patched.metadata),
        ...metadataCauses(patched.spec?.template?.metadata, 'spec.template.'),
        ...replicasCauses(c, patched.spec?.replicas, d.spec.replicas),
        // apps/v1 made a Deployment's selector immutable.
        ...(canonical(patched.spec?.selector) === canonical(d.spec.selector)
          ? []
          : [
              {
                field: 'spec.selector',
                type: 'Invalid',
                value: goLabelSelector(patched.spec?.selector),
                detail: 'field is immutable',
              } as FieldCause,
            ]),
        ...(patched.spec?.selector === undefined || selectorMatchesTemplate(patched)
          ? []
          : [
              {
                field: 'spec.template.metadata.labels',
                type: 'Invalid',
                value: goStringMap(patched.spec?.template?.metadata?.labels),
                detail: '`selector` does not match template `labels`',
              } as FieldCause,
            ]),
      ];
      if (causes.length) throw invalid('Deployment', 'apps', r.params[1]!, causes);
      c.deployments.set(k, patched);
      c.reconcile();
      return patched;
    },
  ],
  [
    'GET',
    /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)\/scale$/,
    (c, r) => scaleOf(c.deployments.get(`${r.params[0]}/${r.params[1]}`), r.params[1]!),
  ],
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
  [
    'GET',
    /^\/apis\/apps\/v1\/replicasets$/,
    (c, r) => list('ReplicaSet', 'apps/v1', [...c.replicaSets.values()], c, r),
  ],
  [
    'GET',
    /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/replicasets$/,
    (c, r) => list('ReplicaSet', 'apps/v1', inNamespace(c.replicaSets.values(), r.params[0]), c, r),
  ],
  [
    'GET',
    /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/replicasets\/([^/]+)$/,
    (c, r) =>
      one(
        c.replicaSets.get(`${r.params[0]}/${r.params[1]}`),
        'ReplicaSet',
        r.params[1]!,
        r,
        'replicasets.apps',
      ),
  ],
  [
    'DELETE',
    /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/,
    (c, r) => {
      if (!c.deleteDeployment(r.params[0]!, r.params[1]!))
        throw notFound('deployments.apps', r.params[1]!);
      c.reconcile();
      return { kind: 'Status', apiVersion: 'v1', status: 'Success' };
    },
  ],
];
