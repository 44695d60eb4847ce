import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { readFixture } from '../helpers.js';
import { mutatedManifest } from '../support/manifest-mutations.js';
import { kopsless } from './run.js';

// `kopsless check` as a user runs it, on input meant to break it: exit 1 with the -o json shape
// on stdout, and never a stack trace.
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kopsless-hostile-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const seed = readFixture('seed.yaml');
const stackLines = (text: string) => text.split('\n').filter((l) => /^\s+at /.test(l));
const BOMB =
  'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function checkJson(path: string) {
  const result = await kopsless(['check', '-f', path, '-o', 'json']);
  return {
    ...result,
    json: JSON.parse(result.stdout) as {
      valid: boolean;
      errors: Array<{ path: string; message: string }>;
    },
  };
}

describe('kopsless check -o json on hostile files', () => {
  it.each([
    ['an alias bomb', 'bomb.yaml', BOMB, 'documents[0]'],
    ['5,000-deep JSON', 'deep.json', `${'['.repeat(5000)}${']'.repeat(5000)}`, 'documents[0]'],
    [
      'binary bytes',
      'binary.yaml',
      Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0xff, 0x00, 0x01]),
      'manifest',
    ],
  ])(
    'exits 1 for %s with the JSON shape and no stack trace',
    async (_what, name, content, path) => {
      const result = await checkJson(file(name, content));

      expect(result.code).toBe(1);
      expect(Object.keys(result.json)).toEqual([
        'valid',
        'cluster',
        'instanceGroups',
        'errors',
        'unsupported',
      ]);
      expect(result.json.errors[0]).toMatchObject({ path, message: expect.any(String) });
      expect(stackLines(result.stderr)).toEqual([]);
    },
    60_000,
  );

  it('exits 1 for a file over the size limit, naming the limit', async () => {
    const result = await checkJson(file('huge.yaml', `${seed}# ${'x'.repeat(9 * 1024 * 1024)}\n`));

    expect(result.code).toBe(1);
    expect(result.json.errors).toEqual([
      {
        path: 'manifest',
        message: 'Forbidden: the manifest is over the limit of 8388608 bytes (8 MiB)',
      },
    ]);
  }, 60_000);

  it('exits 0 for the seed as a kind: List on stdin, as the API accepts it', async () => {
    const list = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: parseAllDocuments(seed).map((d) => d.toJS()),
    });

    const result = await kopsless(['check', '-f', '-'], {}, list);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('cluster "seed.example.com" is valid (3 instance groups)');
  }, 60_000);
});

describe('kopsless check -o json on keys named like Object.prototype members', () => {
  it('exits 1 reporting spec.hasOwnProperty and spec.valueOf as unknown fields', async () => {
    const text = seed.replace(
      '  channel: stable\n',
      '  channel: stable\n  hasOwnProperty: 1\n  valueOf: 2\n',
    );

    const result = await kopsless(['check', '-f', file('proto.yaml', text), '-o', 'json']);

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).errors.map((u: { path: string }) => u.path)).toEqual([
      'spec.hasOwnProperty',
      'spec.valueOf',
    ]);
    expect(stackLines(result.stderr)).toEqual([]);
  }, 60_000);
});

describe('kopsless check on a few fuzzed manifests', () => {
  it('exits 0, 1 or 3 with the JSON shape and no stack trace', async () => {
    const cases = fc.sample(mutatedManifest(), { numRuns: 4, seed: 20261125 });
    for (const [i, { text, label }] of cases.entries()) {
      const result = await checkJson(file(`fuzz-${i}.yaml`, text));

      expect([0, 1, 3], label).toContain(result.code);
      expect(Object.keys(result.json), label).toEqual([
        'valid',
        'cluster',
        'instanceGroups',
        'errors',
        'unsupported',
      ]);
      expect(stackLines(result.stderr), label).toEqual([]);
    }
  }, 180_000);
});
