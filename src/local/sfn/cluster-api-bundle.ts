import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FunctionLogicalId } from '../../functions-registry.js';
import {
  clusterApiShim,
  LAYER_DIRECTORY,
  LAYER_MODULE,
  SHIM_HANDLER,
} from '../../planning/cluster-api-shim.js';
import { clusterApiFunctionName } from '../../planning/names.js';
import {
  CLUSTER_API_MEMORY_MB,
  CLUSTER_API_TIMEOUT_SECONDS,
  clusterApiEnvironment,
} from '../../planning/stack-cluster-api.js';
import { BundlePool } from './bundles.js';
import {
  handlerErrorInvocation,
  invocationTarget,
  type LocalFunctionHost,
  type LocalInvocation,
  startLocalFunctionHost,
} from './cluster-api.js';
import type { LocalSettings } from './handlers.js';
import type { BuiltBundle } from './sam-build.js';
import type { TemplateFunction } from './sam-template.js';

/**
 * The clusters' API functions under `KOPSLESS_BUNDLES=1`, run as a cluster stack deploys them:
 * the inline `index.js` of the stack (src/planning/cluster-api-shim.ts) in a task directory of
 * each function's own, loading the ClusterApiLayer's bundle as built for the deployment (the
 * directory stands in for /opt), in warm processes of their own with the stack's environment,
 * MemorySize and Timeout. The shared functions' bundles reach them through Lambda's Invoke API
 * on 127.0.0.1, as the sources' runs reach the in-process ones.
 */

/**
 * Starts the Invoke host of the clusters' API functions over the layer built in `layerRoot`
 * (`<layerRoot>/kopsless/cluster-api.mjs`). Its `close` stops every function process it
 * started and removes their task directories.
 */
export async function startLayerFunctionHost(
  settings: LocalSettings,
  layerRoot: string,
): Promise<LocalFunctionHost> {
  const taskRoot = mkdtempSync(join(tmpdir(), 'kopsless-kubeapi-'));
  // Filled as clusters are first invoked: one function per cluster, as each cluster stack makes.
  const functions = {} as Record<FunctionLogicalId, TemplateFunction>;
  const bundles = {} as Record<FunctionLogicalId, BuiltBundle>;
  const pool = new BundlePool(functions, bundles, settings);
  const functionOf = (cluster: string): FunctionLogicalId => {
    const name = clusterApiFunctionName(cluster) as FunctionLogicalId;
    if (functions[name]) return name;
    const dir = join(taskRoot, name);
    mkdirSync(dir);
    // CloudFormation writes Code.ZipFile as index.js; the layer is where Lambda extracts it.
    writeFileSync(
      join(dir, 'index.js'),
      clusterApiShim(join(layerRoot, LAYER_DIRECTORY, LAYER_MODULE)),
    );
    const localKubeApi = settings.runtime?.localKubeApi;
    functions[name] = {
      logicalId: name,
      buildMethod: 'inline',
      buildProperties: {},
      handler: SHIM_HANDLER,
      runtime: 'nodejs22.x',
      memorySize: CLUSTER_API_MEMORY_MB,
      timeout: CLUSTER_API_TIMEOUT_SECONDS,
      environment: {
        ...clusterApiEnvironment(cluster, settings.config.stateBucket),
        // Where the simulated API serves the cluster: set by the local backend alone.
        ...(localKubeApi ? { KOPSLESS_KUBE_API: localKubeApi } : {}),
      },
    };
    bundles[name] = { logicalId: name, dir, module: join(dir, 'index.js'), exportName: 'handler' };
    return name;
  };
  const invoke = async (
    functionName: string,
    payload: string,
    qualifier?: string,
  ): Promise<LocalInvocation> => {
    const target = invocationTarget(functionName, payload, qualifier);
    if ('status' in target) return target;
    try {
      const answer = await pool.invoke(functionOf(target.cluster), target.event, qualifier);
      return { status: 200, payload: JSON.stringify(answer ?? null) };
    } catch (error) {
      return handlerErrorInvocation(error);
    }
  };
  const host = await startLocalFunctionHost(settings, invoke);
  return {
    url: host.url,
    close: async () => {
      await host.close();
      await pool.stop();
      rmSync(taskRoot, { recursive: true, force: true });
    },
  };
}
