import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { forgetClusterInKubeconfig, withoutCluster } from '../../src/cli/forget-kubeconfig.js';

const entries = (name: string) => ({
  cluster: { name, cluster: { server: `https://api.${name}` } },
  user: { name, user: { token: `token-of-${name}` } },
  context: { name, context: { cluster: name, user: name } },
});
const a = entries('a.example.com');
const b = entries('b.example.com');
const both = {
  apiVersion: 'v1',
  kind: 'Config',
  preferences: { colors: true },
  clusters: [a.cluster, b.cluster],
  users: [a.user, b.user],
  contexts: [a.context, b.context],
  'current-context': 'a.example.com',
};

describe('the kubeconfig after a cluster is deleted', () => {
  it("drops the cluster's context, cluster and user entries and the current context naming it", () => {
    expect(withoutCluster(both, 'a.example.com')).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      preferences: { colors: true },
      clusters: [b.cluster],
      users: [b.user],
      contexts: [b.context],
    });
  });

  it("keeps the current context when it is another cluster's", () => {
    const kept = withoutCluster({ ...both, 'current-context': 'b.example.com' }, 'a.example.com');

    expect(kept?.['current-context']).toBe('b.example.com');
  });

  it('changes nothing when nothing names the cluster', () => {
    expect(withoutCluster(both, 'c.example.com')).toBeUndefined();
  });
});

describe('the kubeconfig file', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const file = (text: string) => {
    dir = mkdtempSync(join(tmpdir(), 'kopsless-kubeconfig-'));
    const path = join(dir, 'config');
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };

  it("is rewritten without the deleted cluster, keeping the others and the file's mode", () => {
    const path = file(stringify(both));

    expect(forgetClusterInKubeconfig(path, 'a.example.com')).toBe(true);

    const written = parse(readFileSync(path, 'utf8'));
    expect(written.contexts.map((c: { name: string }) => c.name)).toEqual(['b.example.com']);
    expect(written.users).toEqual([b.user]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('is left as it was when it does not name the cluster, is absent, or is not YAML', () => {
    const unrelated = file(stringify(both));
    const broken = join(dir!, 'broken');
    writeFileSync(broken, 'clusters: [');

    expect(forgetClusterInKubeconfig(unrelated, 'c.example.com')).toBe(false);
    expect(forgetClusterInKubeconfig(join(dir!, 'absent'), 'a.example.com')).toBe(false);
    expect(forgetClusterInKubeconfig(broken, 'a.example.com')).toBe(false);
    expect(readFileSync(unrelated, 'utf8')).toBe(stringify(both));
    expect(readFileSync(broken, 'utf8')).toBe('clusters: [');
  });

  it('keeps the quoting and comments kubectl needs: a namespace "no" stays a string for kubectl', () => {
    const path = file(`# my clusters
apiVersion: v1
kind: Config
clusters:
  - name: a.example.com
    cluster: { server: "https://api.a.example.com" }
  - name: b.example.com
    cluster: { server: "https://api.b.example.com" }
users:
  - name: a.example.com
    user: { token: token-a }
  - name: b.example.com
    user: { token: token-b }
contexts:
  - name: a.example.com
    context: { cluster: a.example.com, user: a.example.com }
  - name: b.example.com
    context: { cluster: b.example.com, user: b.example.com, namespace: "no" }
current-context: a.example.com
`);

    expect(forgetClusterInKubeconfig(path, 'a.example.com')).toBe(true);

    const text = readFileSync(path, 'utf8');
    expect(text).toContain('# my clusters');
    expect(text).toContain('namespace: "no"');
    const viewed = execFileSync(
      'kubectl',
      ['config', 'view', '--kubeconfig', path, '-o', 'jsonpath={.contexts[*].context.namespace}'],
      { encoding: 'utf8' },
    );
    expect(viewed).toBe('no');
    expect(readdirSync(dir!)).toEqual(['config']);
  });

  it('ignores a clusters section that is not a list and entries that are not objects', () => {
    const path = file(`clusters: not-a-list
users:
  - null
  - name: a.example.com
    user: { token: token-a }
contexts:
  - ~
  - name: a.example.com
    context: { cluster: a.example.com, user: a.example.com }
`);

    expect(forgetClusterInKubeconfig(path, 'a.example.com')).toBe(true);

    expect(parse(readFileSync(path, 'utf8'))).toEqual({
      clusters: 'not-a-list',
      users: [null],
      contexts: [null],
    });
  });

  it('keeps the cluster and user entries a remaining context still uses', () => {
    const shared = {
      ...both,
      contexts: [
        a.context,
        { name: 'admin@a', context: { cluster: a.cluster.name, user: a.user.name } },
      ],
    };
    const path = file(stringify(shared));

    expect(forgetClusterInKubeconfig(path, 'a.example.com')).toBe(true);

    const written = parse(readFileSync(path, 'utf8'));
    expect(written.contexts.map((c: { name: string }) => c.name)).toEqual(['admin@a']);
    expect(written.clusters).toEqual([a.cluster, b.cluster]);
    expect(written.users).toEqual([a.user, b.user]);
    expect(written['current-context']).toBeUndefined();
  });
});
