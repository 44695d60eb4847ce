import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  hexOf,
  kubeletPod,
  type PodPlacement,
  placement,
  podMetadata,
  uidOf,
} from './kubelet-pod.js';

/**
 * A Kubernetes API stand-in for the watcher bench: serves `/api/v1/nodes` and `/api/v1/pods`
 * of a cluster of `--nodes` nodes with `--pods-per-node` Running pods each, pods shaped as the
 * kubelet reports them (kubelet-pod.ts), paged with `limit` and `continue`, filtered by field
 * selectors on `spec.nodeName` and `status.phase`, and in the three representations the API
 * server offers: the objects, metadata only (`as=PartialObjectMetadataList`) and server-side
 * printing (`as=Table`, `includeObject=None|Metadata|Object`). Every item is generated from its
 * index when it is written: it never holds the list (550,000 pods at 5,000 nodes), so its own
 * memory stays flat and the peak the bench reports is the watcher's. Started by the bench as a
 * child process on 127.0.0.1 and stopped by PID; prints `{"port":N}` on stdout once it listens.
 * `GET /_bench/requests` answers the count of API requests and the bytes of their bodies so far
 * (that request itself is not counted).
 *
 * Usage: tsx kube-generator.ts --nodes N --pods-per-node P --groups a,b,...
 */

export interface GeneratorShape {
  nodes: number;
  podsPerNode: number;
  /** Instance group names; node i belongs to groups[i % groups.length]. */
  groups: string[];
}

const nodeName = (i: number) => `i-${(0x1000000 + i).toString(16).padStart(17, '0')}`;

/** A node as the kubelet registers and reports it (a few of its cached images, as in `status.images`). */
function node(i: number, shape: GeneratorShape): object {
  const name = nodeName(i);
  const group = shape.groups[i % shape.groups.length] ?? 'nodes';
  const ip = `10.${20 + ((i >> 16) & 0x3f)}.${(i >> 8) & 255}.${i & 255}`;
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    lastHeartbeatTime: '2026-11-25T11:59:40Z',
    lastTransitionTime: '2026-11-20T08:10:12Z',
    reason,
    message,
  });
  return {
    metadata: {
      name,
      uid: uidOf(10_000_000 + i),
      resourceVersion: String(500_000 + i),
      creationTimestamp: '2026-11-20T08:09:41Z',
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/instance-type': 'm5.2xlarge',
        'beta.kubernetes.io/os': 'linux',
        'kops.k8s.io/instancegroup': group,
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'node-role.kubernetes.io/node': '',
        'node.kubernetes.io/instance-type': 'm5.2xlarge',
        'topology.kubernetes.io/region': 'us-east-1',
        'topology.kubernetes.io/zone': 'us-east-1a',
      },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: { providerID: `aws:///us-east-1a/${name}` },
    status: {
      capacity: {
        cpu: '8',
        'ephemeral-storage': '125753328Ki',
        memory: '32386540Ki',
        pods: String(shape.podsPerNode),
      },
      allocatable: {
        cpu: '8',
        'ephemeral-storage': '115894266893',
        memory: '32284140Ki',
        pods: String(shape.podsPerNode),
      },
      conditions: [
        condition(
          'MemoryPressure',
          'False',
          'KubeletHasSufficientMemory',
          'kubelet has sufficient memory available',
        ),
        condition(
          'DiskPressure',
          'False',
          'KubeletHasNoDiskPressure',
          'kubelet has no disk pressure',
        ),
        condition(
          'PIDPressure',
          'False',
          'KubeletHasSufficientPID',
          'kubelet has sufficient PID available',
        ),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: ip },
        { type: 'Hostname', address: name },
        { type: 'InternalDNS', address: `ip-${ip.replaceAll('.', '-')}.ec2.internal` },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: hexOf(i, 32),
        systemUUID: uidOf(i),
        bootID: uidOf(i + 1),
        kernelVersion: '6.8.0-1019-aws',
        osImage: 'Ubuntu 24.04.1 LTS',
        containerRuntimeVersion: 'containerd://1.7.24',
        kubeletVersion: 'v1.32.0',
        kubeProxyVersion: 'v1.32.0',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      images: NODE_IMAGES,
    },
  };
}

