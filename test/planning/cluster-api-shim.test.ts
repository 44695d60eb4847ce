import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildClusterApiLayer } from '../../src/local/sfn/sam-build.js';
import {
  clusterApiShim,
  LAYER_DIRECTORY,
  LAYER_MODULE,
} from '../../src/planning/cluster-api-shim.js';

/**
 * The inline handler of a cluster's API function, run as Lambda runs it: `index.js` in a task
 * directory of its own, loaded with require by a fresh Node.js process, with the layer's bundle
 * built by the template's build in a directory that stands in for /opt.
 */

let opt: string;
let task: string;

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'kopsless-layer-'));
  opt = join(root, 'opt');
  task = join(root, 'task');
  await buildClusterApiLayer(opt);
  mkdirSync(task);
  writeFileSync(join(task, 'index.js'), clusterApiShim(join(opt, LAYER_DIRECTORY, LAYER_MODULE)));
}, 120_000);

/** Invokes the shim's handler in a new process; its answer or its error, as JSON. */
async function invoke(
  event: unknown,
): Promise<{ answer?: unknown; error?: { name: string; message: string } }> {
  const script = `
    const { handler } = require(${JSON.stringify(join(task, 'index.js'))});
    handler(${JSON.stringify(event)}, { functionName: 'f', awsRequestId: 'r', getRemainingTimeInMillis: () => 60000 })
      .then((answer) => process.stdout.write(JSON.stringify({ answer })))
      .catch((e) => process.stdout.write(JSON.stringify({ error: { name: e.name, message: e.message } })));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
    cwd: task,
    env: {
      PATH: process.env.PATH ?? '',
      CLUSTER_NAME: 'a.example.com',
      STATE_BUCKET: 'state-bucket',
      AWS_REGION: 'us-east-1',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    },
  });
  return JSON.parse(stdout);
}

describe('cluster API function shim', () => {
  it('loads the layer bundle and refuses a request for another cluster', async () => {
    const out = await invoke({ cluster: 'b.example.com', action: 'published' });

    expect(out.error?.name).toBe('InvalidInputError');
    expect(out.error?.message).toMatch(
      /serves cluster "a\.example\.com" only, not "b\.example\.com"/,
    );
  }, 60_000);

  it('refuses an operation outside the allow-list before any request', async () => {
    const out = await invoke({ cluster: 'a.example.com', action: 'deleteNamespace', name: 'x' });

    expect(out.error?.name).toBe('UnknownActionError');
    expect(out.error?.message).toMatch(/deleteNamespace/);
  }, 60_000);
});
