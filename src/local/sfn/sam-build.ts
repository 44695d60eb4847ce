import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FunctionLogicalId } from '../../functions-registry.js';
import { LAYER_DIRECTORY, LAYER_MODULE } from '../../planning/cluster-api-shim.js';
import {
  handlerParts,
  PROJECT_ROOT,
  type TemplateFunction,
  type TemplateLayer,
  templateClusterApiLayer,
  templateFunctions,
} from './sam-template.js';

/**
 * Builds each function's bundle the way `sam build` does: the esbuild command line that the
 * SAM CLI's npm-esbuild workflow (aws-lambda-builders) composes from the function's
 * `Metadata.BuildProperties`, run with the project's own esbuild. template.yaml is the only
 * place build settings live; `npm run build` and the local runner's bundle mode both come here.
 */

/** Properties the builder sets itself, whatever the template says. */
const SET_BY_SAM = new Set(['bundle', 'platform', 'outdir']);
/** Properties the builder reads for itself and does not pass to esbuild. */
const NOT_PASSED = new Set(['entry_points', 'use_npm_ci']);

/** `OutExtension` -> `out_extension`, as the SAM CLI normalises BuildProperties. */
function snakeCase(key: string): string {
  return key.replace(/(?<!^)(?=[A-Z])/g, '_').toLowerCase();
}

/**
 * The esbuild arguments `sam build` runs for one function: its entry points, the builder's
 * fixed `--bundle --platform=node --outdir`, its defaults where the template sets nothing
 * (`--target=es2020`, `--format=cjs`, `--minify`), then every other BuildProperty as a flag
 * (true -> `--key`, false -> nothing, string -> `--key=value`, list -> one `--key:item` each).
 */
export function samEsbuildArguments(
  buildProperties: Record<string, unknown>,
  outdir: string,
  handler?: string,
): string[] {
  const properties = Object.fromEntries(
    Object.entries(buildProperties).map(([key, value]) => [snakeCase(key), value]),
  );
  const entryPoints =
    (properties.entry_points as string[] | undefined) ??
    (handler ? [handlerParts(handler).file] : []);
  if (!Array.isArray(entryPoints) || entryPoints.length === 0)
    throw new Error('BuildProperties.EntryPoints must be a non-empty list');
  const args = entryPoints.map((entry) => join(PROJECT_ROOT, entry));
  args.push('--bundle', '--platform=node', `--outdir=${outdir}`);
  if (!('target' in properties)) args.push('--target=es2020');
  if (!('format' in properties)) args.push('--format=cjs');
  if (!('minify' in properties)) args.push('--minify');
  for (const [key, value] of Object.entries(properties)) {
    if (SET_BY_SAM.has(key) || NOT_PASSED.has(key)) continue;
    const flag = `--${key.replaceAll('_', '-')}`;
    if (typeof value === 'boolean') {
      if (value) args.push(flag);
    } else if (typeof value === 'string' || typeof value === 'number') {
      args.push(`${flag}=${value}`);
    } else if (Array.isArray(value)) {
      for (const item of value) args.push(`${flag}:${item}`);
    } else {
      throw new Error(`BuildProperties.${key}: a boolean, a string or a list, got ${value}`);
    }
  }
  return args;
}

/**
 * The same settings as esbuild's JavaScript API options (for builds that are not a function's,
 * such as the benchmark's baselines): `--key=value` -> `{ key: value }`, `--key:a=b` -> `{ key: { a: b } }`.
 */
export function esbuildApiOptions(
  buildProperties: Record<string, unknown>,
): Record<string, unknown> {
  const options: Record<string, any> = {};
  const camel = (flag: string) => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
  for (const arg of samEsbuildArguments(buildProperties, '', 'entry.handler')) {
    const match = /^--([a-z-]+)(?:([:=])(.*))?$/s.exec(arg);
    if (!match) continue;
    const [, flag = '', separator, value = ''] = match;
    const key = camel(flag);
    if (key === 'outdir') continue;
    if (separator === ':') {
      const eq = value.indexOf('=');
      options[key] = { ...options[key], [value.slice(0, eq)]: value.slice(eq + 1) };
    } else options[key] = separator === '=' ? value : true;
  }
  return options;
}

/** The esbuild the SAM CLI would find for this project: its own, in node_modules/.bin. */
export const ESBUILD_BINARY = join(PROJECT_ROOT, 'node_modules', '.bin', 'esbuild');

