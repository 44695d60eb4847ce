/**
 * The cluster API function's own code in a cluster's stack: a few lines inline
 * (`Code.ZipFile`, which CloudFormation writes as `index.js`) that load the deployment's
 * ClusterApiLayer from /opt and hand it every invocation. The layer carries the bundle that
 * template.yaml builds (functions/cluster-api.ts), so the cluster stack needs no code of its own
 * in S3 and every cluster runs the code of the deployment that launched it.
 */

/** Where Lambda extracts the ClusterApiLayer's bundle: `/opt/<LAYER_DIRECTORY>/<LAYER_MODULE>`. */
export const LAYER_DIRECTORY = 'kopsless';
/** The bundle's file in the layer (an ES module, as every function's bundle is). */
export const LAYER_MODULE = 'cluster-api.mjs';
/** The bundle's path in a running function. */
export const LAYER_MODULE_PATH = `/opt/${LAYER_DIRECTORY}/${LAYER_MODULE}`;
/** The Handler of an inline function: CloudFormation writes ZipFile to `index.js`. */
export const SHIM_HANDLER = 'index.handler';

/**
 * The inline handler's source (CommonJS, as Node.js reads a lone `index.js`). The ES module is
 * imported once, at the first invocation, and kept as a warm container keeps its module.
 */
export function clusterApiShim(modulePath: string = LAYER_MODULE_PATH): string {
  return [
    "'use strict';",
    'let loaded;',
    'exports.handler = async (event, context) => {',
    `  loaded ??= import(${JSON.stringify(modulePath)});`,
    '  return (await loaded).handler(event, context);',
    '};',
    '',
  ].join('\n');
}
