import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { CliContext } from '../../src/cli/context.js';
import { runExportKubeconfig } from '../../src/cli/export-kubeconfig.js';
import { kubeconfigKey } from '../../src/kube/from-store.js';

// `export kubeconfig` merges into the user's file, which kubectl reads as YAML 1.1.
const CLUSTER = 'a.example.com';
const stored = stringify({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [{ name: CLUSTER, cluster: { server: `https://api.${CLUSTER}` } }],
  users: [{ name: CLUSTER, user: { token: 'admin-token' } }],
  contexts: [{ name: CLUSTER, context: { cluster: CLUSTER, user: CLUSTER } }],
});
const context = {
  store: { exists: async (name: string) => name === CLUSTER },
  objects: {
    get: async (key: string) => (key === kubeconfigKey(CLUSTER) ? { body: stored } : undefined),
  },
} as unknown as CliContext;
const io = { out: () => {}, err: () => {} };

describe('export kubeconfig into an existing file', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('keeps a namespace "no" a string that kubectl reads, and the file private', async () => {
    dir = mkdtempSync(join(tmpdir(), 'kopsless-export-'));
    const path = join(dir, 'config');
    writeFileSync(
      path,
      `apiVersion: v1
kind: Config
clusters:
  - name: b.example.com
    cluster: { server: "https://api.b.example.com" }
users:
  - name: b.example.com
    user: { token: token-b }
contexts:
  - name: b.example.com
    context: { cluster: b.example.com, user: b.example.com, namespace: "no" }
`,
    );

    const code = await runExportKubeconfig(CLUSTER, { admin: true, kubeconfig: path }, context, io);

    expect(code).toBe(0);
    const namespaces = execFileSync(
      'kubectl',
      ['config', 'view', '--kubeconfig', path, '-o', 'jsonpath={.contexts[*].context.namespace}'],
      { encoding: 'utf8' },
    );
    expect(namespaces).toBe('no');
    const current = execFileSync('kubectl', ['config', 'current-context', '--kubeconfig', path], {
      encoding: 'utf8',
    });
    expect(current.trim()).toBe(CLUSTER);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['config']);
    expect(readFileSync(path, 'utf8')).toContain('namespace: "no"');
  });
});
