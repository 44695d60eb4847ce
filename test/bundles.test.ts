import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { FUNCTIONS, type FunctionLogicalId } from '../src/functions-registry.js';
import { lambdaEnvironment } from '../src/local/sfn/bundles.js';
import { type BuiltBundle, buildBundle, samEsbuildArguments } from '../src/local/sfn/sam-build.js';
import { templateFunctions } from '../src/local/sfn/sam-template.js';
import { ROOT } from './helpers.js';
import { readTemplate } from './support/template.js';

// @ts-expect-error: a plain ESM script (`npm run build`), no type declarations.
const { BUNDLE_OPTIONS } = (await import('../scripts/build.mjs')) as {
  BUNDLE_OPTIONS: Record<string, unknown>;
};

/** The AWS SDK clients each function calls; its bundle must hold those and no others. */
const CLIENTS: Record<FunctionLogicalId, string[]> = {
  ValidateSpecFunction: ['ec2', 'route-53'],
  WriteStateFunction: ['s3', 'sfn'],
  LaunchClusterFunction: ['auto-scaling', 'cloudformation', 'ec2', 'iam', 'route-53', 's3'],
  VerifyDnsFunction: ['cloudformation', 'ec2', 'route-53', 's3'],
  RollingUpdateFunction: [
    'auto-scaling',
    'cloudformation',
    'ec2',
    'elastic-load-balancing-v2',
    // Invokes the clusters' API functions.
    'lambda',
    'route-53',
    's3',
  ],
  DeleteClusterFunction: ['auto-scaling', 'cloudformation', 'ec2', 'iam', 'route-53', 's3'],
  WatchEniFunction: ['cloudformation', 'ec2', 'lambda', 's3', 'sfn'],
  ApiFunction: ['s3', 'sfn'],
  NotifyFunction: ['sns'],
};

const LOGICAL_IDS = Object.keys(FUNCTIONS) as FunctionLogicalId[];

/** The BuildProperties template.yaml gives a function, read by the tests' own template parser. */
function buildProperties(logicalId: string): Record<string, any> {
  return readTemplate().Resources[logicalId]!.Metadata!.BuildProperties;
}

describe("the esbuild command `sam build` runs (aws-lambda-builders' npm-esbuild workflow)", () => {
  it('passes true as --key, a string as --key=value and each list item as --key:item, and drops false', () => {
    const args = samEsbuildArguments(
      {
        EntryPoints: ['functions/api.ts'],
        Format: 'esm',
        OutExtension: ['.js=.mjs'],
        Minify: false,
        Sourcemap: true,
        Banner: ['js=const a = 1;'],
      },
      '/out',
    );

    expect(args).toEqual([
      join(ROOT, 'functions/api.ts'),
      '--bundle',
      '--platform=node',
      '--outdir=/out',
      '--target=es2020',
      '--format=esm',
      '--out-extension:.js=.mjs',
      '--sourcemap',
      '--banner:js=const a = 1;',
    ]);
  });

  it("takes SAM's defaults and the Handler's file when the template sets nothing", () => {
    expect(samEsbuildArguments({}, '/out', 'app.handler')).toEqual([
      join(ROOT, 'app'),
      '--bundle',
      '--platform=node',
      '--outdir=/out',
      '--target=es2020',
      '--format=cjs',
      '--minify',
    ]);
  });

  it('ignores the settings the builder makes itself', () => {
    const args = samEsbuildArguments(
      { EntryPoints: ['a.ts'], Bundle: false, Platform: 'browser', Outdir: '/elsewhere' },
      '/out',
    );

    expect(args.filter((a) => /browser|elsewhere/.test(a))).toEqual([]);
  });
});

describe('one build: template.yaml is the only source of build settings', () => {
  it('the build reads each function as the template declares it', () => {
    const functions = templateFunctions();

    for (const id of LOGICAL_IDS) {
      expect(functions[id].buildProperties).toEqual(buildProperties(id));
      expect(functions[id].buildMethod).toBe('esbuild');
    }
  });

  it("npm run build's shared options (the benchmark's baselines) are the template's, every function having the same but its entry point", () => {
    const { EntryPoints: _entry, ...shared } = buildProperties('ValidateSpecFunction');
    for (const id of LOGICAL_IDS) {
      const { EntryPoints: _own, ...rest } = buildProperties(id);
      expect(rest).toEqual(shared);
    }
    const pairs = (items: string[]) =>
      Object.fromEntries(
        items.map((i) => [i.slice(0, i.indexOf('=')), i.slice(i.indexOf('=') + 1)]),
      );

    expect(BUNDLE_OPTIONS).toEqual({
      bundle: true,
      platform: 'node',
      format: shared.Format,
      target: shared.Target,
      minify: shared.Minify,
      sourcemap: shared.Sourcemap,
      outExtension: pairs(shared.OutExtension),
      banner: pairs(shared.Banner),
    });
  });
});

describe('the bundles as `sam build` builds them', () => {
  const out = mkdtempSync(join(tmpdir(), 'kopsless-sam-build-'));
  const built = {} as Record<FunctionLogicalId, BuiltBundle>;
  const functions = templateFunctions();

  beforeAll(async () => {
    const pending = [...LOGICAL_IDS];
    const worker = async () => {
      for (let id = pending.shift(); id; id = pending.shift())
        built[id] = await buildBundle(functions[id], out, [
          `--metafile=${join(out, `${id}.meta.json`)}`,
        ]);
    };
    await Promise.all([worker(), worker()]);
  }, 300_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it.each(LOGICAL_IDS)('%s starts with the Banner its BuildProperties give', (id) => {
    const banner = (buildProperties(id).Banner as string[])[0]!.replace(/^js=/, '');

    expect(readFileSync(built[id].module, 'utf8').startsWith(banner)).toBe(true);
  });

  it.each(LOGICAL_IDS)(
    '%s holds only its own AWS clients and none of the local test doubles',
    (id) => {
      const inputs = Object.keys(
        JSON.parse(readFileSync(join(out, `${id}.meta.json`), 'utf8')).inputs,
      );
      const clients = [
        ...new Set(
          inputs
            .map((p) => /node_modules\/@aws-sdk\/client-([a-z0-9-]+)\//.exec(p)?.[1])
            .filter(Boolean),
        ),
      ].sort();

      expect(clients).toEqual(CLIENTS[id]);
      expect(
        inputs.filter(
          (p) =>
            p.startsWith('src/local/') ||
            p.includes('aws-local-stepfunctions') ||
            p.includes('commander'),
        ),
      ).toEqual([]);
    },
  );

  it.each(LOGICAL_IDS)(
    '%s imports in a fresh Node process with its template environment and exports the Handler the template names',
    async (id) => {
      const settings = {
        config: readConfig({ STATE_BUCKET: 'kopsless-state', AWS_REGION: 'us-east-1' }),
        runtime: {
          aws: {
            endpoint: 'http://127.0.0.1:9',
            credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
          },
        },
      };
      const script = `const m = await import(${JSON.stringify(pathToFileURL(built[id].module).href)}); process.stdout.write(typeof m[${JSON.stringify(built[id].exportName)}]);`;

      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--input-type=module', '-e', script],
        { env: lambdaEnvironment(functions[id], built[id], settings), cwd: built[id].dir },
      );

      expect(functions[id].handler).toBe(`${FUNCTIONS[id]}.${built[id].exportName}`);
      expect(stdout).toBe('function');
    },
    60_000,
  );
});
