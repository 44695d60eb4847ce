import { HttpError, notFound, type Route } from '../http.js';
import { inNamespace, list, one } from '../list.js';
import { keepServerFields, patchStored } from '../patch.js';
import { checkFields, invalid, metadataCauses, nameCauses } from '../validation.js';

/** Routes of policy/v1 PodDisruptionBudgets (status computed on read). */
export const POLICY_ROUTES: Route[] = [
  [
    'GET',
    /^\/apis\/policy\/v1\/poddisruptionbudgets$/,
    (c, r) =>
      list(
        'PodDisruptionBudget',
        'policy/v1',
        [...c.pdbs.values()].map((p) => ({ ...p, status: c.pdbStatus(p) })),
        c,
        r,
      ),
  ],
  [
    'GET',
    /^\/apis\/policy\/v1\/namespaces\/([^/]+)\/poddisruptionbudgets$/,
    (c, r) =>
      list(
        'PodDisruptionBudget',
        'policy/v1',
        inNamespace(c.pdbs.values(), r.params[0]).map((p) => ({ ...p, status: c.pdbStatus(p) })),
        c,
        r,
      ),
  ],
  [
    'POST',
    /^\/apis\/policy\/v1\/namespaces\/([^/]+)\/poddisruptionbudgets$/,
    (c, r) => {
      const name = r.body?.metadata?.name;
      checkFields(r, 'policy/v1', 'PodDisruptionBudget', r.body);
      const causes = [...nameCauses(name), ...metadataCauses(r.body?.metadata)];
      if (causes.length) throw invalid('PodDisruptionBudget', 'policy', name ?? '', causes);
      if (c.pdbs.has(`${r.params[0]}/${name}`))
        throw new HttpError(
          409,
          'AlreadyExists',
          `poddisruptionbudgets.policy "${name}" already exists`,
        );
      const pdb = {
        ...r.body,
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: {
          ...r.body?.metadata,
          namespace: r.params[0],
          creationTimestamp: new Date().toISOString(),
          resourceVersion: c.nextVersion(),
        },
      };
      c.pdbs.set(`${r.params[0]}/${name}`, pdb);
      return { ...pdb, status: c.pdbStatus(pdb) };
    },
  ],
  [
    'GET',
    /^\/apis\/policy\/v1\/namespaces\/([^/]+)\/poddisruptionbudgets\/([^/]+)$/,
    (c, r) => {
      const pdb = c.pdbs.get(`${r.params[0]}/${r.params[1]}`);
      return one(
        pdb && { ...pdb, status: c.pdbStatus(pdb) },
        'PodDisruptionBudget',
        r.params[1]!,
        r,
        'poddisruptionbudgets.policy',
      );
    },
  ],
  [
    'PATCH',
    /^\/apis\/policy\/v1\/namespaces\/([^/]+)\/poddisruptionbudgets\/([^/]+)$/,
    (c, r) => {
      const {
        key: k,
        stored: pdb,
        patched: applied,
      } = patchStored(c.pdbs, 'poddisruptionbudgets.policy', 'policy/v1', 'PodDisruptionBudget', r);
      const patched = keepServerFields(pdb, applied, c);
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
      if (!c.pdbs.delete(`${r.params[0]}/${r.params[1]}`))
        throw notFound('poddisruptionbudgets.policy', r.params[1]!);
      return { kind: 'Status', apiVersion: 'v1', status: 'Success' };
    },
  ],
];
