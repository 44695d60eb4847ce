import { z } from 'zod';
import { CLUSTER_API_ETCD_ALIAS } from '../planning/names.js';
import type { EtcdMember } from './etcd.js';
import type { KubePodRow } from './pod-rows.js';
import type { EvictionResult, KubeNode, KubePod } from './port.js';

/**
 * What the shared functions ask of a cluster's API function (the one function attached to the
 * cluster's own subnets, see docs/network-path.md): one operation of the Kubernetes port and its
 * arguments per invocation. Lists come a page at a time, so an answer stays far below Lambda's
 * 6 MB response limit whatever the cluster's size; everything else answers with a word or a
 * few environment variables.
 */

/** The most items one list page may ask for: 500 pods of kubectl's chunk size stay around 0.5 MB. */
export const MAX_REMOTE_PAGE = 500;

/**
 * The largest answer the function sends: Lambda refuses a synchronous response over 6 MB
 * (6,291,556 bytes), so an answer past this is replaced by a named error, never truncated.
 */
export const MAX_RESPONSE_BYTES = 5 * 1024 * 1024;

const page = {
  limit: z.number().int().min(1).max(MAX_REMOTE_PAGE),
  continue: z.string().min(1).optional(),
};

const objectName = z.string().min(1).max(253);
/** An EC2 instance ID: etcd members are named by the instance they run on, never by an address. */
const instanceId = z.string().regex(/^i-[0-9a-f]{8,17}$/, 'an EC2 instance ID (i-...)');
const namespace = z.string().min(1).max(63);

const KubeEventSchema = z.object({
  regarding: z.object({
    kind: z.enum(['Node', 'Pod', 'DaemonSet']),
    namespace: namespace.optional(),
    name: objectName,
    uid: z.string().optional(),
  }),
  type: z.enum(['Normal', 'Warning']),
  reason: z.string().min(1).max(128),
  message: z.string().max(1024),
  action: z.string().max(128).optional(),
});

/** One request to a cluster's API function; `cluster` must be the function's own. */
export const ClusterApiRequestSchema = z.discriminatedUnion('action', [
  // Whether the control plane has stored its kubeconfig yet (checked as any use of it is).
  z.object({ cluster: z.string().min(1), action: z.literal('published') }).strict(),
  z.object({ cluster: z.string().min(1), action: z.literal('listNodes'), ...page }).strict(),
  z
    .object({
      cluster: z.string().min(1),
      action: z.literal('listPods'),
      fieldSelector: z.string().max(1024).optional(),
      labelSelector: z.string().max(1024).optional(),
      ...page,
    })
    .strict(),
  z
    .object({
      cluster: z.string().min(1),
      action: z.literal('listPodRows'),
      fieldSelector: z.string().max(1024).optional(),
      labelSelector: z.string().max(1024).optional(),
      ...page,
    })
    .strict(),
  // The watcher's observation: counted inside the VPC, so the answer grows with the nodes only.
  z.object({ cluster: z.string().min(1), action: z.literal('podSlotCounts') }).strict(),
  z.object({ cluster: z.string().min(1), action: z.literal('cordon'), node: objectName }).strict(),
  z
    .object({ cluster: z.string().min(1), action: z.literal('uncordon'), node: objectName })
    .strict(),
  z
    .object({
      cluster: z.string().min(1),
      action: z.literal('evict'),
      namespace,
      name: objectName,
    })
    .strict(),
  z
    .object({
      cluster: z.string().min(1),
      action: z.literal('getDaemonSetEnv'),
      namespace,
      name: objectName,
      container: objectName,
    })
    .strict(),
  z
    .object({
      cluster: z.string().min(1),
      action: z.literal('setDaemonSetEnv'),
      namespace,
      name: objectName,
      container: objectName,
      env: z.record(z.string().min(1).max(256), z.string().max(4096)),
    })
    .strict(),
  z
    .object({
      cluster: z.string().min(1),
      action: z.literal('recordEvent'),
      event: KubeEventSchema,
    })
    .strict(),
  // The stacked etcd's members, read on the control plane's port 2379 from inside the VPC.
  z.object({ cluster: z.string().min(1), action: z.literal('listEtcdMembers') }).strict(),
  // The member of the control-plane instance about to be replaced, found by the function itself.
  z
    .object({ cluster: z.string().min(1), action: z.literal('removeEtcdMember'), instanceId })
    .strict(),
]);

export type ClusterApiRequest = z.output<typeof ClusterApiRequestSchema>;
export type ClusterApiAction = ClusterApiRequest['action'];

/**
 * The alias of a cluster's API function through which its etcd operations are served: only the
 * rolling update's actor role may invoke it, so the shared functions that need the Kubernetes
 * API alone (the ENI watcher) cannot reach etcd's membership, whatever they send.
 */
export const ETCD_ALIAS = CLUSTER_API_ETCD_ALIAS;

/** The operations served only through ETCD_ALIAS. */
export const ETCD_ACTIONS: ReadonlySet<ClusterApiAction> = new Set([
  'listEtcdMembers',
  'removeEtcdMember',
]);

/** The qualifier a request is invoked with: ETCD_ALIAS for an etcd operation, else none. */
export function invocationQualifier(
  request: Pick<ClusterApiRequest, 'action'>,
): string | undefined {
  return ETCD_ACTIONS.has(request.action) ? ETCD_ALIAS : undefined;
}

/** Whether a Lambda `invokedFunctionArn` is the function's ETCD_ALIAS (`arn:...:function:<name>:etcd`). */
export function invokedThroughEtcdAlias(invokedFunctionArn: string | undefined): boolean {
  const parts = (invokedFunctionArn ?? '').split(':');
  return parts.length === 8 && parts[5] === 'function' && parts[7] === ETCD_ALIAS;
}

/** A Kubernetes refusal or failure as it crosses the invocation: the kopsless error name, and the HTTP status when there was one. */
export interface ClusterApiFailure {
  name: string;
  message: string;
  status?: number;
}

/** What each operation answers with. */
export interface ClusterApiResults {
  published: { published: boolean };
  listNodes: { items: KubeNode[]; continue?: string };
  listPods: { items: KubePod[]; continue?: string };
  listPodRows: { items: KubePodRow[]; continue?: string };
  /** Pods holding a slot, per node name; pods Pending for "Too many pods". */
  podSlotCounts: { byNode: Record<string, number>; pendingTooManyPods: number };
  cordon: Record<string, never>;
  uncordon: Record<string, never>;
  evict: { result: EvictionResult };
  getDaemonSetEnv: { env?: Record<string, string> };
  setDaemonSetEnv: Record<string, never>;
  recordEvent: Record<string, never>;
  /** `published: false` while the control plane has not stored its etcd client certificate. */
  listEtcdMembers: { published: boolean; members: EtcdMember[] };
  /** `removed: false` when the instance has no member (gone already, or never joined). */
  removeEtcdMember: { removed: boolean; member?: string };
}

/**
 * The function's answer. A Kubernetes error is an answer (`ok: false`), not a failed invocation:
 * Lambda's own error payload would lose the HTTP status a caller acts on (410 Gone, 429).
 */
export type ClusterApiResponse<O extends ClusterApiAction = ClusterApiAction> =
  | { ok: true; result: ClusterApiResults[O] }
  | { ok: false; error: ClusterApiFailure };

/** How a shared function reaches a cluster's API function: on AWS `lambda:InvokeFunction`, locally the same handler in-process. */
export type ClusterApiInvoker = (request: ClusterApiRequest) => Promise<ClusterApiResponse>;
