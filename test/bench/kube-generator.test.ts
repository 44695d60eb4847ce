import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGeneratorArgs, startGenerator } from '../../scripts/bench/kube-generator.js';

// The bench's paged API generator, started in this file on 127.0.0.1 and stopped by it.
let generator: Awaited<ReturnType<typeof startGenerator>>;
let base: string;

beforeAll(async () => {
  generator = await startGenerator({ nodes: 3, podsPerNode: 4, groups: ['a', 'b'] });
  base = `http://127.0.0.1:${generator.port}`;
});
afterAll(async () => generator?.close());

async function list(path: string): Promise<{
  items: Array<{
    metadata: { name: string; labels: Record<string, string> };
    spec: { nodeName?: string };
  }>;
  metadata: { continue?: string };
}> {
  const response = await fetch(`${base}${path}`);
  expect(response.status).toBe(200);
  return (await response.json()) as never;
}

describe('kube-generator', () => {
  it('serves every pod exactly once across pages of `limit`, following `continue`', async () => {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await list(`/api/v1/pods?limit=5${token ? `&continue=${token}` : ''}`);
      names.push(...page.items.map((p) => p.metadata.name));
      token = page.metadata.continue;
    } while (token);

    expect(names).toHaveLength(12);
    expect(new Set(names).size).toBe(12);
  });

  it('puts podsPerNode pods on each node and labels nodes with their groups in turn', async () => {
    const nodes = await list('/api/v1/nodes');
    const pods = await list(
      '/api/v1/pods?fieldSelector=status.phase!%3DSucceeded,status.phase!%3DFailed',
    );

    expect(nodes.items.map((n) => n.metadata.labels['kops.k8s.io/instancegroup'])).toEqual([
      'a',
      'b',
      'a',
    ]);
    expect(
      pods.items.filter((p) => p.spec.nodeName === nodes.items[1]!.metadata.name),
    ).toHaveLength(4);
  });

  it('refuses a field label it does not serve and a forged continue token with 400', async () => {
    expect((await fetch(`${base}/api/v1/pods?fieldSelector=metadata.uid%3Dx`)).status).toBe(400);
    expect((await fetch(`${base}/api/v1/pods?limit=5&continue=bm9wZQ`)).status).toBe(400);
  });

  it("selects one node's pods with spec.nodeName=, and none with an unknown node", async () => {
    const nodes = await list('/api/v1/nodes');
    const node = nodes.items[2]!.metadata.name;

    const on = await list(`/api/v1/pods?fieldSelector=spec.nodeName%3D${node}`);
    const unscheduled = await list(
      '/api/v1/pods?fieldSelector=spec.nodeName%3D,status.phase%3DPending',
    );

    expect(on.items.map((p) => p.spec.nodeName)).toEqual([node, node, node, node]);
    expect(unscheduled.items).toHaveLength(0);
  });

  it('serves pods shaped as the kubelet reports them, at least 4 KB each on average', async () => {
    const response = await fetch(`${base}/api/v1/pods`);
    const text = await response.text();
    const pods = (JSON.parse(text) as { items: Array<Record<string, any>> }).items;

    expect(text.length / pods.length).toBeGreaterThan(4096);
    expect(pods[0]!.spec.containers[0].env.length).toBeGreaterThan(3);
    expect(pods[0]!.spec.containers[0].livenessProbe).toBeDefined();
    expect(pods[0]!.status.conditions.map((c: { type: string }) => c.type)).toContain('Ready');
  });

  it('prints pods as a Table without objects, and as metadata only, when the Accept header asks', async () => {
    const table = (await (
      await fetch(`${base}/api/v1/pods?includeObject=None`, {
        headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' },
      })
    ).json()) as { kind: string; rows: Array<{ cells: string[]; object: unknown }> };
    const metadata = (await (
      await fetch(`${base}/api/v1/pods`, {
        headers: { accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' },
      })
    ).json()) as { kind: string; items: Array<{ kind: string; spec?: unknown }> };

    expect(table.kind).toBe('Table');
    expect(table.rows).toHaveLength(12);
    expect(table.rows.every((r) => r.object === null)).toBe(true);
    expect(metadata.kind).toBe('PartialObjectMetadataList');
    expect(metadata.items.every((i) => i.kind === 'PartialObjectMetadata' && !i.spec)).toBe(true);
  });

  it('counts API requests, not its own counter reads', async () => {
    const before = generator.requests();

    await fetch(`${base}/api/v1/nodes`);
    const counted = (await (await fetch(`${base}/_bench/requests`)).json()) as { requests: number };

    expect(counted.requests).toBe(before + 1);
  });
});

describe('parseGeneratorArgs', () => {
  it('refuses a missing node count, naming the flag', () => {
    expect(() => parseGeneratorArgs(['--groups', 'a'])).toThrow(/--nodes/);
  });
});
