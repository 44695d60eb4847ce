import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  countPodSlots,
  kubePort,
  SLOT_HOLDING_PODS,
  UNSCHEDULED_PODS,
} from '../../src/kube/port.js';
import { registeredKubeConfig } from '../support/kubeconfig.js';

// The port's page folds against a tiny API server on 127.0.0.1 that serves pods in pages of
// `limit` and can expire a continue token once (410 Gone), as an API server does after compaction.
let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

const pod = (i: number, node?: string, phase = 'Running') => ({
  metadata: { name: `p${i}`, namespace: 'default' },
  spec: node ? { nodeName: node } : {},
  status: {
    phase,
    ...(node
      ? {}
      : {
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              message: '0/2 nodes are available: 2 Too many pods.',
            },
          ],
        }),
  },
});
const PODS = [
  ...Array.from({ length: 7 }, (_, i) => pod(i, `n${i % 2}`)),
  pod(7, undefined, 'Pending'),
  pod(8, undefined, 'Pending'),
];

type Pod = ReturnType<typeof pod>;

/** The two field selectors the slot count sends, as the API server applies them. */
const SELECTED: Record<string, (p: Pod) => boolean> = {
  [SLOT_HOLDING_PODS]: (p) =>
    !!p.spec.nodeName && !['Succeeded', 'Failed'].includes(p.status.phase),
  [UNSCHEDULED_PODS]: (p) => !p.spec.nodeName && p.status.phase === 'Pending',
};

/** A pod list page as the API server prints it with `includeObject=None`. */
function table(items: Pod[], next: string | undefined) {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: next ? { continue: next } : {},
    columnDefinitions: ['Name', 'Ready', 'Status', 'Node'].map((name) => ({
      name,
      type: 'string',
    })),
    rows: items.map((p) => ({
      cells: [p.metadata.name, '1/1', p.status.phase, p.spec.nodeName ?? '<none>'],
      object: null,
    })),
  };
}

async function serve(expireOnce: boolean): Promise<{
  url: string;
  requests: URLSearchParams[];
  accepts: string[];
}> {
  const requests: URLSearchParams[] = [];
  const accepts: string[] = [];
  let expired = false;
  server = createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams;
    requests.push(query);
    accepts.push(req.headers.accept ?? '');
    res.setHeader('Content-Type', 'application/json');
    const from = Number(query.get('continue') ?? 0);
    if (expireOnce && from > 0 && !expired) {
      expired = true;
      res.writeHead(410);
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'Expired',
          code: 410,
          message: 'The provided continue parameter is too old',
        }),
      );
      return;
    }
    const selector = query.get('fieldSelector');
    const selected = selector ? PODS.filter(SELECTED[selector] ?? (() => false)) : PODS;
    const limit = Number(query.get('limit') ?? selected.length);
    const items = selected.slice(from, from + limit);
    const next = from + limit < selected.length ? String(from + limit) : undefined;
    if (/as=Table/.test(req.headers.accept ?? '')) {
      res.end(JSON.stringify(table(items, next)));
      return;
    }
    res.end(
      JSON.stringify({
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: next ? { continue: next } : {},
        items,
      }),
    );
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, requests, accepts };
}

describe('Kubernetes port: page folds', () => {
  it('hands the fold one page at a time, each no larger than the page size', async () => {
    const { url, requests } = await serve(false);
    const kube = kubePort(registeredKubeConfig('fold', url), { pageSize: 2 });
    const sizes: number[] = [];

    const total = await kube.foldPods(
      {},
      () => 0,
      (n, page) => (sizes.push(page.length), n + page.length),
    );

    expect(total).toBe(PODS.length);
    expect(sizes).toEqual([2, 2, 2, 2, 1]);
    expect(requests.every((q) => q.get('limit') === '2')).toBe(true);
  });

  it('counts pods per node from Table rows and the pods Pending for want of slots from unscheduled pods', async () => {
    const { url, requests, accepts } = await serve(false);
    const kube = kubePort(registeredKubeConfig('fold', url), { pageSize: 3 });

    const counts = await countPodSlots(kube);

    expect(Object.fromEntries(counts.byNode)).toEqual({ n0: 4, n1: 3 });
    expect(counts.pendingTooManyPods).toBe(2);
    const rowRequests = requests.filter((q) => q.get('fieldSelector') === SLOT_HOLDING_PODS);
    expect(rowRequests).toHaveLength(3);
    expect(rowRequests.every((q) => q.get('includeObject') === 'None')).toBe(true);
    expect(requests.filter((q) => q.get('fieldSelector') === UNSCHEDULED_PODS)).toHaveLength(1);
    expect(accepts.filter((a) => a.includes('as=Table'))).toHaveLength(3);
  });

  it('refuses a server that answers the Table request with a plain list, rather than counting nothing', async () => {
    const { url } = await serve(false);
    const kube = kubePort(registeredKubeConfig('fold', url), { pageSize: 3 });
    server!.removeAllListeners('request');
    server!.on('request', (_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: PODS }));
    });

    await expect(
      kube.foldPodRows(
        { fieldSelector: SLOT_HOLDING_PODS },
        () => 0,
        (n, rows) => n + rows.length,
      ),
    ).rejects.toThrow(/server-side printing is required/);
  });

  it('starts over in pages with a fresh accumulator when a continue token expires (410), never unpaged', async () => {
    const { url, requests } = await serve(true);
    const kube = kubePort(registeredKubeConfig('fold', url), { pageSize: 4 });
    let fresh = 0;

    const counts = await kube.foldPods(
      {},
      () => (fresh++, { seen: 0 }),
      (acc, page) => ({ seen: acc.seen + page.length }),
    );

    expect(fresh).toBe(2);
    expect(counts.seen).toBe(PODS.length);
    expect(requests.every((q) => q.get('limit') === '4')).toBe(true);
  });
});
