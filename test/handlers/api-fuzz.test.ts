import fc from 'fast-check';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readFixture } from '../helpers.js';
import { mutatedManifest } from '../support/manifest-mutations.js';
import { type ApiHandler, apiEvent, loadApi, resetMocks } from './api-harness.js';
import { serveSeedState } from './state-fixture.js';
import { lambdaContext } from './support.js';

// Fuzzing the API handler (middy, router, routes) over API Gateway events a client can make:
// every answer is 2xx, 400, 404, 409 or 413 with a JSON body, never a 500 or a throw.
let api: Awaited<ReturnType<typeof loadApi>>;
let handler: ApiHandler;
beforeAll(async () => {
  api = await loadApi();
  handler = api.handler;
});
beforeEach(() => {
  resetMocks(api.s3, api.sfn);
  serveSeedState(api.s3);
});

const seed = readFixture('seed.yaml');

/** Path segments: mostly the seed cluster, else other names, bad percent escapes, odd characters. */
const segment = fc.oneof(
  { weight: 3, arbitrary: fc.constant('seed.example.com') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'nope.example.com',
      '%',
      '%zz',
      '%E0%A4%A',
      '%C0%AF',
      '%00',
      '%2F',
      '..',
      'a%2Fb',
      'Seed.Example.Com',
      'x'.repeat(300),
      '🙂',
      '%F0%9F%99%82',
      'update',
      'executions',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map((s) => s.replace(/\//g, '')) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).map((s) => encodeURIComponent(s)),
  },
);

/** A method and path: mostly one of the API's routes, sometimes anything. */
const route: fc.Arbitrary<[string, string]> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(['POST', '/clusters'] as [string, string]) },
  { weight: 1, arbitrary: fc.constant(['GET', '/clusters'] as [string, string]) },
  { weight: 1, arbitrary: segment.map((n): [string, string] => ['GET', `/clusters/${n}`]) },
  { weight: 2, arbitrary: segment.map((n): [string, string] => ['POST', `/clusters/${n}/update`]) },
  {
    weight: 3,
    arbitrary: segment.map((n): [string, string] => ['POST', `/clusters/${n}/rolling-update`]),
  },
  { weight: 2, arbitrary: segment.map((n): [string, string] => ['DELETE', `/clusters/${n}`]) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(segment, segment)
      .map(([n, id]): [string, string] => ['GET', `/clusters/${n}/executions/${id}`]),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'get'),
      fc.oneof(
        fc.constant('/clusters'),
        segment.map((n) => `/clusters/${n}`),
        fc.array(segment, { maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
      ),
    ),
  },
);

const deepJson = fc.integer({ min: 20, max: 6000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`);
const deepObject = fc
  .integer({ min: 20, max: 6000 })
  .map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`);

const body: fc.Arbitrary<{ body: string | null; isBase64Encoded?: boolean }> = fc.oneof(
  fc.constant({ body: seed }),
  fc
    .constantFrom(
      null,
      '',
      'null',
      '[]',
      '{}',
      '5',
      '"x"',
      'true',
      '{"instanceGroups":null}',
      '{"instanceGroups":[1]}',
      '{"instanceGroups":["nodes-us-east-1a"],"force":true}',
      '{"force":"yes"}',
      '{"manifest":null}',
      '{"manifest":5}',
      seed,
    )
    .map((b) => ({ body: b })),
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({ body: JSON.stringify(v) ?? null })),
  fc.oneof(deepJson, deepObject).map((b) => ({ body: b })),
  mutatedManifest().map((m) => ({ body: m.text })),
  mutatedManifest().map((m) => ({ body: JSON.stringify({ manifest: m.text }) })),
  fc.string({ maxLength: 200 }).map((b) => ({ body: b })),
  fc
    .uint8Array({ maxLength: 64 })
    .map((bytes) => ({ body: Buffer.from(bytes).toString('base64'), isBase64Encoded: true })),
  fc.constant({ body: 'not base64 at all!', isBase64Encoded: true }),
);

const headers = fc.record(
  {
    'Content-Type': fc.constantFrom(
      'application/json',
      'application/yaml',
      'text/plain',
      'application/octet-stream',
      '',
      'application/json; charset=latin1',
    ),
    'Idempotency-Key': fc.oneof(
      fc.constantFrom('k-1', '', ' ', 'x'.repeat(300), 'ключ'),
      fc.string({ maxLength: 20 }),
    ),
  },
  { requiredKeys: [] },
);

describe('the API over fuzzed requests', () => {
  it('answers every request with 2xx, 400, 404, 409 or 413 and a JSON body', async () => {
    await fc.assert(
      fc.asyncProperty(route, body, headers, async ([m, p], b, h) => {
        const response = await handler(
          apiEvent(m, p, { ...b, headers: h as Record<string, string> }),
          lambdaContext,
        );

        expect(
          [200, 202, 400, 404, 409, 413],
          `${m} ${p} -> ${response.statusCode}: ${response.body?.slice(0, 200)}`,
        ).toContain(response.statusCode);
        const parsed = JSON.parse(response.body);
        if (response.statusCode >= 400) expect(typeof parsed.message).toBe('string');
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
    );
  }, 180_000);
});
