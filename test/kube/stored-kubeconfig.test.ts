import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { StoredKubeconfigError } from '../../src/errors.js';
import { kubeconfigKey, kubeForCluster, trustedServers } from '../../src/kube/from-store.js';
import { storedKubeConfig } from '../../src/kube/stored-kubeconfig.js';
import { apiLoadBalancerName } from '../../src/planning/stack-nlb.js';
import { memoryObjects } from '../support/memory-objects.js';

const CLUSTER = 'prod.example.com';
const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n').toString(
  'base64',
);

/** kubeadm's admin.conf as the control plane stores it, its server rewritten to the internal name. */
function adminConf(
  edit: {
    cluster?: Record<string, unknown>;
    user?: Record<string, unknown>;
    top?: Record<string, unknown>;
  } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'kubernetes',
        cluster: {
          server: `https://api.internal.${CLUSTER}:443`,
          'certificate-authority-data': CA,
          ...edit.cluster,
        },
      },
    ],
    users: [
      {
        name: 'kubernetes-admin',
        user: { 'client-certificate-data': 'Y2VydA==', 'client-key-data': 'a2V5', ...edit.user },
      },
    ],
    contexts: [
      {
        name: 'kubernetes-admin@kubernetes',
        context: { cluster: 'kubernetes', user: 'kubernetes-admin' },
      },
    ],
    'current-context': 'kubernetes-admin@kubernetes',
    preferences: {},
    ...edit.top,
  };
}

let dir: string;
let marker: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kopsless-kubeconfig-'));
  marker = join(dir, 'ran');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** An exec plugin that leaves the marker file behind when it runs. */
function execMarker(): Record<string, unknown> {
  return {
    exec: {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: '/bin/sh',
      args: [
        '-c',
        `touch ${marker}; echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"x"}}'`,
      ],
      interactiveMode: 'Never',
    },
  };
}

async function storedPort(doc: Record<string, unknown>) {
  const objects = memoryObjects();
  await objects.put(kubeconfigKey(CLUSTER), stringify(doc));
  return kubeForCluster(objects, CLUSTER);
}

