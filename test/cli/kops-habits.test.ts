import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { kopsless, kopslessInProcess, localBackendForFile } from './run.js';

// The commands of the kOps walkthroughs, typed as kOps users type them, on the built CLI.
const { env } = localBackendForFile();
const cluster = 'habits.example.com';
const named = { ...env, KOPS_CLUSTER_NAME: cluster };
const work = mkdtempSync(join(tmpdir(), 'kopsless-habits-'));

/** An $EDITOR that applies the sed expression of its turn (one per save) to the file it opens. */
function scriptedEditor(name: string, turns: string[]): string {
  const script = join(work, `${name}.sh`);
  const counter = join(work, `${name}.count`);
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}`,
      `cp "$1" ${join(work, name)}.seen.$n`,
      ...turns.map((expr, i) => `[ $n = ${i + 1} ] && sed -i '${expr}' "$1"`),
      'exit 0',
      '',
    ].join('\n'),
  );
  chmodSync(script, 0o755);
  return script;
}

async function clusterSpec(): Promise<Record<string, any>> {
  const result = await kopslessInProcess(['get', cluster, '-o', 'json'], named);
  return JSON.parse(result.stdout)[0].spec;
}

describe('the two-step create of the kOps walkthroughs', () => {
  it('registers without --yes, then update cluster --yes (name from KOPS_CLUSTER_NAME) builds', async () => {
    const create = await kopslessInProcess(
      [
        'create',
        'cluster',
        '--cloud',
        'aws',
        '--zones',
        'us-east-1a',
        '--node-count',
        '1',
        '--node-size',
        't3.medium',
        '--master-size',
        't3.medium',
        '--node-volume-size',
        '40',
        '--master-volume-size',
        '30',
      ],
      named,
    );
    const preview = await kopslessInProcess(['update', 'cluster'], named);
    const update = await kopslessInProcess(['update', 'cluster', '--yes'], named);
    const status = JSON.parse(
      (await kopslessInProcess(['get', 'clusters', cluster, '-o', 'json'], env)).stdout,
    );

    expect(create.code, create.stderr).toBe(0);
    expect(create.stdout).toContain(`Registered cluster "${cluster}"`);
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toContain('Must specify --yes to apply changes');
    expect(update.code, update.stderr).toBe(0);
    expect(update.stdout).toContain(`Cluster "${cluster}" is ready`);
    expect(status.status.phase).toBe('Ready');
  }, 180_000);

  it('set the volume sizes the create flags asked for', async () => {
    const groups = parse(
      (await kopslessInProcess(['get', 'ig', '--name', cluster, '-o', 'json'], env)).stdout,
    ) as Array<{ spec: { role: string; rootVolumeSize?: number } }>;

    expect(groups.map((g) => [g.spec.role, g.spec.rootVolumeSize])).toEqual([
      ['Master', 30],
      ['Node', 40],
    ]);
  });
});

describe('get', () => {
  it('get NAME prints the cluster and its instance groups; get all adds the instances', async () => {
    const one = await kopslessInProcess(['get', cluster], env);
    const all = await kopslessInProcess(['get', 'all'], named);

    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^Cluster\nNAME\s+CLOUD\s+ZONES\nhabits\.example\.com\s+aws/);
    expect(one.stdout).toMatch(/Instance Groups\nNAME\s+ROLE\s+MACHINETYPE/);
    expect(one.stdout).not.toContain('Instances');
    expect(all.stdout).toMatch(/\nInstances\nID\s+NODE-NAME\s+STATUS/);
  });

  it('get instances lists each instance up to date, with its node and group', async () => {
    const result = await kopslessInProcess(['get', 'instances', '--name', cluster], env);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n')[0]).toMatch(
      /^ID\s+NODE-NAME\s+STATUS\s+ROLES\s+STATE\s+INTERNAL-IP\s+INSTANCE-GROUP\s+MACHINE-TYPE$/,
    );
    expect(result.stdout).toMatch(
      /^i-\w+\s+ip-[\d-]+\.ec2\.internal\s+UpToDate\s+node\s+[\d.]+\s+nodes-us-east-1a\s+t3\.medium$/m,
    );
  });
});

describe('edit', () => {
  it('reopens an invalid edit with its problems, then writes the fixed one', async () => {
    const editor = scriptedEditor('fix', [
      's/^  kubelet:/  kubelet:\\n    maxPodz: 110/',
      's/maxPodz/maxPods/',
    ]);

    const result = await kopsless(['edit', 'cluster'], { ...named, EDITOR: editor });
    const reopened = readFileSync(join(work, 'fix.seen.2'), 'utf8');

    expect(result.code, result.stderr).toBe(0);
    expect(reopened).toContain(
      '#   spec.kubelet.maxPodz: unknown field "maxPodz" (did you mean "maxPods"?)',
    );
    expect((await clusterSpec()).kubelet.maxPods).toBe(110);
  });

  it('writes nothing when the same problems are saved again, and exits 1', async () => {
    const editor = scriptedEditor('stuck', ['s/machineType: t3.medium/machineType: 42/', '']);

    const result = await kopsless(['edit', 'ig', 'nodes-us-east-1a', '--name', cluster], {
      ...env,
      KUBE_EDITOR: editor,
      EDITOR: 'false',
    });
    const groups = JSON.parse(
      (
        await kopslessInProcess(
          ['get', 'ig', 'nodes-us-east-1a', '--name', cluster, '-o', 'json'],
          env,
        )
      ).stdout,
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('spec.machineType');
    expect(result.stderr).toContain('the spec was not changed');
    expect(groups.spec.machineType).toBe('t3.medium');
  });

  it('set reports a misspelt field with the nearest name, exit 1', async () => {
    const result = await kopslessInProcess(['set', 'cluster', 'spec.kubelet.maxPodz=3'], named);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'spec.kubelet.maxPodz: unknown field "maxPodz" (did you mean "maxPods"?)',
    );
    expect((await clusterSpec()).kubelet.maxPods).toBe(110);
  });
});

describe('kubectl and operators', () => {
  it('export kubeconfig --admin merges the cluster into $KUBECONFIG and makes it current', async () => {
    const kubeconfig = join(work, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    server: https://other.example\ncontexts:\n- name: other\n  context:\n    cluster: other\n    user: other\nusers:\n- name: other\n  user:\n    token: other-token\ncurrent-context: other\n',
    );

    const result = await kopsless(['export', 'kubeconfig', '--admin'], {
      ...named,
      KUBECONFIG: kubeconfig,
    });
    const merged = parse(readFileSync(kubeconfig, 'utf8'));

    expect(result.code, result.stderr).toBe(0);
    expect(merged['current-context']).toBe(cluster);
    expect(merged.contexts.map((c: { name: string }) => c.name)).toEqual(['other', cluster]);
    expect(merged.users.find((u: { name: string }) => u.name === cluster).user.token).toBeTruthy();
    expect(merged.users.find((u: { name: string }) => u.name === 'other').user.token).toBe(
      'other-token',
    );
  });

  it('export kubeconfig without --admin writes no credentials', async () => {
    const kubeconfig = join(work, 'no-admin', 'config');

    const result = await kopslessInProcess(
      ['export', 'kubeconfig', cluster, '--kubeconfig', kubeconfig],
      env,
    );
    const written = parse(readFileSync(kubeconfig, 'utf8'));

    expect(result.code, result.stderr).toBe(0);
    expect(written.users).toEqual([{ name: cluster, user: {} }]);
  });

  it('toolbox dump gives the resources, instances and nodes as JSON', async () => {
    const result = await kopsless(['toolbox', 'dump', '-o', 'json'], named);
    const dump = JSON.parse(result.stdout);

    expect(result.code, result.stderr).toBe(0);
    expect(dump.resources.map((r: { type: string }) => r.type)).toContain('autoscaling-group');
    expect(dump.instances).toHaveLength(2);
    expect(dump.nodes).toHaveLength(2);
  });
});

describe('the little things', () => {
  it('version prints the client version as kOps does', async () => {
    const result = await kopsless(['version']);

    expect(result.stdout).toMatch(/^Client version: \d+\.\d+\.\d+\n$/);
  });

  it('a usage error is one line naming the help', async () => {
    const result = await kopslessInProcess(['update', 'cluster', '--bogus'], env);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe("error: unknown option '--bogus'; see 'kopsless update --help'\n");
  });

  it("a misspelt option's did-you-mean stays on the error's one line", async () => {
    const result = await kopslessInProcess(['update', 'cluster', '--nmae', 'a.example.com'], env);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "error: unknown option '--nmae' (Did you mean --name?); see 'kopsless update --help'\n",
    );
  });

  it('a cluster named twice, differently, is a usage error', async () => {
    const result = await kopslessInProcess(
      ['validate', 'cluster', 'a.example.com', '--name', 'b.example.com'],
      env,
    );

    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('completion bash completes the commands and their options', async () => {
    const script = (await kopsless(['completion', 'bash'])).stdout;

    expect(script).toContain('complete -o default -F _kopsless_complete kopsless');
    expect(script).toMatch(/"kopsless rolling-update"\) words="[^"]*--instance-group/);
    expect((await kopsless(['completion', 'fish'])).code).toBe(2);
  });
});

describe('delete -f', () => {
  it('deletes the cluster a manifest describes', async () => {
    const manifest = join(work, 'cluster.yaml');
    writeFileSync(manifest, (await kopslessInProcess(['get', cluster, '-o', 'yaml'], env)).stdout);

    const result = await kopsless(['delete', '-f', manifest, '--yes'], env);
    const clusters = await kopslessInProcess(['get', 'clusters'], env);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Deleted cluster: "${cluster}"`);
    expect(clusters.stdout).not.toContain(cluster);
  }, 120_000);
});
