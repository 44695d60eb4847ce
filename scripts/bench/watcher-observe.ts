import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type KubePort, kubePort } from '../../src/kube/port.js';
import { storedKubeConfig } from '../../src/kube/stored-kubeconfig.js';
import { checkManifest } from '../../src/manifest/check.js';
import { completeManifest } from '../../src/manifest/defaults.js';
import type { ClusterManifest } from '../../src/manifest/types.js';
import { DEFAULT_WATCHER_SETTINGS } from '../../src/planning/eni-decision.js';
import { type WatcherDeps, watchCluster } from '../../src/stages/eni-watcher.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { countingObjectStore } from './counting-object-store.js';

/**
 * One watcher observation of a cluster against the Kubernetes API at `--server`, in a process of
 * its own so that its peak RSS is the watcher's alone. Prints
 * `{"seconds":…,"peakMiB":…,"nodes":…,"pods":…}` on stdout.
 *
 * Usage: tsx watcher-observe.ts --server http://127.0.0.1:PORT
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The seed cluster (its node groups are the ones the generator labels nodes with). */
export function seedManifest(): ClusterManifest {
  const check = checkManifest(readFileSync(join(ROOT, 'test', 'fixtures', 'seed.yaml'), 'utf8'));
  if (!check.manifest)
    throw new Error(
      `seed.yaml does not validate: ${check.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
    );
  return completeManifest(check.manifest);
}

/** The node group names of the seed cluster. */
export function seedNodeGroups(): string[] {
  return seedManifest()
    .instanceGroups.filter((ig) => ig.spec.role === 'Node')
    .map((ig) => ig.metadata.name);
}

export function kubeconfigFor(server: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'u', user: { token: 't' } }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'c',
  });
}

/**
 * One scheduled run of the reworked watcher for the seed cluster: `watchCluster` (the lock read,
 * the state read, the observation that folds node and pod pages into per-node counts, the
 * decision and its conditional state write) against `kube`, with the state store in memory.
 * AWS is not part of this measurement: the stack is not found (no subnets) and instance types
 * come from a fixed table.
 */
export async function observeOnce(
  kube: KubePort,
  server: string,
): Promise<{ nodes: number; pods: number }> {
  const check = checkManifest(readFileSync(join(ROOT, 'test', 'fixtures', 'seed.yaml'), 'utf8'));
  if (!check.manifest || !check.completed)
    throw new Error(
      `seed.yaml does not validate: ${check.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
    );
  const objects = countingObjectStore();
  const store = new ClusterStore(objects);
  const cluster = check.manifest.cluster.metadata.name;
  await store.registerCluster(check.manifest, check.completed);
  const deps: WatcherDeps = {
    store,
    objects,
    stacks: { describe: async () => undefined },
    ec2: {
      describeInstanceTypes: async (types) =>
        types.map((t) => ({
          InstanceType: t as never,
          VCpuInfo: { DefaultVCpus: 2 },
          NetworkInfo: { MaximumNetworkInterfaces: 3, Ipv4AddressesPerInterface: 6 },
          Hypervisor: 'nitro',
        })),
      subnetUsage: async () => new Map(),
    },
    kube: async () => kube,
    settings: DEFAULT_WATCHER_SETTINGS,
  };
  const result = await watchCluster(cluster, deps);
  if (!result.observed)
    throw new Error(
      `the watcher did not observe ${cluster} at ${server}: ${result.decision.reason}`,
    );
  const { groups } = result.decision;
  return {
    nodes: groups.reduce((sum, g) => sum + g.nodes, 0),
    pods: groups.reduce((sum, g) => sum + g.usedPods, 0),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--server');
  const server = i >= 0 ? process.argv[i + 1] : undefined;
  if (!server) throw new Error('--server: expected the API server URL (http://127.0.0.1:PORT)');
  const started = performance.now();
  // The bench's own kubeconfig, checked as a stored one would be, its server the one registered.
  const config = storedKubeConfig('bench', kubeconfigFor(server), {
    httpsHosts: [],
    registeredUrls: [server],
  });
  const seen = await observeOnce(kubePort(config), server);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${JSON.stringify({ seconds, peakMiB: process.resourceUsage().maxRSS / 1024, ...seen })}\n`,
  );
}
