#!/usr/bin/env node
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// One esbuild bundle per Lambda (what `sam build` makes from template.yaml's BuildProperties):
// dist/<function>/index.mjs, ESM, minified, with a source map. Prints each bundle's size.
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const functions = readdirSync(join(root, 'functions'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''));

/** Shared esbuild settings; the benchmark builds its baselines with the same ones. */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  // Some dependencies are CommonJS and call require(); ESM bundles need one.
  banner: {
    js: "import { createRequire as __kopslessRequire } from 'node:module'; const require = __kopslessRequire(import.meta.url);",
  },
  logLevel: 'warning',
};

export async function buildFunction(name, outdir = join(root, 'dist')) {
  const outfile = join(outdir, name, 'index.mjs');
  await build({ ...BUNDLE_OPTIONS, entryPoints: [join(root, 'functions', `${name}.ts`)], outfile });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const name of functions) {
    const file = await buildFunction(name);
    console.log(
      `${name.padEnd(16)} ${(statSync(file).size / 1024).toFixed(0).padStart(6)} KiB  ${file.slice(root.length + 1)}`,
    );
  }
}
