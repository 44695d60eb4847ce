// How long the real kubectl waits on the simulated Kubernetes API as a Deployment grows: the
// median of a few `kubectl get pods` runs at 1,000 and 5,000 replicas (50 nodes of 110 pods, so
// they run), then `kubectl scale --replicas=100000`, which the simulated server refuses (422).
// The server runs in this process on 127.0.0.1 and is stopped at the end. Prints one row per step.
// Run: node --no-warnings --import tsx scripts/kube-sim-scale.ts   (RUNS=5 for more runs)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type InstanceView, SimCluster } from '../../src/local/kube-sim/cluster.js';
import { listen } from '../../src/local/kube-sim/server.js';

const RUNS = Number(process.env.RUNS ?? 3);
const NODES = 50;
const dir = mkdtempSync(join(tmpdir(), 'kopsless-kube-sim-scale-'));
const kubeconfig = join(dir, 'config');

function kubectl(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      'kubectl',
      ['--kubeconfig', kubeconfig, '--request-timeout=120s', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - started }),
    );
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const instances: InstanceView[] = Array.from({ length: NODES }, (_, i) => ({
  instanceId: `i-${i}`,
  zone: 'us-east-1a',
  privateIp: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
  privateDnsName: `ip-10-0-${Math.floor(i / 250)}-${(i % 250) + 1}.ec2.internal`,
  instanceType: 'm5.large',
  instanceGroup: i === 0 ? 'control-plane-us-east-1a' : 'nodes-us-east-1a',
  controlPlane: i === 0,
  maxPods: 110,
}));
const cluster = new SimCluster('scale.example.com', 'v1.32.0');
cluster.syncInstances(instances);
const sim = await listen({ cluster: async () => cluster });
try {
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${sim.urlFor('scale.example.com')}"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`,
  );
  const created = await kubectl([
    'create',
    'deployment',
    'web',
    '--image=nginx:1.27',
    '--replicas=1',
  ]);
  if (created.code !== 0) throw new Error(created.stderr);
  for (const replicas of [1000, 5000]) {
    const scaled = await kubectl(['scale', 'deployment', 'web', `--replicas=${replicas}`]);
    if (scaled.code !== 0) throw new Error(scaled.stderr);
    const times: number[] = [];
    let lines = 0;
    for (let i = 0; i < RUNS; i++) {
      const got = await kubectl(['get', 'pods']);
      if (got.code !== 0) throw new Error(got.stderr);
      lines = got.stdout.trim().split('\n').length - 1;
      times.push(got.ms);
    }
    console.log(
      `replicas ${replicas}: scale ${scaled.ms.toFixed(0)} ms; kubectl get pods (${lines} pods listed) median ${median(times).toFixed(0)} ms of ${times.map((t) => t.toFixed(0)).join(', ')}`,
    );
  }
  const huge = await kubectl(['scale', 'deployment', 'web', '--replicas=100000']);
  console.log(
    `replicas 100000: kubectl exited ${huge.code} after ${huge.ms.toFixed(0)} ms: ${huge.stderr.trim()}`,
  );
  const after = await kubectl(['get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas}']);
  console.log(`spec.replicas after the refused scale: ${after.stdout}`);
} finally {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