/** One built function: where its artifacts are and the module file its Handler names. */
export interface BuiltBundle {
  logicalId: FunctionLogicalId;
  /** The function's artifact directory (`.aws-sam/build/<LogicalId>` for `sam build`). */
  dir: string;
  /** The module Lambda's Node.js runtime loads for the Handler (`<file>.js`, `.mjs` or `.cjs`). */
  module: string;
  /** The export the Handler names. */
  exportName: string;
}

/** The file Lambda's Node.js runtime loads for `<file>.<export>`: the first of .js, .mjs, .cjs that exists. */
export function handlerModule(dir: string, handler: string): string | undefined {
  const { file } = handlerParts(handler);
  return ['.js', '.mjs', '.cjs'].map((ext) => join(dir, `${file}${ext}`)).find(existsSync);
}

/** Builds one function into `<root>/<LogicalId>/`, as `sam build` into `.aws-sam/build/<LogicalId>/`. */
export async function buildBundle(
  fn: TemplateFunction,
  root: string,
  extraArguments: string[] = [],
): Promise<BuiltBundle> {
  if (fn.buildMethod !== 'esbuild')
    throw new Error(`${fn.logicalId}: Metadata.BuildMethod is "${fn.buildMethod}", not esbuild`);
  const dir = join(root, fn.logicalId);
  mkdirSync(dir, { recursive: true });
  const args = [
    ...samEsbuildArguments(fn.buildProperties, dir, fn.handler),
    '--log-level=warning',
    ...extraArguments,
  ];
  await promisify(execFile)(ESBUILD_BINARY, args, { cwd: PROJECT_ROOT }).catch(
    (error: Error & { stderr?: string }) => {
      throw new Error(`${fn.logicalId}: esbuild failed: ${error.stderr ?? error.message}`);
    },
  );
  const module = handlerModule(dir, fn.handler);
  if (!module)
    throw new Error(
      `${fn.logicalId}: the build made no module for Handler ${fn.handler} in ${dir}`,
    );
  return { logicalId: fn.logicalId, dir, module, exportName: handlerParts(fn.handler).exportName };
}

/** Builds every function of the template into `root`, at most two at a time. */
export async function buildAllBundles(
  root: string,
  functions: Record<FunctionLogicalId, TemplateFunction> = templateFunctions(),
): Promise<Record<FunctionLogicalId, BuiltBundle>> {
  const pending = Object.values(functions);
  const built: BuiltBundle[] = [];
  const worker = async () => {
    for (let fn = pending.shift(); fn; fn = pending.shift())
      built.push(await buildBundle(fn, root));
  };
  await Promise.all([worker(), worker()]);
  return Object.fromEntries(built.map((b) => [b.logicalId, b])) as Record<
    FunctionLogicalId,
    BuiltBundle
  >;
}

/** Where a bundle build of every function keeps the ClusterApiLayer's content (its /opt). */
export const CLUSTER_API_LAYER_BUILD = 'ClusterApiLayer';

/**
 * Builds the ClusterApiLayer's content into `root` (the Makefile's `$(ARTIFACTS_DIR)` under
 * `sam build`): the bundle at `<root>/kopsless/cluster-api.mjs`, which Lambda extracts to
 * `/opt/kopsless/cluster-api.mjs` for the inline handler of each cluster's API function.
 * Returns the module's path.
 */
export async function buildClusterApiLayer(
  root: string,
  layer: TemplateLayer = templateClusterApiLayer(),
): Promise<string> {
  const dir = join(root, LAYER_DIRECTORY);
  mkdirSync(dir, { recursive: true });
  const handler = `${LAYER_MODULE.replace(/\.mjs$/, '')}.handler`;
  const args = [...samEsbuildArguments(layer.buildProperties, dir, handler), '--log-level=warning'];
  await promisify(execFile)(ESBUILD_BINARY, args, { cwd: PROJECT_ROOT }).catch(
    (error: Error & { stderr?: string }) => {
      throw new Error(`${layer.logicalId}: esbuild failed: ${error.stderr ?? error.message}`);
    },
  );
  const module = join(dir, LAYER_MODULE);
  if (!existsSync(module))
    throw new Error(`${layer.logicalId}: the build made no ${LAYER_MODULE} in ${dir}`);
  return module;
}
