#!/usr/bin/env node
// Builds the kopsless CLI into dist/cli/ (run by `npm install` through the prepare script): ESM,
// one chunk per command module so that a command loads only what it uses, minified, with the
// packages bundled in (Node resolves and reads one file instead of hundreds). bin/kopsless.mjs runs it, or the TypeScript sources when it is missing or older
// than them (dist/cli/inputs.json lists the sources it was built from).
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { buildProblem } from '../bin/cli-build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI_OUTDIR = join(root, 'dist', 'cli');

/**
 * Modules that find files beside them (the moto wrapper, the ASL definitions, the simulated API's
 * entry) read `import.meta.url`; in a chunk it would name the chunk. Each source's own URL is put
 * back, relative to the chunk, so the build still works wherever the checkout is moved.
 */
const sourceUrls = {
  name: 'source-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const fromChunk = relative(CLI_OUTDIR, args.path).split('\\').join('/');
      return {
        contents: text.replaceAll(
          'import.meta.url',
          `new URL(${JSON.stringify(fromChunk)}, import.meta.url).href`,
        ),
        loader: 'ts',
      };
    });
  },
};

/** Files of earlier builds are removed once no command started before could still import them. */
const STALE_AFTER_MS = 60 * 60 * 1000;

export async function buildCli() {
  mkdirSync(CLI_OUTDIR, { recursive: true });
  const result = await build({
    entryPoints: { main: join(root, 'src', 'cli', 'main.ts') },
    outdir: CLI_OUTDIR,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The packages' ES module builds: their namespaces hold their named exports when imported
    // dynamically, and unused exports are left out.
    mainFields: ['module', 'main'],
    minify: true,
    banner: {
      js: "import { createRequire as __kopslessRequire } from 'node:module'; const require = __kopslessRequire(import.meta.url);",
    },
    chunkNames: '[name]-[hash]',
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
    plugins: [sourceUrls],
  });
  // The project's own sources: packages change only through npm install, which builds again.
  const inputs = Object.keys(result.metafile.inputs)
    .map((p) => relative(root, join(root, p)))
    .filter((p) => !p.startsWith('node_modules'));
  writeFileSync(join(CLI_OUTDIR, 'inputs.json'), `${JSON.stringify(inputs)}\n`);
  // A command running while the CLI is built again imports its chunks later: the old build's
  // files stay until it can no longer be running.
  const current = new Set(Object.keys(result.metafile.outputs).map((p) => join(root, p)));
  current.add(join(CLI_OUTDIR, 'inputs.json'));
  for (const name of readdirSync(CLI_OUTDIR)) {
    const file = join(CLI_OUTDIR, name);
    if (!current.has(file) && Date.now() - statSync(file).mtimeMs > STALE_AFTER_MS)
      rmSync(file, { force: true });
  }
  return { files: Object.keys(result.metafile.outputs).length, inputs: inputs.length };
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  // --if-stale: only when bin/kopsless.mjs would not run the build as it is.
  if (process.argv.includes('--if-stale') && buildProblem(root) === undefined) process.exit(0);
  const { files, inputs } = await buildCli();
  console.log(
    `kopsless CLI: ${inputs} sources -> ${files} files in ${relative(root, CLI_OUTDIR)}/`,
  );
}
