#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
// Bundle size, cold-start import time and peak memory per Lambda, next to a baseline bundle that
// imports only the same AWS SDK clients (and builds them, as the handlers do at cold start).
// Medians of several fresh Node processes; prints a table and the function/baseline ratios.
import { build } from 'esbuild';
import { BUNDLE_OPTIONS } from './build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bench');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const functions = readdirSync(join(root, 'functions'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''));

// Cold start reads its configuration; these values let every handler module load.
const env = {
  ...process.env,
  STATE_BUCKET: 'bench-bucket',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  CREATE_CLUSTER_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:c',
  UPDATE_CLUSTER_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:u',
  ROLLING_UPDATE_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:r',
  DELETE_CLUSTER_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:d',
  NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:kopsless-notifications',
  NOTIFY_ON_SUCCESS: 'false',
};

/** The client class each SDK package exports (minified bundles lose class names, so name them here). */
const CLIENT_CLASS = {
  'client-auto-scaling': 'AutoScalingClient',
  'client-cloudformation': 'CloudFormationClient',
  'client-ec2': 'EC2Client',
  'client-elastic-load-balancing-v2': 'ElasticLoadBalancingV2Client',
  'client-kms': 'KMSClient',
  'client-iam': 'IAMClient',
  'client-route-53': 'Route53Client',
  'client-s3': 'S3Client',
  'client-sfn': 'SFNClient',
  'client-sns': 'SNSClient',
};

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Imports a bundle in a fresh process: milliseconds to import, peak RSS in MiB. */
function measure(file) {
  const script = `const t=performance.now();await import(${JSON.stringify(pathToFileURL(file).href)});const ms=performance.now()-t;process.stdout.write(JSON.stringify({ms,rss:process.resourceUsage().maxRSS/1024}))`;
  const samples = [];
  for (let i = 0; i < RUNS; i++) {
    const result = spawnSync(
      process.execPath,
      ['--no-warnings', '--input-type=module', '-e', script],
      { env, encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`${file}: ${result.stderr.slice(-400)}`);
    samples.push(JSON.parse(result.stdout));
  }
  return { ms: median(samples.map((s) => s.ms)), rss: median(samples.map((s) => s.rss)) };
}

mkdirSync(out, { recursive: true });
const rows = [];
for (const name of functions) {
  const bundle = join(out, name, 'index.mjs');
  const result = await build({
    ...BUNDLE_OPTIONS,
    entryPoints: [join(root, 'functions', `${name}.ts`)],
    outfile: bundle,
    metafile: true,
  });
  const clients = [
    ...new Set(
      Object.keys(result.metafile.inputs)
        .map((p) => /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//.exec(p)?.[1])
        .filter(Boolean),
    ),
  ].sort();
  const entry = join(out, `${name}.baseline.mjs`);
  const imports = clients
    .map((c) => `import { ${CLIENT_CLASS[c]} } from '@aws-sdk/${c}';`)
    .join('\n');
  const construct = clients.map((c) => `new ${CLIENT_CLASS[c]}({});`).join('\n');
  writeFileSync(entry, `${imports}\n${construct}\nexport const handler = async () => ({});\n`);
  const baseline = join(out, `${name}.baseline`, 'index.mjs');
  await build({
    ...BUNDLE_OPTIONS,
    sourcemap: false,
    entryPoints: [entry],
    outfile: baseline,
    nodePaths: [join(root, 'node_modules')],
  });
  const own = measure(bundle);
  const base = measure(baseline);
  rows.push({
    name,
    clients: clients.map((c) => c.replace('client-', '')).join(','),
    size: statSync(bundle).size / 1024,
    baseSize: statSync(baseline).size / 1024,
    ...own,
    baseMs: base.ms,
    baseRss: base.rss,
  });
}

const pad = (v, n) => String(v).padStart(n);
console.log(
  `Cold start per Lambda bundle (median of ${RUNS} fresh processes, node ${process.version}):`,
);
console.log(
  `${'function'.padEnd(16)}${pad('KiB', 7)}${pad('base KiB', 10)}${pad('x', 6)}${pad('import ms', 11)}${pad('base ms', 9)}${pad('x', 6)}${pad('peak MiB', 10)}${pad('base MiB', 10)}${pad('x', 6)}  clients`,
);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(16)}${pad(r.size.toFixed(0), 7)}${pad(r.baseSize.toFixed(0), 10)}${pad((r.size / r.baseSize).toFixed(2), 6)}${pad(r.ms.toFixed(0), 11)}${pad(r.baseMs.toFixed(0), 9)}${pad((r.ms / r.baseMs).toFixed(2), 6)}${pad(r.rss.toFixed(0), 10)}${pad(r.baseRss.toFixed(0), 10)}${pad((r.rss / r.baseRss).toFixed(2), 6)}  ${r.clients}`,
  );
}
// scripts/bench.ts reads the rows (its coldStart section) from this last line.
if (process.env.BENCH_JSON) console.log(JSON.stringify(rows));
