#!/usr/bin/env node
// `npm run build`: every function's bundle exactly as `sam build` makes it, from the
// BuildProperties in template.yaml (the only place build settings live), into
// dist/functions/<LogicalId>/, and the ClusterApiLayer's into dist/layers/ClusterApiLayer/.
// Prints each bundle's size. `--layer DIR` builds only the layer's content into DIR: the
// Makefile's build-ClusterApiLayer target, which `sam build` runs with $(ARTIFACTS_DIR).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const { buildAllBundles, buildClusterApiLayer, esbuildApiOptions } = await tsImport(
  '../src/local/sfn/sam-build.ts',
  import.meta.url,
);
const { PROJECT_ROOT, templateFunctions } = await tsImport(
  '../src/local/sfn/sam-template.ts',
  import.meta.url,
);

/**
 * The template's build settings as esbuild API options, for builds that are not a function's
 * (the benchmark's baselines). Every function has the same BuildProperties but its entry point.
 */
export const BUNDLE_OPTIONS = esbuildApiOptions(
  templateFunctions().ValidateSpecFunction.buildProperties,
);

const layerFlag = process.argv.indexOf('--layer');
if (process.argv[1] === fileURLToPath(import.meta.url) && layerFlag !== -1) {
  const dir = process.argv[layerFlag + 1];
  if (!dir) throw new Error('--layer needs the directory to build the layer into');
  console.log(await buildClusterApiLayer(dir));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const layer = await buildClusterApiLayer(join(PROJECT_ROOT, 'dist', 'layers', 'ClusterApiLayer'));
  console.log(
    `${'ClusterApiLayer'.padEnd(22)} ${(statSync(layer).size / 1024).toFixed(0).padStart(6)} KiB  ${layer.slice(PROJECT_ROOT.length + 1)}`,
  );
  const built = await buildAllBundles(join(PROJECT_ROOT, 'dist', 'functions'));
  for (const bundle of Object.values(built).sort((a, b) => a.logicalId.localeCompare(b.logicalId)))
    console.log(
      `${bundle.logicalId.padEnd(22)} ${(statSync(bundle.module).size / 1024).toFixed(0).padStart(6)} KiB  ${bundle.module.slice(PROJECT_ROOT.length + 1)}`,
    );
}