const NODE_IMAGES = [
  'registry.k8s.io/kube-proxy:v1.32.0',
  '602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.19.0',
  'public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4',
  'registry.k8s.io/pause:3.10',
].map((image, k) => ({
  names: [`${image.split(':')[0]}@sha256:${hexOf(k, 64)}`, image],
  sizeBytes: 20_000_000 + k * 7_000_000,
}));

/**
 * The pods a field selector picks: the selector's terms on `spec.nodeName` and `status.phase`
 * (the only ones the bench's pods vary in) are checked per node, as every generated pod is
 * Running; any other field label is refused as the API server refuses one it does not know.
 */
function selectedNodes(selector: string | null, shape: GeneratorShape): number[] | string {
  const terms = (selector ?? '').split(',').filter(Boolean);
  const checks: Array<(node: string, phase: string) => boolean> = [];
  for (const term of terms) {
    const m = /^([^!=]+?)(!=|==|=)(.*)$/.exec(term);
    if (!m) return `invalid selector: '${selector}'`;
    const [, field, op, value] = m;
    if (field !== 'spec.nodeName' && field !== 'status.phase')
      return `field label not supported: ${field}`;
    const equal = op !== '!=';
    checks.push((node, phase) => ((field === 'spec.nodeName' ? node : phase) === value) === equal);
  }
  const pinned = /(?:^|,)spec\.nodeName==?([^,]+)/.exec(selector ?? '')?.[1];
  const candidates = pinned?.startsWith('i-')
    ? [Number.parseInt(pinned.slice(2), 16) - 0x1000000].filter((n) => n >= 0 && n < shape.nodes)
    : Array.from({ length: shape.nodes }, (_, n) => n);
  return candidates.filter((n) => checks.every((check) => check(nodeName(n), 'Running')));
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

/** The representation an `Accept` header asks for: the first of its alternatives served here. */
export type View = 'object' | 'metadata' | 'table';

export function viewOf(accept: string | undefined): View {
  for (const alternative of (accept ?? '').split(',')) {
    if (/as=Table/.test(alternative) && /g=meta\.k8s\.io/.test(alternative)) return 'table';
    if (/as=PartialObjectMetadataList/.test(alternative) && /g=meta\.k8s\.io/.test(alternative))
      return 'metadata';
    const type = alternative.split(';')[0]!.trim();
    if (type === 'application/json' || type === '*/*' || type === '') return 'object';
  }
  return 'object';
}

/** Seconds between a pod's creation and the bench's "now", printed as kubectl's Age column does. */
const AGE = '5d3h';

/** The pod columns the API server prints (kubectl get pods -o wide), with their descriptions. */
const POD_COLUMNS = [
  ['Name', 'string', 0, 'name', 'Name must be unique within a namespace.'],
  ['Ready', 'string', 0, '', 'The aggregate readiness state of this pod for accepting traffic.'],
  ['Status', 'string', 0, '', 'The aggregate status of the containers in this pod.'],
  [
    'Restarts',
    'string',
    0,
    '',
    'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
  ],
  [
    'Age',
    'string',
    0,
    '',
    'CreationTimestamp is a timestamp representing the server time when this object was created.',
  ],
  [
    'IP',
    'string',
    1,
    '',
    'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
  ],
  ['Node', 'string', 1, '', 'NodeName is a request to schedule this pod onto a specific node.'],
  [
    'Nominated Node',
    'string',
    1,
    '',
    'nominatedNodeName is set only when this pod preempts other pods on the node.',
  ],
  [
    'Readiness Gates',
    'string',
    1,
    '',
    'If specified, all readiness gates will be evaluated for pod readiness.',
  ],
].map(([name, type, priority, format, description]) => ({
  name,
  type,
  format,
  description,
  priority,
}));

type IncludeObject = 'None' | 'Metadata' | 'Object';

function podRow(p: PodPlacement, include: IncludeObject): object {
  return {
    cells: [
      p.name,
      `${p.containers}/${p.containers}`,
      'Running',
      '0',
      AGE,
      p.podIP,
      p.nodeName,
      '<none>',
      '<none>',
    ],
    object:
      include === 'None'
        ? null
        : include === 'Object'
          ? kubeletPod(p)
          : {
              kind: 'PartialObjectMetadata',
              apiVersion: 'meta.k8s.io/v1',
              metadata: podMetadata(p),
            },
  };
}

/** Writes a list page item by item, so that no page is ever built whole in memory; returns the bytes written. */
async function writeList(
  res: ServerResponse,
  head: object,
  itemsField: 'items' | 'rows',
  start: number,
  end: number,
  total: number,
  item: (i: number) => object,
  selected = false,
): Promise<number> {
  const more = end < total;
  // The API server counts the rest only for a list without selectors.
  const metadata = {
    resourceVersion: '1',
    ...(more ? { continue: Buffer.from(String(end)).toString('base64url') } : {}),
    ...(more && !selected ? { remainingItemCount: total - end } : {}),
  };
  let bytes = 0;
  const write = (chunk: string) => {
    bytes += Buffer.byteLength(chunk);
    return res.write(chunk);
  };
  res.writeHead(200, { 'content-type': 'application/json' });
  write(`${JSON.stringify({ ...head, metadata }).slice(0, -1)},"${itemsField}":[`);
  for (let i = start; i < end; i++) {
    // Backpressure: a list without a limit (gigabytes at 5,000 nodes) is streamed, not buffered.
    if (!write((i > start ? ',' : '') + JSON.stringify(item(i))))
      await new Promise((resolve) => res.once('drain', resolve));
  }
  bytes += 2;
  res.end(']}');
  return bytes;
}

function status(res: ServerResponse, code: number, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code }));
}

