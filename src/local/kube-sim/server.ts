import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { localClusterApiUrl } from '../../kube/from-store.js';
import type { SimCluster } from './cluster.js';
import { discovery, openApi } from './discovery.js';
import { etcdGateway } from './etcd.js';
import { HttpError, type Request, type Route, readBody, send } from './http.js';
import { APPS_ROUTES } from './routes/apps.js';
import { CORE_ROUTES } from './routes/core.js';
import { EVENTS_ROUTES } from './routes/events.js';
import { POLICY_ROUTES } from './routes/policy.js';
import { BadSelectorError } from './selectors.js';

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
  /**
   * True for a cluster whose API answers only from inside its VPC (`/vpc/clusters/<name>`), as a
   * private-topology cluster's, or a public one whose kubernetesApiAccess leaves out the callers.
   */
  onlyFromVpc?(name: string): boolean;
}

/**
 * Where one cluster's etcd member API is served (`<cluster URL>/etcd/v3/...`), on the VPC side
 * only (`/vpc/clusters/<name>/etcd`): on AWS it is each control-plane instance's port 2379.
 */
export const ETCD_PREFIX = '/etcd';

/** Route table: every API group's routes (their patterns never overlap, so order does not matter). */
const ROUTES: Route[] = [...CORE_ROUTES, ...APPS_ROUTES, ...EVENTS_ROUTES, ...POLICY_ROUTES];

/** The most items a page holds when a client asks for pages (see `paginate`), unless the list is long. */
export const DEFAULT_MAX_PAGE_ITEMS = 2;

export async function handle(
  backend: SimBackend,
  req: IncomingMessage,
  res: ServerResponse,
  maxPageItems = DEFAULT_MAX_PAGE_ITEMS,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const match = /^(\/vpc)?\/clusters\/([^/]+)(\/.*)?$/.exec(url.pathname);
  try {
    if (!match)
      throw new HttpError(
        404,
        'NotFound',
        'paths are /clusters/<cluster>/... (or /vpc/clusters/...)',
      );
    const [, insideVpc, name = '', rest] = match;
    const cluster = await backend.cluster(decodeURIComponent(name));
    if (!cluster)
      throw new HttpError(404, 'NotFound', `no running cluster "${name}" on the local backend`);
    // What became due by the cluster's clock (a node booted, a pod drained) shows in this answer.
    cluster.tick();
    const path = (rest ?? '/').replace(/\/$/, '') || '/';
    const method = req.method ?? 'GET';
    if (path.startsWith(ETCD_PREFIX)) {
      // Port 2379 is open to the cluster's own security groups alone, whatever its topology.
      if (!insideVpc)
        throw new HttpError(
          403,
          'Forbidden',
          `the etcd of cluster "${name}" is reachable only from inside its VPC (through its cluster API function)`,
        );
      const answer = etcdGateway(
        cluster.etcd,
        method,
        path.slice(ETCD_PREFIX.length),
        await readBody(req),
      );
      if (answer.status === 200) cluster.reconcile();
      return send(res, answer.status, answer.body);
    }
    if (!insideVpc && backend.onlyFromVpc?.(decodeURIComponent(name)))
      throw new HttpError(
        403,
        'Forbidden',
        `the API of cluster "${name}" is reachable only from inside its VPC (through its cluster API function)`,
      );
    // The API server reads and writes everything through etcd: without its quorum nothing is served.
    if (!cluster.etcd.hasQuorum())
      throw new HttpError(
        503,
        'ServiceUnavailable',
        `etcdserver: request timed out (etcd has ${cluster.etcd.healthyCount()} healthy of ${cluster.etcd.list().length} members, fewer than a quorum)`,
      );
    if (method === 'GET') {
      const doc = discovery(path, cluster.kubernetesVersion);
      if (doc) return send(res, 200, doc);
      const spec = openApi(path, `${insideVpc ?? ''}/clusters/${name}`, req.headers.accept);
      if (spec) return send(res, spec.code, spec.body);
    }
    if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1')
      throw new HttpError(
        405,
        'MethodNotAllowed',
        'the simulated API server does not serve watches',
      );
    // A dry run must change nothing; rather than apply it for real, the double refuses it.
    if (method !== 'GET' && url.searchParams.has('dryRun'))
      throw new HttpError(
        400,
        'BadRequest',
        'the simulated API server does not serve dry runs (dryRun=All): `kubectl diff` and `--dry-run=server` need a real API server',
      );
    for (const [routeMethod, pattern, handler] of ROUTES) {
      const m = pattern.exec(path);
      if (!m || routeMethod !== method) continue;
      const request: Request = {
        method,
        path,
        query: url.searchParams,
        accept: req.headers.accept,
        contentType: req.headers['content-type'],
        body: await readBody(req),
        params: m.slice(1),
        maxPageItems,
        warnings: [],
      };
      const result = await handler(cluster, request);
      return send(
        res,
        method === 'POST' && result.kind !== 'Status' ? 201 : 200,
        result,
        request.warnings,
      );
    }
    throw new HttpError(
      404,
      'NotFound',
      `the simulated API server does not serve ${method} ${path}`,
    );
  } catch (error) {
    const e =
      error instanceof HttpError
        ? error
        : error instanceof BadSelectorError
          ? new HttpError(400, 'BadRequest', error.message)
          : new HttpError(500, 'InternalError', (error as Error).message);
    send(res, e.code, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: e.message,
      reason: e.reason,
      ...(e.details ? { details: e.details } : {}),
      code: e.code,
    });
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
export async function listen(
  backend: SimBackend,
  port = 0,
  options: { maxPageItems?: number } = {},
): Promise<RunningSim> {
  const server = createServer((req, res) => void handle(backend, req, res, options.maxPageItems));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    port: actual,
    urlFor: (cluster) => localClusterApiUrl(`http://127.0.0.1:${actual}`, cluster),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
