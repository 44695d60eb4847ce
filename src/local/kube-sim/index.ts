import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ClusterStore } from '../../state/cluster-store.js';
import type { ObjectStore } from '../../state/object-store.js';
import { AwsSimBackend } from './aws-backend.js';
import type { SimTiming } from './cluster.js';
import { listen } from './server.js';

export interface KubeSim {
  port: number;
  urlFor(cluster: string): string;
  backend: AwsSimBackend;
  /** Stops (true) or restarts (false) the once-a-second sync loop: for a caller that restarts moto under it. */
  pauseSync(paused: boolean): void;
  close(): Promise<void>;
}

/**
 * Starts the simulated Kubernetes API server on 127.0.0.1, fed by the local AWS backend, with a
 * loop that keeps nodes in step with instances (and publishes kubeconfigs) once a second.
 */
export async function startKubeSim(deps: {
  ec2: EC2Client;
  store: ClusterStore;
  objects: ObjectStore;
  port?: number;
  maxPageItems?: number;
  /** Simulated boot and drain times with their clock (off by default); see SimTiming. */
  timing?: SimTiming;
  /** A count of changing AWS calls, when the caller observes them all (see AwsSimBackend). */
  changes?: () => number;
  /** Lets syncs read only the instances a change concerns (see AwsSimBackend). */
  autoscaling?: AutoScalingClient;
}): Promise<KubeSim> {
  let urlFor: (cluster: string) => string = () => '';
  const backend = new AwsSimBackend({ ...deps, urlFor: (cluster) => urlFor(cluster) });
  const sim = await listen(
    backend,
    deps.port ?? 0,
    deps.maxPageItems === undefined ? {} : { maxPageItems: deps.maxPageItems },
  );
  urlFor = sim.urlFor;
  let syncing = false;
  let paused = false;
  const timer = setInterval(() => {
    if (syncing || paused) return;
    syncing = true;
    backend
      .syncAll()
      .catch((error: unknown) =>
        process.stderr.write(`kube-sim: sync failed: ${(error as Error).message}\n`),
      )
      .finally(() => (syncing = false));
  }, 1000);
  timer.unref();
  return {
    port: sim.port,
    urlFor: sim.urlFor,
    backend,
    pauseSync: (value) => {
      paused = value;
    },
    close: async () => {
      clearInterval(timer);
      await sim.close();
    },
  };
}
