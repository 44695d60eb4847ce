import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { checkExitCode, checkManifest } from '../../src/manifest/check.js';
import { MANIFEST_LIMITS } from '../../src/manifest/parse.js';
import { readFixture } from '../helpers.js';

const seed = readFixture('seed.yaml');
const seedDocs = () => seed.split(/^---$/m).filter((d) => d.trim() !== '');

/** The nine-fold "billion laughs" alias bomb, in YAML. */
function aliasBomb(levels = 9): string {
  const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < levels; i++)
    lines.push(
      `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(',')}]`,
    );
  return `${lines.join('\n')}\n`;
}

function messages(input: string | Uint8Array): string[] {
  return checkManifest(input).errors.map((e) => `${e.path}: ${e.message}`);
}

describe('hostile manifests get an error, not a crash', () => {
  it('refuses a YAML alias bomb, naming aliases', () => {
    const check = checkManifest(aliasBomb());

    expect(checkExitCode(check)).toBe(1);
    expect(messages(aliasBomb())).toEqual([
      expect.stringMatching(/^documents\[0\]: Forbidden: YAML aliases: Excessive alias count/),
    ]);
  });

  it('refuses an alias that contains itself', () => {
    expect(messages('apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nspec: &s {x: *s}\n')).toEqual(
      [
        'documents[0]: Forbidden: a YAML alias refers to a node that contains it (the document would be infinite)',
      ],
    );
  });

  it('refuses an alias with no anchor', () => {
    expect(messages('a: *nowhere\n')).toEqual([
      expect.stringMatching(/^documents\[0\]: Forbidden: YAML aliases: Unresolved alias/),
    ]);
  });

  it('accepts a few aliases in a real manifest', () => {
    const withAlias = seed.replace(
      'kubernetesVersion:',
      'cloudLabels:\n    note: &note shared\n    again: *note\n    and-again: *note\n  kubernetesVersion:',
    );

    expect(checkManifest(withAlias).errors).toEqual([]);
    expect(checkManifest(withAlias).manifest?.cluster.spec.cloudLabels?.again).toBe('shared');
  });

  it('refuses YAML nested deeper than the limit, in block style', () => {
    let deep = '';
    for (let i = 0; i < 2000; i++) deep += `${' '.repeat(i)}a:\n`;

    expect(messages(deep)).toEqual([
      `documents[0]: Forbidden: nesting deeper than ${MANIFEST_LIMITS.maxDepth} levels of mappings and sequences`,
    ]);
  });

  it('refuses 5,000-deep JSON', () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;

    expect(messages(deep)).toEqual([
      `documents[0]: Forbidden: nesting deeper than ${MANIFEST_LIMITS.maxDepth} levels of mappings and sequences`,
    ]);
  });

  it('refuses nesting that aliases make deeper than the limit', () => {
    const half = MANIFEST_LIMITS.maxDepth - 2;
    const anchor = `${'['.repeat(half)}1${']'.repeat(half)}`;
    const text = `a: &d ${anchor}\nb: ${'['.repeat(half)}*d${']'.repeat(half)}\n`;

    expect(messages(text)).toEqual([
      `documents[0]: Forbidden: nesting deeper than ${MANIFEST_LIMITS.maxDepth} levels once YAML aliases expand`,
    ]);
  });

  it('refuses a mapping key that is a collection', () => {
    expect(messages('? [a, b]\n: 1\n')).toEqual([
      'documents[0]: Invalid value: "<mapping key>": a mapping key must be a scalar, not a mapping or a sequence',
    ]);
  });

  it('refuses YAML over the line limit before parsing it, and takes the same values as JSON', () => {
    const groups = Array.from(
      { length: MANIFEST_LIMITS.maxYamlLines / 5 },
      (_, i) => `  group-${i}:\n    a: 1\n    b: 2\n    c: 3\n    d: 4`,
    );
    const yaml = `${seed}\n---\nbig:\n${groups.join('\n')}\n`;

    const result = checkManifest(yaml);

    expect(checkExitCode(result)).toBe(1);
    expect(result.errors).toEqual([
      {
        path: 'manifest',
        message: expect.stringContaining(`limit of ${MANIFEST_LIMITS.maxYamlLines} lines of YAML`),
      },
    ]);
    expect(
      checkManifest(JSON.stringify(parseYaml(`big:\n${groups.join('\n')}\n`), null, 2)).errors.some(
        (e) => e.message.includes('lines of YAML'),
      ),
    ).toBe(false);
  });

  it('refuses text over the size limit before parsing it', () => {
    const huge = `${seed}\n# ${'x'.repeat(MANIFEST_LIMITS.maxBytes)}\n`;

    expect(messages(huge)).toEqual([
      'manifest: Forbidden: the manifest is over the limit of 8388608 bytes (8 MiB)',
    ]);
  });

  it('refuses bytes that are not UTF-8', () => {
    const bytes = Uint8Array.from([0xff, 0xfe, 0x00, 0x41, 0x3a, 0x20, 0x31, 0x0a]);

    expect(messages(bytes)).toEqual([
      'manifest: Invalid value: "<bytes>": the manifest is not UTF-8 text (binary data?): give a kOps manifest in YAML or JSON',
    ]);
  });

  it('refuses text holding NUL, naming the line', () => {
    expect(messages('a: 1\nb: \0\n')).toEqual([
      'manifest: Invalid value: "<binary>": a NUL character at line 2: the manifest must be YAML or JSON text',
    ]);
  });

  it('reads UTF-8 bytes with a BOM as the text', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(seed)]);

    expect(checkExitCode(checkManifest(bytes))).toBe(0);
  });

  it('keeps !!binary and !!timestamp values as plain data', () => {
    const text = seed.replace(
      'kubernetesVersion:',
      'cloudLabels:\n    blob: !!binary aGVsbG8=\n    when: !!timestamp 2001-12-14\n  kubernetesVersion:',
    );

    expect(checkManifest(text).errors).toEqual([]);
  });
});