describe('stored kubeconfig: credentials as data only', () => {
  it('runs an exec plugin when given to the client as it is (the marker works)', async () => {
    const raw = new KubeConfig();
    raw.loadFromString(
      stringify(adminConf({ cluster: { server: 'https://127.0.0.1:9' }, user: execMarker() })),
    );

    await raw
      .makeApiClient(CoreV1Api)
      .listNode()
      .catch(() => undefined);

    expect(existsSync(marker)).toBe(true);
  });

  it('refuses users[0].user.exec before any request, and the command never runs', async () => {
    const attempt = storedPort(adminConf({ user: execMarker() }));

    await expect(attempt).rejects.toThrow(
      'users[0].user.exec: a stored kubeconfig must hold credentials as data; commands are never run',
    );
    await expect(attempt).rejects.toBeInstanceOf(StoredKubeconfigError);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses an auth-provider plugin, naming the field', async () => {
    const doc = adminConf({
      user: {
        'auth-provider': {
          name: 'gcp',
          config: { 'cmd-path': '/bin/sh', 'cmd-args': `-c "touch ${marker}"` },
        },
      },
    });

    await expect(storedPort(doc)).rejects.toThrow(/users\[0\]\.user\.auth-provider: /);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses a tokenFile, naming the field', async () => {
    const doc = adminConf({ user: { tokenFile: '/var/run/secrets/token' } });

    await expect(storedPort(doc)).rejects.toThrow(
      'users[0].user.tokenFile: a stored kubeconfig must hold the token as data; files are never read',
    );
  });

  it.each([
    ['users[0].user.client-certificate', { user: { 'client-certificate': '/etc/passwd' } }],
    ['users[0].user.client-key', { user: { 'client-key': '/proc/self/environ' } }],
    [
      'clusters[0].cluster.certificate-authority',
      { cluster: { 'certificate-authority': '/etc/ca' } },
    ],
    ['clusters[0].cluster.proxy-url', { cluster: { 'proxy-url': 'http://203.0.113.9:3128' } }],
  ])('refuses the file or proxy field %s', async (field, edit) => {
    await expect(storedPort(adminConf(edit))).rejects.toThrow(`${field}: `);
  });

  it('refuses a field it does not know, naming it', async () => {
    const doc = adminConf({ user: { 'as-user-extra': { x: ['y'] } } });

    await expect(storedPort(doc)).rejects.toThrow(
      'users[0].user.as-user-extra: not allowed in a stored kubeconfig',
    );
  });

  it.each([
    ['another cluster', `https://api.internal.other.example.com`],
    ['the public API name', `https://api.${CLUSTER}`],
    ['an address', 'https://198.51.100.7'],
    ['plain HTTP', `http://api.internal.${CLUSTER}`],
    ['another port', `https://api.internal.${CLUSTER}:8443`],
    ['a look-alike host', `https://api.internal.${CLUSTER}.evil.example.net`],
    ['a loopback address nobody registered', 'http://127.0.0.1:8080/clusters/prod.example.com'],
  ])('refuses a server of %s', async (_, server) => {
    await expect(storedPort(adminConf({ cluster: { server } }))).rejects.toThrow(
      /clusters\[0\]\.cluster\.server: .* is not this cluster's API/,
    );
  });

  it('refuses the cluster own server without the CA to verify it', async () => {
    const doc = adminConf();
    delete (doc.clusters as Array<{ cluster: Record<string, unknown> }>)[0]!.cluster[
      'certificate-authority-data'
    ];

    await expect(storedPort(doc)).rejects.toThrow(/certificate-authority-data is required/);
  });

  it('refuses to skip TLS verification on the cluster own server', async () => {
    const doc = adminConf({ cluster: { 'insecure-skip-tls-verify': true } });

    await expect(storedPort(doc)).rejects.toThrow(/insecure-skip-tls-verify is refused/);
  });

  it('accepts kubeadm admin.conf on api.internal.<cluster> and keeps only its data', () => {
    const config = storedKubeConfig(CLUSTER, stringify(adminConf()), trustedServers(CLUSTER));

    expect(config.getCurrentCluster()).toMatchObject({
      server: `https://api.internal.${CLUSTER}:443`,
      caData: CA,
      skipTLSVerify: false,
    });
    expect(config.getCurrentUser()).toEqual({
      name: 'kubernetes-admin',
      certData: 'Y2VydA==',
      keyData: 'a2V5',
    });
  });

  it("accepts the cluster's own API load balancer name (DNS None), and not another cluster's", () => {
    const own = `${apiLoadBalancerName(CLUSTER)}-0123456789abcdef.elb.us-east-1.amazonaws.com`;
    const other = `${apiLoadBalancerName('other.example.com')}-0123456789abcdef.elb.us-east-1.amazonaws.com`;
    const withServer = (host: string) =>
      stringify(adminConf({ cluster: { server: `https://${host}:443` } }));

    const config = storedKubeConfig(CLUSTER, withServer(own), trustedServers(CLUSTER));

    expect(config.getCurrentCluster()?.server).toBe(`https://${own}:443`);
    expect(() => storedKubeConfig(CLUSTER, withServer(other), trustedServers(CLUSTER))).toThrow(
      /is not this cluster's API/,
    );
    expect(() =>
      storedKubeConfig(CLUSTER, withServer(`${own}.attacker.example`), trustedServers(CLUSTER)),
    ).toThrow(/is not this cluster's API/);
  });

  it('accepts the plain-HTTP server the local backend registered for the cluster, and only it', () => {
    const local = 'http://127.0.0.1:40000';
    const doc = adminConf({
      cluster: { server: `${local}/clusters/${CLUSTER}`, 'certificate-authority-data': undefined },
      user: { token: 'local' },
    });

    const config = storedKubeConfig(
      CLUSTER,
      stringify(doc),
      trustedServers(CLUSTER, { localKubeApi: local }),
    );

    expect(config.getCurrentCluster()?.server).toBe(`${local}/clusters/${CLUSTER}`);
    expect(() =>
      storedKubeConfig(
        CLUSTER,
        stringify(doc),
        trustedServers(CLUSTER, { localKubeApi: 'http://127.0.0.1:40001' }),
      ),
    ).toThrow(StoredKubeconfigError);
  });

  it('refuses a document that is not YAML', async () => {
    const objects = memoryObjects();
    await objects.put(kubeconfigKey(CLUSTER), 'clusters: [unclosed');

    await expect(kubeForCluster(objects, CLUSTER)).rejects.toThrow(/not YAML/);
  });
});
