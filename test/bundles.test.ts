import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../src/functions-registry.js';
import { ROOT } from './helpers.js';

// @ts-expect-error: a plain ESM script shared with `npm run build`, no type declarations.
const { BUNDLE_OPTIONS } = (await import('../scripts/build.mjs')) as {
  BUNDLE_OPTIONS: Record<string, unknown>;
};

/** The AWS SDK clients each function calls; its bundle must hold those and no others. */
const CLIENTS: Record<keyof typeof FUNCTIONS, string[]> = {
  ValidateSpecFunction: ['ec2', 'route-53'],
  WriteStateFunction: ['s3', 'sfn'],
  LaunchClusterFunction: ['auto-scaling', 'cloudformation', 'ec2', 'route-53', 's3'],
  VerifyDnsFunction: ['cloudformation', 'ec2', 'route-53', 's3'],
  RollingUpdateFunction: ['auto-scaling', 'cloudformation', 'ec2', 'route-53', 's3'],
  DeleteClusterFunction: ['auto-scaling', 'cloudformation', 'ec2', 'iam', 'route-53', 's3'],
  WatchEniFunction: ['cloudformation', 'ec2', 's3', 'sfn'],
  ApiFunction: ['s3', 'sfn'],
};

describe('Lambda bundles', () => {
  const out = mkdtempSync(join(tmpdir(), 'kopsless-bundles-'));

  it.each(Object.entries(FUNCTIONS))(
    '%s builds with only its own AWS clients and none of the local test doubles',
    async (logicalId, file) => {
      const result = await build({
        ...BUNDLE_OPTIONS,
        entryPoints: [join(ROOT, 'functions', `${file}.ts`)],
        outfile: join(out, file, 'index.mjs'),
        metafile: true,
        write: true,
      });
      const inputs = Object.keys(result.metafile.inputs);
      const clients = [
        ...new Set(
          inputs
            .map((p) => /node_modules\/@aws-sdk\/client-([a-z0-9-]+)\//.exec(p)?.[1])
            .filter(Boolean),
        ),
      ].sort();

      expect(result.errors).toEqual([]);
      expect(clients).toEqual(CLIENTS[logicalId as keyof typeof FUNCTIONS]);
      expect(
        inputs.filter(
          (p) =>
            p.startsWith('src/local/') ||
            p.includes('aws-local-stepfunctions') ||
            p.includes('commander'),
        ),
      ).toEqual([]);
    },
    60_000,
  );
});
