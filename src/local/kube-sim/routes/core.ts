import type { Obj, SimCluster } from '../cluster.js';
import { HttpError, notFound, type Request, type Route } from '../http.js';
import { inNamespace, list, one } from '../list.js';
import { applyPatch, patchStored } from '../patch.js';
import { checkFields, invalid, metadataCauses, nameCauses } from '../validation.js';

/**
 * The pods a pod list filters: only the node's, from the node index, when the field selector
 * pins `spec.nodeName` to one plain name (a drain's question, asked per node: at 1,000 nodes the
 * filter over every pod was most of a roll's time); otherwise every pod. The selector is still
 * applied to them in full, so the answer is the same.
 */
function podCandidates(c: SimCluster, req: Request): Obj[] {
  const node = /(?:^|,)spec\.nodeName==?([A-Za-z0-9._:-]+)(?=,|$)/.exec(
    req.query.get('fieldSelector') ?? '',
  )?.[1];
  return node === undefined ? [...c.pods.values()] : c.podsBoundTo(node);
}

const NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Routes of core/v1 nodes, namespaces and pods (with eviction). */
export const CORE_ROUTES: Route[] = [
  ['GET', /^\/api\/v1\/nodes$/, (c, r) => list('Node', 'v1', [...c.nodes.values()], c, r)],
  [
    'GET',
    /^\/api\/v1\/nodes\/([^/]+)$/,
    (c, r) => one(c.nodes.get(r.params[0]!), 'Node', r.params[0]!, r),
  ],
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
      if (unschedulable !== (node.spec.unschedulable === true))
        c.recordEvent({
          involved: node,
          type: 'Normal',
          reason: unschedulable ? 'NodeNotSchedulable' : 'NodeSchedulable',
          message: `Node ${node.metadata.name} status is now: ${unschedulable ? 'NodeNotSchedulable' : 'NodeSchedulable'}`,
          component: 'kubelet',
          host: node.metadata.name,
        });
      node.spec.unschedulable = unschedulable || undefined;
      node.metadata.labels = patched.metadata?.labels ?? node.metadata.labels;
      node.metadata.annotations = patched.metadata?.annotations ?? node.metadata.annotations;
      node.metadata.resourceVersion = c.nextVersion();
      c.reconcile();
      return node;
    },
  ],
  [
    'GET',
    /^\/api\/v1\/namespaces$/,
    (c, r) =>
      list(
        'Namespace',
        'v1',
        NAMESPACES.map((name) => ({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name, creationTimestamp: '2026-01-01T00:00:00Z' },
          status: { phase: 'Active' },
        })),
        c,
        r,
      ),
  ],
  [
    'GET',
    /^\/api\/v1\/namespaces\/([^/]+)$/,
    (_c, r) => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: r.params[0] },
      status: { phase: 'Active' },
    }),
  ],
  ['GET', /^\/api\/v1\/pods$/, (c, r) => list('Pod', 'v1', podCandidates(c, r), c, r)],
  [
    'GET',
    /^\/api\/v1\/namespaces\/([^/]+)\/pods$/,
    (c, r) => list('Pod', 'v1', inNamespace(podCandidates(c, r), r.params[0]), c, r),
  ],
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
      if (refusal)
        throw new HttpError(403, 'Forbidden', `pods "${name ?? ''}" is forbidden: ${refusal}`);
      if (name && c.pods.has(`${r.params[0]}/${name}`))
        throw new HttpError(409, 'AlreadyExists', `pods "${name}" already exists`);
      const pod = c.createPod({
        ...r.body,
        metadata: { ...r.body?.metadata, namespace: r.params[0] },
      });
      c.reconcile();
      return pod;
    },
  ],
  [
    'GET',
    /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/,
    (c, r) => one(c.pods.get(`${r.params[0]}/${r.params[1]}`), 'Pod', r.params[1]!, r),
  ],
  [
    'PATCH',
    /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/,
    (c, r) => {
      const { stored: pod, patched } = patchStored(c.pods, 'pods', 'v1', 'Pod', r);
      const labelCauses = metadataCauses(patched.metadata);
      if (labelCauses.length) throw invalid('Pod', '', r.params[1]!, labelCauses);
      // As the API server: a pod's spec is immutable but for container images and a few fields.
      const images = (spec: Obj) =>
        JSON.stringify({
          ...spec,
          containers: (spec?.containers ?? []).map((x: Obj) => ({ ...x, image: undefined })),
          activeDeadlineSeconds: undefined,
          tolerations: undefined,
        });
      if (images(patched.spec) !== images(pod.spec))
        throw new HttpError(
          422,
          'Invalid',
          `Pod "${r.params[1]}" is invalid: spec: Forbidden: pod updates may not change fields other than \`spec.containers[*].image\`, \`spec.activeDeadlineSeconds\`, \`spec.tolerations\` (only additions to existing tolerations)`,
        );
      const updated = {
        ...pod,
        metadata: {
          ...pod.metadata,
          labels: patched.metadata?.labels,
          annotations: patched.metadata?.annotations,
          resourceVersion: c.nextVersion(),
        },
        spec: patched.spec,
      };
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
      if (result.status === 'blocked')
        throw new HttpError(429, 'TooManyRequests', result.message ?? 'eviction refused');
      return { kind: 'Status', apiVersion: 'v1', status: 'Success', code: 201 };
    },
  ],
];