describe('JSON arrays and Lists hold the same manifest as separate documents', () => {
  it('accepts a JSON array of the documents', () => {
    const docs = seedDocs().map((d) => JSON.stringify(parseYaml(d)));
    const check = checkManifest(`[${docs.join(',')}]`);

    expect(checkExitCode(check)).toBe(0);
    expect(check.cluster).toBe('seed.example.com');
    expect(check.instanceGroups).toHaveLength(3);
  });

  it('accepts a kind: List (as kubectl writes one), in YAML', () => {
    const items = seedDocs().map((d) => parseYaml(d));
    const check = checkManifest(stringify({ apiVersion: 'v1', kind: 'List', items }));

    expect(checkExitCode(check)).toBe(0);
    expect(check.instanceGroups).toHaveLength(3);
  });

  it('reports problems of a List item under its path', () => {
    const items = seedDocs().map((d) => parseYaml(d));
    items[0].apiVersion = 'kops/v0';

    expect(messages(JSON.stringify({ apiVersion: 'v1', kind: 'List', items }))).toContain(
      'documents[0].items[0].apiVersion: Unsupported value: "kops/v0": supported values: "kops.k8s.io/v1alpha2"',
    );
  });

  it('refuses a List without items', () => {
    expect(messages('{"apiVersion": "v1", "kind": "List"}')).toContain(
      'documents[0].items: Required value: a List holds its documents in items',
    );
  });
});

describe('a key repeated in one mapping is refused, in YAML and JSON alike', () => {
  const clusterWith = (extra: string) =>
    seed.replace('  channel: stable\n', `  channel: stable\n${extra}`);

  it('refuses a repeated YAML key, naming the key and its line', () => {
    const text = clusterWith('  channel: alpha\n');
    const line = text.split('\n').indexOf('  channel: alpha') + 1;

    expect(messages(text)).toEqual([
      `documents[0]: YAML syntax error at line ${line}: Map keys must be unique: "channel" is repeated at line ${line}, column 3`,
    ]);
  });

  it('refuses the last of 20,000 labels when it repeats the first', () => {
    const labels = Array.from(
      { length: 20_000 },
      (_, i) => `    k${i}.example.com/lbl-${i}: v${i}\n`,
    ).join('');
    const text = seed.replace(
      '  nodeLabels:\n',
      `  nodeLabels:\n${labels}    k0.example.com/lbl-0: again\n`,
    );

    expect(messages(text)[0]).toMatch(
      /^documents\[1\]: YAML syntax error at line \d+: Map keys must be unique: "k0\.example\.com\/lbl-0" is repeated/,
    );
  });

  it('refuses keys that become one key once read (1 and "1")', () => {
    expect(messages(clusterWith('  x-a:\n    1: one\n    "1": again\n'))).toEqual([
      expect.stringMatching(/Map keys must be unique: "1" is repeated/),
    ]);
  });

  it('refuses a repeated JSON key instead of keeping the last', () => {
    const docs = seedDocs().map((d) => JSON.stringify(parseYaml(d)));
    docs[0] = docs[0]!.replace('"channel":"stable"', '"channel":"stable",\n"channel":"alpha"');

    expect(messages(`[${docs.join(',')}]`)).toEqual([
      'documents[0]: YAML syntax error at line 2: Map keys must be unique: "channel" is repeated at line 2, column 1',
    ]);
  });

  it('refuses a repeated JSON key written with an escape', () => {
    expect(messages('{"kind": "Cluster", "\\u006bind": "List"}')).toEqual([
      'documents[0]: YAML syntax error at line 1: Map keys must be unique: "kind" is repeated at line 1, column 21',
    ]);
  });

  it('accepts one key in sibling JSON objects and strings that look like keys', () => {
    const docs = seedDocs().map((d) => parseYaml(d));
    docs[0].spec.cloudLabels = { note: '{"channel": 1, "channel": 2}' };

    expect(checkManifest(JSON.stringify(docs)).errors).toEqual([]);
  });
});