/** Starts the generator on 127.0.0.1 (port 0: any free one); returns its port and a stop function. */
export async function startGenerator(
  shape: GeneratorShape,
  port = 0,
): Promise<{
  port: number;
  requests: () => number;
  bytes: () => number;
  close: () => Promise<void>;
}> {
  let requests = 0;
  let bytes = 0;
  const send = (res: ServerResponse, body: object) => {
    const text = JSON.stringify(body);
    bytes += Buffer.byteLength(text);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(text);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/_bench/requests') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ requests, bytes }));
      return;
    }
    requests += 1;
    if (req.method !== 'GET')
      return status(res, 405, `${req.method} is not served by the bench's generator`);
    const view = viewOf(req.headers.accept);
    if (url.pathname === '/api/v1/nodes') {
      if (view !== 'object')
        return status(res, 406, `only the objects are served for nodes by the bench's generator`);
      const page = pageOf(url, shape.nodes);
      if (typeof page === 'string') return status(res, 400, page);
      bytes += await writeList(
        res,
        { kind: 'NodeList', apiVersion: 'v1' },
        'items',
        page.start,
        page.end,
        shape.nodes,
        (i) => ({ kind: 'Node', apiVersion: 'v1', ...node(i, shape) }),
      );
      return;
    }
    if (url.pathname === '/api/v1/pods') {
      const nodes = selectedNodes(url.searchParams.get('fieldSelector'), shape);
      if (typeof nodes === 'string') return status(res, 400, nodes);
      const include = url.searchParams.get('includeObject') ?? 'Metadata';
      if (include !== 'None' && include !== 'Metadata' && include !== 'Object')
        return status(res, 400, `includeObject: Unsupported value: "${include}"`);
      const total = nodes.length * shape.podsPerNode;
      const page = pageOf(url, total);
      if (typeof page === 'string') return status(res, 400, page);
      const at = (k: number): PodPlacement => {
        const n = nodes[Math.floor(k / shape.podsPerNode)]!;
        return placement(n * shape.podsPerNode + (k % shape.podsPerNode), nodeName(n), n);
      };
      const [head, field, item] =
        view === 'table'
          ? ([
              { kind: 'Table', apiVersion: 'meta.k8s.io/v1', columnDefinitions: POD_COLUMNS },
              'rows',
              (k: number) => podRow(at(k), include),
            ] as const)
          : view === 'metadata'
            ? ([
                { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1' },
                'items',
                (k: number) => ({
                  kind: 'PartialObjectMetadata',
                  apiVersion: 'meta.k8s.io/v1',
                  metadata: podMetadata(at(k)),
                }),
              ] as const)
            : ([
                { kind: 'PodList', apiVersion: 'v1' },
                'items',
                (k: number) => kubeletPod(at(k)),
              ] as const);
      bytes += await writeList(
        res,
        head,
        field,
        page.start,
        page.end,
        total,
        item,
        url.searchParams.has('fieldSelector'),
      );
      return;
    }
    if (url.pathname === '/apis/apps/v1/namespaces/kube-system/daemonsets/aws-node') {
      send(res, {
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
      });
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
    bytes: () => bytes,
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
