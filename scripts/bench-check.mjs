#!/usr/bin/env node
// Time and peak memory of `kopsless check` on large manifests, through the real CLI binary (a
// fresh process each, as a user runs it; GNU time measures it). Each input is about 5 MB: the seed manifest with
// thousands of instance groups (valid), the same as one JSON array, one instance group with a
// single huge nodeLabels mapping (YAML and JSON: the shape where a per-key duplicate check that
// compares against every earlier key goes quadratic), a cluster with tens of thousands of subnets,
// and the seed followed by a long comment. The bound: under 3 s each. Prints one row per
// input; `BENCH_ONLY=name,name` runs only those.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TARGET = Number(process.env.BENCH_BYTES ?? 5 * 1024 * 1024);
const seed = readFileSync(join(root, 'test', 'fixtures', 'seed.yaml'), 'utf8');
const docs = parseAllDocuments(seed).map((d) => d.toJS());
const cluster = docs.find((d) => d.kind === 'Cluster');
const node = docs.find((d) => d.kind === 'InstanceGroup' && d.spec.role === 'Node');

/** The seed with copies of its node group until the text reaches the target size. */
function manyGroups() {
  const groups = docs.filter((d) => d.kind === 'InstanceGroup');
  let size = seed.length;
  for (let i = 0; size < TARGET; i++) {
    const copy = structuredClone(node);
    copy.metadata.name = `nodes-${i}`;
    copy.spec.nodeLabels = {
      ...copy.spec.nodeLabels,
      'example.com/team': `team-${i % 97}`,
      'example.com/tier': 'batch',
    };
    groups.push(copy);
    size += stringify(copy).length + 4;
  }
  return [cluster, ...groups];
}

/** The seed whose first node group carries labels `k<i>.example.com/lbl-<i>: v<i>` up to the target size. */
function manyLabels() {
  const groups = docs.filter((d) => d.kind === 'InstanceGroup').map((d) => structuredClone(d));
  const target = groups.find((d) => d.spec.role === 'Node');
  const labels = { ...target.spec.nodeLabels };
  let size = seed.length;
  for (let i = 0; size < TARGET; i++) {
    const key = `k${i}.example.com/lbl-${i}`;
    labels[key] = `v${i}`;
    size += key.length + String(i).length + 7;
  }
  target.spec.nodeLabels = labels;
  return [cluster, ...groups];
}

/** The seed cluster with subnets `s<i>` (a /28 each in a /8) up to the target size. */
function manySubnets() {
  const big = structuredClone(cluster);
  big.spec.networkCIDR = '10.0.0.0/8';
  big.spec.nonMasqueradeCIDR = '10.0.0.0/8';
  big.spec.subnets = [];
  let size = seed.length;
  for (let i = 0; size < TARGET; i++) {
    // The first two keep the seed's names: its instance groups are placed in them.
    const name = i < 2 ? `us-east-1${'ab'[i]}` : `s${i}`;
    const subnet = {
      cidr: `10.${(i >> 12) & 255}.${(i >> 4) & 255}.${(i & 15) * 16}/28`,
      name,
      type: 'Public',
      zone: i === 1 ? 'us-east-1b' : 'us-east-1a',
    };
    big.spec.subnets.push(subnet);
    size += 80;
  }
  return [big, ...docs.filter((d) => d.kind === 'InstanceGroup')];
}

const dir = mkdtempSync(join(tmpdir(), 'kopsless-bench-check-'));
const objects = manyGroups();
const labelled = manyLabels();
const subnetted = manySubnets();
const inputs = {
  'many-groups.yaml': objects.map((d) => stringify(d)).join('---\n'),
  'many-groups.json': JSON.stringify(objects),
  'many-labels.yaml': labelled.map((d) => stringify(d)).join('---\n'),
  'many-labels.json': JSON.stringify(labelled),
  'many-subnets.yaml': subnetted.map((d) => stringify(d)).join('---\n'),
  'long-comment.yaml': `${seed}\n${`# ${'x'.repeat(78)}\n`.repeat(Math.ceil(TARGET / 81))}`,
};
// The seed itself first: the CLI's start-up (tsx compiling the sources) is in every row.
inputs['seed.yaml'] = seed;
const only = process.env.BENCH_ONLY?.split(',');
const order = [
  'seed.yaml',
  'many-groups.yaml',
  'many-groups.json',
  'many-labels.yaml',
  'many-labels.json',
  'many-subnets.yaml',
  'long-comment.yaml',
].filter((name) => !only || only.includes(name));
// On a shared machine the wall times stretch with the load; the CPU seconds much less so.
console.log(
  'INPUT              BYTES     EXIT  CLI_WALL_S  CLI_CPU_S  CLI_PEAK_RSS_MB  CHECK_WALL_S  CHECK_CPU_S',
);
try {
  for (const name of order) {
    const file = join(dir, name);
    writeFileSync(file, inputs[name]);
    const started = process.hrtime.bigint();
    // GNU time's %U/%S/%M: the child's user and system CPU seconds and peak resident set in KiB.
    const run = spawnSync(
      '/usr/bin/time',
      [
        '-f',
        '%U %S %M',
        process.execPath,
        '--no-warnings',
        join(root, 'bin', 'kopsless.mjs'),
        'check',
        '-f',
        file,
        '-o',
        'json',
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    const [user, sys, rssKiB] = run.stderr.trim().split('\n').at(-1).split(' ').map(Number);
    // The check alone, in one process: checkManifest on the file's bytes, without the CLI's start-up.
    const alone = spawnSync(
      process.execPath,
      [
        '--no-warnings',
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `
      import { readFileSync } from 'node:fs';
      import { checkManifest } from ${JSON.stringify(join(root, 'src', 'spec', 'check.ts'))};
      const bytes = readFileSync(${JSON.stringify(file)});
      const started = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      checkManifest(bytes);
      const used = process.cpuUsage(cpu);
      console.log(JSON.stringify({ wall: Number(process.hrtime.bigint() - started) / 1e9, cpu: (used.user + used.system) / 1e6 }));
    `,
      ],
      { encoding: 'utf8', cwd: root },
    );
    const check = JSON.parse(alone.stdout || '{"wall":NaN,"cpu":NaN}');
    console.log(
      `${name.padEnd(19)}${String(statSync(file).size).padEnd(10)}${String(run.status).padEnd(6)}${wall.toFixed(2).padEnd(12)}${(user + sys).toFixed(2).padEnd(11)}${(rssKiB / 1024).toFixed(0).padEnd(17)}${check.wall.toFixed(2).padEnd(14)}${check.cpu.toFixed(2)}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
