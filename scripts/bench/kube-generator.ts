import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * A Kubernetes API stand-in for the watcher bench: serves `/api/v1/nodes` and `/api/v1/pods`
 * of a cluster of `--nodes` nodes with `--pods-per-node` Running pods each, paged with `limit` and
 * `continue` as the API server does, generating every item from its index when it is written.
 * It never holds the list (550,000 pods at 5,000 nodes): its own memory stays flat, so the peak
 * the bench reports is the watcher's. Started by the bench as a child process on 127.0.0.1 and
 * stopped by PID; prints `{"port":N}` on stdout once it listens. `GET /_bench/requests` answers
 * the count of API requests so far (that request itself is not counted).
 *
 * Usage: tsx kube-generator.ts --nodes N --pods-per-node P --groups a,b,...
 */

export interface GeneratorShape {
  nodes: number;
  podsPerNode: number;
  /** Instance group names; node i belongs to groups[i % groups.length]. */
  groups: string[];
}

/** The field selectors the watcher sends; finished pods are never generated, so they select every pod. */
const NON_TERMINATED = new Set([
  'status.phase!=Succeeded,status.phase!=Failed',
  'status.phase!=Failed,status.phase!=Succeeded',
]);

const nodeName = (i: number) => `i-${(0x1000000 + i).toString(16).padStart(17, '0')}`;

function node(i: number, shape: GeneratorShape): object {
  const name = nodeName(i);
  const group = shape.groups[i % shape.groups.length] ?? 'nodes';
  return {
    metadata: {
      name,
      uid: `node-${i}`,
      resourceVersion: '1',
      labels: {
        'kops.k8s.io/instancegroup': group,
        'node-role.kubernetes.io/node': '',
        'kubernetes.io/hostname': name,
      },
    },
    spec: { providerID: `aws:///us-east-1a/${name}` },
    status: {
      allocatable: { pods: String(shape.podsPerNode), cpu: '2', memory: '4Gi' },
      conditions: [{ type: 'Ready', status: 'True' }],
      nodeInfo: { kubeletVersion: 'v1.32.0' },
    },
  };
}

function pod(i: number, shape: GeneratorShape): object {
  const onNode = Math.floor(i / shape.podsPerNode);
  return {
    metadata: {
      name: `web-${i}`,
      namespace: 'default',
      uid: `pod-${i}`,
      resourceVersion: '1',
      labels: { app: 'web' },
      ownerReferences: [{ kind: 'ReplicaSet', name: 'web-1', uid: 'rs', apiVersion: 'apps/v1' }],
    },
    spec: { nodeName: nodeName(onNode), containers: [{ name: 'web', image: 'nginx:1.27' }] },
    status: {
      phase: 'Running',
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'PodScheduled', status: 'True' },
      ],
      containerStatuses: [{ name: 'web', ready: true }],
    },
  };
}

/** Parses `limit`/`continue` the way the API server does: a bad value is a 400, never a guess. */
function pageOf(url: URL, total: number): { start: number; end: number } | string {
  const limitText = url.searchParams.get('limit');
  const token = url.searchParams.get('continue');
  const limit = limitText === null || limitText === '0' ? total : Number(limitText);
  if (!Number.isInteger(limit) || limit < 0) return `invalid limit: ${limitText}`;
  let start = 0;
  if (token) {
    const decoded = Number(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Number.isInteger(decoded) || decoded < 0 || decoded > total)
      return `invalid continue token: ${token}`;
    start = decoded;
  }
  return { start, end: Math.min(total, start + limit) };
}

/** Writes a list page item by item, so that no page is ever built whole in memory. */
async function writeList(
  res: ServerResponse,
  kind: string,
  start: number,
  end: number,
  total: number,
  item: (i: number) => object,
): Promise<void> {
  const more = end < total;
  const metadata = {
    resourceVersion: '1',
    ...(more
      ? {
          continue: Buffer.from(String(end)).toString('base64url'),
          remainingItemCount: total - end,
        }
      : {}),
  };
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write(`{"kind":"${kind}","apiVersion":"v1","metadata":${JSON.stringify(metadata)},"items":[`);
  for (let i = start; i < end; i++) {
    const chunk = (i > start ? ',' : '') + JSON.stringify(item(i));
    // Backpressure: a list without a limit (55 MB at 5,000 nodes) is streamed, not buffered.
    if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
  }
  res.end(']}');
}

function status(res: ServerResponse, code: number, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code }));
}

/** Starts the generator on 127.0.0.1 (port 0: any free one); returns its port and a stop function. */
export async function startGenerator(
  shape: GeneratorShape,
  port = 0,
): Promise<{ port: number; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/_bench/requests') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ requests }));
      return;
    }
    requests += 1;
    if (req.method !== 'GET')
      return status(res, 405, `${req.method} is not served by the bench's generator`);
    if (url.pathname === '/api/v1/nodes') {
      const page = pageOf(url, shape.nodes);
      if (typeof page === 'string') return status(res, 400, page);
      return writeList(res, 'NodeList', page.start, page.end, shape.nodes, (i) => node(i, shape));
    }
    if (url.pathname === '/api/v1/pods') {
      const selector = url.searchParams.get('fieldSelector');
      if (selector && !NON_TERMINATED.has(selector))
        return status(res, 400, `field selector not served by the bench's generator: ${selector}`);
      const total = shape.nodes * shape.podsPerNode;
      const page = pageOf(url, total);
      if (typeof page === 'string') return status(res, 400, page);
      return writeList(res, 'PodList', page.start, page.end, total, (i) => pod(i, shape));
    }
    if (url.pathname === '/apis/apps/v1/namespaces/kube-system/daemonsets/aws-node') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'DaemonSet',
          apiVersion: 'apps/v1',
          metadata: { name: 'aws-node', namespace: 'kube-system' },
          spec: {
            template: {
              spec: {
                containers: [
                  { name: 'aws-node', env: [{ name: 'ENABLE_PREFIX_DELEGATION', value: 'false' }] },
                ],
              },
            },
          },
        }),
      );
      return;
    }
    return status(res, 404, `${url.pathname} is not served by the bench's generator`);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => status(res, 500, (error as Error).message));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The command line: `--nodes N --pods-per-node P --groups a,b`. */
export function parseGeneratorArgs(argv: string[]): GeneratorShape {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const nodes = Number(value('--nodes'));
  const podsPerNode = Number(value('--pods-per-node') ?? 110);
  const groups = (value('--groups') ?? 'nodes').split(',').filter(Boolean);
  if (!Number.isInteger(nodes) || nodes < 1)
    throw new Error(`--nodes: expected a positive integer, got ${value('--nodes')}`);
  if (!Number.isInteger(podsPerNode) || podsPerNode < 0)
    throw new Error(
      `--pods-per-node: expected a non-negative integer, got ${value('--pods-per-node')}`,
    );
  if (groups.length === 0) throw new Error('--groups: expected at least one instance group name');
  return { nodes, podsPerNode, groups };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const generator = await startGenerator(parseGeneratorArgs(process.argv.slice(2)));
  process.stdout.write(`${JSON.stringify({ port: generator.port })}\n`);
}
