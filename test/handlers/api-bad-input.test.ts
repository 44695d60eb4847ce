import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { readFixture } from '../helpers.js';
import type { fakeStepFunctions } from '../support/fake-sfn.js';
import { type ApiHandler, bodyOf, call, loadApi, resetMocks } from './api-harness.js';
import { serveSeedState } from './state-fixture.js';

// What a client can send wrong: each is a 4xx naming the problem, and starts nothing.
let api: Awaited<ReturnType<typeof loadApi>>;
let handler: ApiHandler;
let sfn: ReturnType<typeof fakeStepFunctions>;
const seed = readFixture('seed.yaml');
const seedObjects = () => parseAllDocuments(seed).map((d) => d.toJS());

beforeAll(async () => {
  api = await loadApi();
  handler = api.handler;
});
beforeEach(() => {
  sfn = resetMocks(api.s3, api.sfn);
  serveSeedState(api.s3);
});

const BOMB =
  'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';

describe('POST /clusters with a hostile manifest', () => {
  it('answers 413 for a valid manifest larger than the create state machine takes, starting nothing', async () => {
    const padded = `${seed}\n# ${'x'.repeat(70 * 1024)}\n`;

    const response = await call(handler, 'POST', '/clusters', { body: padded });

    expect(response.statusCode).toBe(413);
    expect(bodyOf(response).message).toContain('65536 bytes');
    expect(sfn.started()).toEqual([]);
  });

  it('answers 400 for a YAML alias bomb, with the field errors', async () => {
    const response = await call(handler, 'POST', '/clusters', { body: BOMB });

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response)).toMatchObject({
      message: 'the manifest is invalid',
      errors: [{ path: 'documents[0]', message: expect.stringContaining('Excessive alias count') }],
    });
    expect(sfn.started()).toEqual([]);
  });

  it('answers 400 for 5,000-deep JSON', async () => {
    const response = await call(handler, 'POST', '/clusters', {
      body: `${'['.repeat(5000)}${']'.repeat(5000)}`,
      headers: { 'Content-Type': 'application/json' },
    });

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).errors[0].message).toContain('nesting deeper than 64 levels');
  });

  it('answers 400 for a binary body', async () => {
    const response = await call(handler, 'POST', '/clusters', {
      body: Buffer.from([0xff, 0xfe, 0x00, 0x01]).toString('base64'),
      isBase64Encoded: true,
    });

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).message).toBe('the body is not UTF-8 text');
  });

  it('answers 413 for a manifest whose execution input would pass 256 KiB', async () => {
    // Each quote is escaped in the execution input's JSON: 150 KiB of them makes 300 KiB.
    const response = await call(handler, 'POST', '/clusters', {
      body: `${seed}# ${'"'.repeat(150 * 1024)}\n`,
    });

    expect(response.statusCode).toBe(413);
    expect(sfn.started()).toEqual([]);
  });
});

describe('JSON arrays and Lists are accepted as the CLI accepts them', () => {
  it('starts a create for a JSON array of the documents', async () => {
    const response = await call(handler, 'POST', '/clusters', {
      body: JSON.stringify(seedObjects()),
      headers: { 'Content-Type': 'application/json' },
    });

    expect(response.statusCode).toBe(202);
    expect(bodyOf(response).cluster).toBe('seed.example.com');
  });

  it('starts a create for a kind: List', async () => {
    const response = await call(handler, 'POST', '/clusters', {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: seedObjects() }),
      headers: { 'Content-Type': 'application/json' },
    });

    expect(response.statusCode).toBe(202);
  });
});

describe('bodies that are not the object a route takes', () => {
  it.each(['null', '[]', '5', '"all"', 'true'])(
    'answers 400 for a rolling-update body of %s',
    async (text) => {
      const response = await call(handler, 'POST', '/clusters/seed.example.com/rolling-update', {
        body: text,
      });

      expect(response.statusCode).toBe(400);
      expect(bodyOf(response).message).toMatch(/^the body must be a JSON object, not /);
      expect(sfn.started()).toEqual([]);
    },
  );

  it('answers 400 for a rolling-update body nested 5,000 deep', async () => {
    const response = await call(handler, 'POST', '/clusters/seed.example.com/rolling-update', {
      body: `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
    });

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).message).toBe('the body nests deeper than 16 levels');
  });

  it('answers 400 for {"manifest": null}', async () => {
    const response = await call(handler, 'POST', '/clusters', {
      body: '{"manifest": null}',
      headers: { 'Content-Type': 'application/json' },
    });

    expect(response.statusCode).toBe(400);
  });
});

describe('paths', () => {
  it.each([
    ['GET', '/clusters/%E0%A4%A'],
    ['POST', '/clusters/%/update'],
    ['POST', '/clusters/%zz/rolling-update'],
    ['DELETE', '/clusters/seed%2'],
    ['GET', '/clusters/seed.example.com/executions/%C'],
  ])('answers 400 naming the "%%" left in the path parameter of %s %s', async (method, path) => {
    const response = await call(handler, method, path);

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).message).toMatch(/^\{(name|id)\} ".*" holds a "%"/);
  });

  it('answers 400 for a cluster name that is no DNS name, before looking it up', async () => {
    const response = await call(handler, 'DELETE', '/clusters/Seed_Example');

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).message).toContain('"Seed_Example" is not a cluster name');
  });

  it("answers 400 for a cluster name whose api record is another cluster's internal one", async () => {
    const response = await call(handler, 'DELETE', '/clusters/internal.seed.example.com');

    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).message).toBe(
      '"internal.seed.example.com" is not a cluster name: its first label is "internal": its API record api.internal.seed.example.com would be the internal API record of cluster seed.example.com',
    );
    expect(sfn.started()).toEqual([]);
  });

  it('answers 400 for a cluster name too long for its api.internal record', async () => {
    const name = `${'a'.repeat(60)}.`.repeat(4).concat('io');

    const response = await call(handler, 'GET', `/clusters/${name}`);

    expect(name).toHaveLength(246);
    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).message).toContain('it has more than 240 characters');
  });

  it('answers 404 in JSON for a route it does not have', async () => {
    const response = await call(handler, 'PATCH', '/clusters/seed.example.com');

    expect(response.statusCode).toBe(404);
    expect(bodyOf(response).message).toBe('no route for PATCH /clusters/seed.example.com');
  });
});
