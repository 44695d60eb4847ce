import type { Obj } from './cluster.js';

/**
 * Server-side printing (`meta.k8s.io/v1` Table), which kubectl asks for on `get`: the columns
 * kubectl users know for the resources the test double serves.
 */

function age(timestamp: string | undefined): string {
  if (!timestamp) return '<unknown>';
  const seconds = Math.max(0, Math.floor((Date.now() - new Date(timestamp).getTime()) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h`;
}

type Column = { name: string; type: string; priority?: number; cell: (o: Obj) => string | number };

const COLUMNS: Record<string, Column[]> = {
  Node: [
    { name: 'Name', type: 'string', cell: (o) => o.metadata.name },
    {
      name: 'Status',
      type: 'string',
      cell: (o) =>
        `${(o.status.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True') ? 'Ready' : 'NotReady'}${o.spec.unschedulable ? ',SchedulingDisabled' : ''}`,
    },
    {
      name: 'Roles',
      type: 'string',
      cell: (o) =>
        Object.keys(o.metadata.labels ?? {})
          .filter((l) => l.startsWith('node-role.kubernetes.io/'))
          .map((l) => l.split('/')[1])
          .join(',') || '<none>',
    },
    { name: 'Age', type: 'string', cell: (o) => age(o.metadata.creationTimestamp) },
    { name: 'Version', type: 'string', cell: (o) => o.status.nodeInfo?.kubeletVersion ?? '' },
    {
      name: 'Internal-IP',
      type: 'string',
      priority: 1,
      cell: (o) => o.status.addresses?.[0]?.address ?? '<none>',
    },
  ],
  Pod: [
    { name: 'Name', type: 'string', cell: (o) => o.metadata.name },
    {
      name: 'Ready',
      type: 'string',
      cell: (o) =>
        `${(o.status.containerStatuses ?? []).filter((c: Obj) => c.ready).length}/${(o.spec.containers ?? []).length}`,
    },
    // As kubectl's printer: a pod being deleted reads Terminating whatever its phase.
    {
      name: 'Status',
      type: 'string',
      cell: (o) => (o.metadata.deletionTimestamp ? 'Terminating' : o.status.phase),
    },
    { name: 'Restarts', type: 'integer', cell: () => 0 },
    { name: 'Age', type: 'string', cell: (o) => age(o.metadata.creationTimestamp) },
    { name: 'IP', type: 'string', priority: 1, cell: (o) => o.status.podIP ?? '<none>' },
    { name: 'Node', type: 'string', priority: 1, cell: (o) => o.spec.nodeName ?? '<none>' },
  ],
  DaemonSet: [
    { name: 'Name', type: 'string', cell: (o) => o.metadata.name },
    { name: 'Desired', type: 'integer', cell: (o) => o.status.desiredNumberScheduled ?? 0 },
    { name: 'Current', type: 'integer', cell: (o) => o.status.currentNumberScheduled ?? 0 },
    { name: 'Ready', type: 'integer', cell: (o) => o.status.numberReady ?? 0 },
    { name: 'Up-to-date', type: 'integer', cell: (o) => o.status.updatedNumberScheduled ?? 0 },
    { name: 'Available', type: 'integer', cell: (o) => o.status.numberAvailable ?? 0 },
    { name: 'Node Selector', type: 'string', cell: () => '<none>' },
    { name: 'Age', type: 'string', cell: (o) => age(o.metadata.creationTimestamp) },
  ],
  Deployment: [
    { name: 'Name', type: 'string', cell: (o) => o.metadata.name },
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => `${o.status.readyReplicas ?? 0}/${o.spec.replicas}`,
    },
    { name: 'Up-to-date', type: 'integer', cell: (o) => o.status.updatedReplicas ?? 0 },
    { name: 'Available', type: 'integer', cell: (o) => o.status.availableReplicas ?? 0 },
    { name: 'Age', type: 'string', cell: (o) => age(o.metadata.creationTimestamp) },
  ],
  ReplicaSet: [
    { name: 'Name', type: 'string', cell: (o) => o.metadata.name },
    { name: 'Desired', type: 'integer', cell: (o) => o.spec.replicas ?? 0 },
    { name: 'Current', type: 'integer', cell: (o) => o.status.replicas ?? 0 },
    { name: 'Ready', type: 'integer', cell: (o) => o.status.readyReplicas ?? 0 },
    { name: 'Age', type: 'string', cell: (o) => age(o.metadata.creationTimestamp) },
    {
      name: 'Containers',
      type: 'string',
      priority: 1,
      cell: (o) => (o.spec.template.spec.containers ?? []).map((c: Obj) => c.name).join(','),
    },
    {
      name: 'Images',
      type: 'string',
      priority: 1,
      cell: (o) => (o.spec.template.spec.containers ?? []).map((c: Obj) => c.image).join(','),
    },
  ],
  Event: [
    {
      name: 'Last Seen',
      type: 'string',
      cell: (o) => age(o.lastTimestamp ?? o.deprecatedLastTimestamp ?? o.eventTime),
    },
    { name: 'Type', type: 'string', cell: (o) => o.type },
    { name: 'Reason', type: 'string', cell: (o) => o.reason },
    {
      name: 'Object',
      type: 'string',
      cell: (o) => {
        const i = o.involvedObject ?? o.regarding ?? {};
        return `${String(i.kind ?? '').toLowerCase()}/${i.name}`;
      },
    },
    { name: 'Message', type: 'string', cell: (o) => o.message ?? o.note },
  ],
  PodDisruptionBudget: [
    { name: 'Name', type: 'string', cell: (o) => o.metadata.name },
    { name: 'Min Available', type: 'string', cell: (o) => String(o.spec.minAvailable ?? 'N/A') },
    {
      name: 'Max Unavailable',
      type: 'string',
      cell: (o) => String(o.spec.maxUnavailable ?? 'N/A'),
    },
    {
      name: 'Allowed Disruptions',
      type: 'integer',
      cell: (o) => o.status?.disruptionsAllowed ?? 0,
    },
    { name: 'Age', type: 'string', cell: (o) => age(o.metadata.creationTimestamp) },
  ],
  Namespace: [
    { name: 'Name', type: 'string', cell: (o) => o.metadata.name },
    { name: 'Status', type: 'string', cell: () => 'Active' },
    { name: 'Age', type: 'string', cell: (o) => age(o.metadata.creationTimestamp) },
  ],
};

/** True when the client asked for server-side printing. */
export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? '');
}

/** What a Table row carries besides its cells (`includeObject`): the default is the metadata. */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

/**
 * A Table of the items; each row carries the object's metadata, the whole object when the
 * client asks for it (`includeObject=Object`, as `kubectl get --sort-by` does), or nothing
 * (`includeObject=None`: the row's `object` is null, as the API server serializes an empty one).
 */
export function toTable(
  kind: string,
  items: Obj[],
  resourceVersion: string,
  includeObject: IncludeObject = 'Metadata',
): Obj {
  const columns = COLUMNS[kind] ?? COLUMNS.Namespace!;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.name === 'Name' ? 'name' : '',
      description: c.name,
      priority: c.priority ?? 0,
    })),
    rows: items.map((o) => ({
      cells: columns.map((c) => c.cell(o)),
      object:
        includeObject === 'Object'
          ? o
          : includeObject === 'None'
            ? null
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
