#!/usr/bin/env node
// `npm run bench:cli`: how long the built CLI takes to answer, against `node -e 0` (Node's own
// start on this machine), as hyperfine would measure it: warm-up runs, then the median, min and
// max of N runs of each command, and its ratio to node's median. Uses the local backend of
// KOPSLESS_HOME (started first if needed) for `get clusters`.
//   node scripts/bench/cli-start.mjs [--runs N]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const runsFlag = process.argv.indexOf('--runs');
const runs = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 15;
const cli = join(root, 'bin', 'kopsless.mjs');

const commands = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'kopsless version', args: ['--no-warnings', cli, 'version'] },
  { name: 'kopsless --help', args: ['--no-warnings', cli, '--help'] },
  { name: 'kopsless get clusters', args: ['--no-warnings', cli, 'get', 'clusters'] },
];

function timeOnce(args) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0)
    throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  if (String(result.stderr).includes('running from the sources'))
    throw new Error('the CLI is not built or is out of date: npm run build:cli');
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// The backend up before timing: its start is not the command's.
spawnSync(process.execPath, ['--no-warnings', cli, 'local', 'up'], { stdio: 'ignore' });
const rows = [];
for (const c of commands) {
  for (let i = 0; i < 3; i++) timeOnce(c.args);
  const times = Array.from({ length: runs }, () => timeOnce(c.args));
  rows.push({
    name: c.name,
    median: median(times),
    min: Math.min(...times),
    max: Math.max(...times),
  });
}
const base = rows[0].median;
console.log(
  `${runs} runs each after 3 warm-up runs; node ${process.version}; load average ${(await import('node:os')).loadavg()[0].toFixed(1)}`,
);
console.log(
  `${'command'.padEnd(24)}${'median'.padStart(9)}${'min'.padStart(9)}${'max'.padStart(9)}  x node`,
);
for (const r of rows)
  console.log(
    `${r.name.padEnd(24)}${`${r.median.toFixed(0)} ms`.padStart(9)}${`${r.min.toFixed(0)} ms`.padStart(9)}${`${r.max.toFixed(0)} ms`.padStart(9)}  ${(r.median / base).toFixed(1)}x`,
  );
