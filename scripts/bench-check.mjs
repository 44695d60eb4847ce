#!/usr/bin/env node
// Time and peak memory of `kopsless check` on large manifests, through the real CLI binary (a
// fresh process each, as a user runs it; GNU time measures it). Each input is about 5 MB: the seed manifest with
// thousands of instance groups (valid), the same as one JSON array, and the seed followed by a
// long comment. The issue's bound: under 3 s each. Prints one row per input.
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
    copy.spec.nodeLabels = { ...copy.spec.nodeLabels, 'example.com/team': `team-${i % 97}`, 'example.com/tier': 'batch' };
    groups.push(copy);
    size += stringify(copy).length + 4;
  }
  return [cluster, ...groups];
}

const dir = mkdtempSync(join(tmpdir(), 'kopsless-bench-check-'));
const objects = manyGroups();
const inputs = {
  'many-groups.yaml': objects.map((d) => stringify(d)).join('---\n'),
  'many-groups.json': JSON.stringify(objects),
  'long-comment.yaml': `${seed}\n${`# ${'x'.repeat(78)}\n`.repeat(Math.ceil(TARGET / 81))}`,
};
// The seed itself first: the CLI's start-up (tsx compiling the sources) is in every row.
inputs['seed.yaml'] = seed;
const order = ['seed.yaml', 'many-groups.yaml', 'many-groups.json', 'long-comment.yaml'];
// On a shared machine the wall times stretch with the load; the CPU seconds much less so.
console.log('INPUT              BYTES     EXIT  CLI_WALL_S  CLI_CPU_S  CLI_PEAK_RSS_MB  CHECK_WALL_S  CHECK_CPU_S');
try {
  for (const name of order) {
    const file = join(dir, name);
    writeFileSync(file, inputs[name]);
    const started = process.hrtime.bigint();
    // GNU time's %U/%S/%M: the child's user and system CPU seconds and peak resident set in KiB.
    const run = spawnSync('/usr/bin/time', ['-f', '%U %S %M', process.execPath, '--no-warnings', join(root, 'bin', 'kopsless.mjs'), 'check', '-f', file, '-o', 'json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    const [user, sys, rssKiB] = run.stderr.trim().split('\n').at(-1).split(' ').map(Number);
    // The check alone, in one process: checkManifest on the file's bytes, without the CLI's start-up.
    const alone = spawnSync(process.execPath, ['--no-warnings', '--import', 'tsx', '--input-type=module', '-e', `
      import { readFileSync } from 'node:fs';
      import { checkManifest } from ${JSON.stringify(join(root, 'src', 'spec', 'check.ts'))};
      const bytes = readFileSync(${JSON.stringify(file)});
      const started = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      checkManifest(bytes);
      const used = process.cpuUsage(cpu);
      console.log(JSON.stringify({ wall: Number(process.hrtime.bigint() - started) / 1e9, cpu: (used.user + used.system) / 1e6 }));
    `], { encoding: 'utf8', cwd: root });
    const check = JSON.parse(alone.stdout || '{"wall":NaN,"cpu":NaN}');
    console.log(
      `${name.padEnd(19)}${String(statSync(file).size).padEnd(10)}${String(run.status).padEnd(6)}${wall.toFixed(2).padEnd(12)}${(user + sys).toFixed(2).padEnd(11)}${(rssKiB / 1024).toFixed(0).padEnd(17)}${check.wall.toFixed(2).padEnd(14)}${check.cpu.toFixed(2)}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
