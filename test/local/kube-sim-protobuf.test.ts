import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimCluster } from '../../src/local/kube-sim/cluster.js';
import { decodeKubernetesProtobuf, ProtobufBodyError } from '../../src/local/kube-sim/protobuf.js';
import { handle, listen } from '../../src/local/kube-sim/server.js';
import { kubectlIn } from '../support/cluster.js';

// Bodies captured from the real kubectl: a server on 127.0.0.1 answers discovery as the
// simulated one does, but keeps each protobuf body it is sent and refuses it, so nothing is created.
const captured: Array<{ path: string; accept: string | undefined; body: Buffer }> = [];
let server: Server;
const dir = mkdtempSync(join(tmpdir(), 'kopsless-kube-sim-protobuf-'));
const kubeconfig = join(dir, 'config');

async function capture(
  ...args: string[]
): Promise<{ path: string; accept: string | undefined; body: Buffer }> {
  const before = captured.length;
  await kubectlIn(kubeconfig, args).catch(() => undefined);
  expect(captured.length).toBe(before + 1);
  return captured[before]!;
}

beforeAll(async () => {
  const cluster = new SimCluster('c', 'v1.32.0');
  server = createServer(async (req, res) => {
    if (!/protobuf/.test(req.headers['content-type'] ?? ''))
      return void handle({ cluster: async () => cluster }, req, res);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    captured.push({ path: req.url ?? '', accept: req.headers.accept, body: Buffer.concat(chunks) });
    res.writeHead(409, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Conflict',
        code: 409,
        message: 'captured',
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}/clusters/c"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`,
  );
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

// The envelope, as a test-side reader and writer (field numbers of apimachinery's runtime.Unknown).
const envelope = protobuf
  .parse(
    'syntax = "proto2"; message TypeMeta { optional string apiVersion = 1; optional string kind = 2; } message Unknown { optional TypeMeta typeMeta = 1; optional bytes raw = 2; optional string contentEncoding = 3; optional string contentType = 4; }',
  )
  .root.lookupType('Unknown');
const MAGIC = Buffer.from('k8s\0', 'latin1');

function rewrap(
  body: Buffer,
  change: (u: { typeMeta: { apiVersion: string; kind: string }; raw: Uint8Array }) => void,
): Buffer {
  const u = envelope.toObject(envelope.decode(body.subarray(4))) as {
    typeMeta: { apiVersion: string; kind: string };
    raw: Uint8Array;
  };
  change(u);
  return Buffer.concat([MAGIC, envelope.encode(envelope.fromObject(u)).finish()]);
}

describe('protobuf bodies kubectl sends', () => {
  it('kubectl create deployment sends protobuf and accepts a JSON answer', async () => {
    const { path, accept, body } = await capture(
      'create',
      'deployment',
      'web',
      '--image=nginx',
      '--replicas=3',
    );

    expect(path).toMatch(/^\/clusters\/c\/apis\/apps\/v1\/namespaces\/default\/deployments\?/);
    expect(accept?.split(',')).toContain('application/json');
    expect(body.subarray(0, 4)).toEqual(MAGIC);
  });

  it('decodes a captured kubectl create deployment body to the object kubectl would send as JSON', async () => {
    const { body } = await capture(
      'create',
      'deployment',
      'web',
      '--image=nginx:1.27',
      '--replicas=3',
      '--port=80',
    );

    const object = decodeKubernetesProtobuf(body);

    expect(object).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              { name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80 }], resources: {} },
            ],
          },
        },
        strategy: {},
      },
      status: {},
    });
  });

  it('decodes a captured kubectl create pdb body, with an IntOrString as a number', async () => {
    const { body } = await capture(
      'create',
      'pdb',
      'web',
      '--selector=app=web',
      '--max-unavailable=1',
    );

    const object = decodeKubernetesProtobuf(body);

    expect(object).toMatchObject({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'web' },
      spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } },
    });
    expect(object.spec.minAvailable).toBeUndefined();
  });

  it('decodes a Pod: the pod template kubectl encoded in a captured Deployment, which is wire-compatible with a Pod', async () => {
    const { body } = await capture('create', 'deployment', 'web', '--image=nginx');
    // Deployment.spec = 2, DeploymentSpec.template = 3; PodTemplateSpec and Pod share metadata = 1, spec = 2.
    const outer = protobuf
      .parse(
        'syntax = "proto2"; message D { optional S spec = 2; } message S { optional bytes template = 3; }',
      )
      .root.lookupType('D');
    const pod = rewrap(body, (u) => {
      u.typeMeta = { apiVersion: 'v1', kind: 'Pod' };
      u.raw = (outer.decode(u.raw) as unknown as { spec: { template: Uint8Array } }).spec.template;
    });

    const object = decodeKubernetesProtobuf(pod);

    expect(object).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx', resources: {} }] },
    });
  });

  it('refuses a kind it does not read from protobuf, saying to use kubectl apply -f', async () => {
    const { body } = await capture('create', 'deployment', 'web', '--image=nginx');
    const service = rewrap(body, (u) => (u.typeMeta = { apiVersion: 'v1', kind: 'Service' }));

    expect(() => decodeKubernetesProtobuf(service)).toThrow(
      /reads v1\/Service as JSON only, not protobuf: .*`kubectl apply -f`/,
    );
  });

  it('refuses a field it does not declare instead of dropping it', async () => {
    const { body } = await capture('create', 'deployment', 'web', '--image=nginx');
    // spec (2) { template (3) { spec (2) { field 99 = 1 } } } appended to the Deployment: protobuf
    // merges a repeated embedded message into the one already there.
    const extra = rewrap(
      body,
      (u) =>
        (u.raw = Buffer.concat([
          u.raw,
          Buffer.from([0x12, 0x07, 0x1a, 0x05, 0x12, 0x03, 0x98, 0x06, 0x01]),
        ])),
    );

    expect(() => decodeKubernetesProtobuf(extra)).toThrow(
      /does not read \(Deployment\.spec\.template\.spec#99;/,
    );
  });

  it('refuses a body without the Kubernetes magic as malformed', () => {
    const error = (() => {
      try {
        decodeKubernetesProtobuf(Buffer.from('{"kind":"Deployment"}'));
      } catch (e) {
        return e;
      }
    })();

    expect(error).toBeInstanceOf(ProtobufBodyError);
    expect(error).toMatchObject({ malformed: true, message: expect.stringContaining('magic') });
  });

  it('the simulated API answers 415 to a protobuf kind it does not read, and creates nothing', async () => {
    const { body } = await capture('create', 'deployment', 'web', '--image=nginx');
    const cluster = new SimCluster('c', 'v1.32.0');
    const sim = await listen({ cluster: async () => cluster });
    try {
      const res = await fetch(`${sim.urlFor('c')}/apis/apps/v1/namespaces/default/deployments`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/vnd.kubernetes.protobuf',
          Accept: 'application/json',
        },
        body: rewrap(body, (u) => (u.typeMeta = { apiVersion: 'apps/v1', kind: 'StatefulSet' })),
      });

      expect(res.status).toBe(415);
      expect(((await res.json()) as { message: string }).message).toContain('`kubectl apply -f`');
      expect([...cluster.deployments.keys()].filter((k) => k.startsWith('default/'))).toEqual([]);
    } finally {
      await sim.close();
    }
  });

  it('the simulated API answers 400 to a protobuf body without the magic', async () => {
    const cluster = new SimCluster('c', 'v1.32.0');
    const sim = await listen({ cluster: async () => cluster });
    try {
      const res = await fetch(`${sim.urlFor('c')}/apis/apps/v1/namespaces/default/deployments`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf' },
        body: '{"kind":"Deployment"}',
      });

      expect(res.status).toBe(400);
      expect([...cluster.deployments.keys()].filter((k) => k.startsWith('default/'))).toEqual([]);
    } finally {
      await sim.close();
    }
  });
});
