import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import type { ListPage, PodSelectors } from './port.js';

/**
 * Pods as the API server prints them (server-side printing, `meta.k8s.io/v1` Table with
 * `includeObject=None`): one row of short cells per pod instead of the pod. A kubelet-reported
 * pod is 4-10 KB of JSON; its row (name, ready, status, restarts, age, IP, node) is about 150
 * bytes, and it still says which node the pod holds a slot on. client-node's typed lists parse
 * every response as a `PodList`, so this list is read with the kubeconfig's own agent and headers.
 */

/** One pod of a Table list: its name and the node it is bound to (absent while unscheduled). */
export interface KubePodRow {
  name: string;
  nodeName?: string;
  /** The Status column: the phase, or what kubectl shows instead (`Terminating`, `Completed`, ...). */
  status: string;
}

/** What the API server prints for a missing value (an unscheduled pod's Node column). */
const NONE = '<none>';

/** The Accept header of a Table list; a server without server-side printing would answer a plain list, refused below. */
export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io';

interface TableColumn {
  name: string;
}
interface TableList {
  kind?: string;
  columnDefinitions?: TableColumn[];
  rows?: Array<{ cells?: unknown[] }>;
  metadata?: { continue?: string };
}

/** The rows of one Table page, read by the column names the API server gives (their order is not fixed). */
export function podRowsOf(table: TableList): KubePodRow[] {
  if (table.kind !== 'Table' || !Array.isArray(table.columnDefinitions))
    throw new ApiException(
      406,
      `the API server answered a pod Table list with ${table.kind ?? 'no kind'}: server-side printing is required`,
      table,
      {},
    );
  const columns = table.columnDefinitions.map((c) => c.name);
  const at = (name: string) => {
    const i = columns.indexOf(name);
    if (i < 0)
      throw new ApiException(
        406,
        `the pod Table has no ${name} column (columns: ${columns.join(', ')})`,
        table,
        {},
      );
    return i;
  };
  const name = at('Name');
  const node = at('Node');
  const status = at('Status');
  return (table.rows ?? []).map((row) => {
    const cells = row.cells ?? [];
    const nodeName = String(cells[node] ?? '');
    return {
      name: String(cells[name] ?? ''),
      ...(nodeName && nodeName !== NONE ? { nodeName } : {}),
      status: String(cells[status] ?? ''),
    };
  });
}

function readBody(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
  });
}

/**
 * One page of every namespace's pods as a Table (`GET /api/v1/pods`, `includeObject=None`), with
 * the kubeconfig's server, TLS settings and credentials. An HTTP error is an ApiException with
 * the server's status, as client-node's calls throw, so the callers classify it the same way.
 */
export async function podTablePage(
  config: KubeConfig,
  selectors: PodSelectors,
  page: { limit?: number; _continue?: string },
): Promise<ListPage<KubePodRow>> {
  const server = config.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig names no current cluster server');
  const url = new URL(`${server.replace(/\/+$/, '')}/api/v1/pods`);
  url.searchParams.set('includeObject', 'None');
  if (selectors.fieldSelector) url.searchParams.set('fieldSelector', selectors.fieldSelector);
  if (selectors.labelSelector) url.searchParams.set('labelSelector', selectors.labelSelector);
  if (page.limit) url.searchParams.set('limit', String(page.limit));
  if (page._continue) url.searchParams.set('continue', page._continue);
  const options: RequestOptions = { method: 'GET', headers: {} };
  await config.applyToHTTPSOptions(options);
  options.headers = { ...options.headers, Accept: TABLE_ACCEPT };
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const { status, body } = await new Promise<{ status: number; body: string }>(
    (resolve, reject) => {
      const req = request(url, options, (response) => {
        readBody(response).then(
          (text) => resolve({ status: response.statusCode ?? 0, body: text }),
          reject,
        );
      });
      req.on('error', reject);
      req.end();
    },
  );
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = body;
  }
  if (status < 200 || status >= 300) {
    const message = (parsed as { message?: string } | undefined)?.message ?? body.slice(0, 500);
    throw new ApiException(status, `HTTP ${status}: ${message}`, parsed, {});
  }
  const table = parsed as TableList;
  return {
    items: podRowsOf(table),
    ...(table.metadata?.continue ? { metadata: { _continue: table.metadata.continue } } : {}),
  };
}
