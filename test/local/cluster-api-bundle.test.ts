import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterApiClient } from '../../src/aws/cluster-api-lambda.js';
import { readConfig } from '../../src/config.js';
import { AwsRequestError } from '../../src/errors.js';
import type { ClusterApiRequest } from '../../src/kube/cluster-api-protocol.js';
import type { LocalFunctionHost } from '../../src/local/sfn/cluster-api.js';
import { startLayerFunctionHost } from '../../src/local/sfn/cluster-api-bundle.js';
import { buildClusterApiLayer } from '../../src/local/sfn/sam-build.js';
import { clusterApiFunctionName } from '../../src/planning/names.js';

// The clusters' API functions as KOPSLESS_BUNDLES=1 runs them: the stack's inline handler over
// the ClusterApiLayer built as `sam build` builds it, each in a process of its own, invoked
// through Lambda's Invoke API on 127.0.0.1 by the SDK's Lambda client.
const root = mkdtempSync(join(tmpdir(), 'kopsless-layer-host-'));
const settings = {
  config: readConfig({ STATE_BUCKET: 'fixture-bucket', AWS_REGION: 'us-east-1' }),
  runtime: {
    aws: {
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    },
  },
};
let host: LocalFunctionHost;

beforeAll(async () => {
  await buildClusterApiLayer(join(root, 'opt'));
  host = await startLayerFunctionHost(settings, join(root, 'opt'));
}, 120_000);
afterAll(async () => {
  await host?.close();
  rmSync(root, { recursive: true, force: true });
});

const invoker = () =>
  clusterApiClient({
    endpoint: host.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });

describe('cluster API functions from the layer', () => {
  it("refuses an operation outside the allow-list in the layer's own handler, as a permanent error", async () => {
    const request = { cluster: 'a.example.com', action: 'getSecret', name: 'x' };

    const answer = invoker()(request as unknown as ClusterApiRequest);

    await expect(answer).rejects.toBeInstanceOf(AwsRequestError);
    await expect(answer).rejects.toThrow(/UnknownActionError: .*getSecret/);
  }, 60_000);

  it('refuses an etcd removal that names an address instead of an instance', async () => {
    const request = {
      cluster: 'a.example.com',
      action: 'removeEtcdMember',
      instanceId: 'https://10.0.0.9:2379',
    };

    const answer = invoker()(request as unknown as ClusterApiRequest);

    await expect(answer).rejects.toThrow(/InvalidInputError: .*instanceId/);
  }, 60_000);

  it('refuses an etcd operation invoked on the function rather than its etcd alias', async () => {
    const removal = {
      cluster: 'a.example.com',
      action: 'removeEtcdMember',
      instanceId: 'i-0123456789abcdef0',
    };

    const answer = await fetch(
      `${host.url}/2015-03-31/functions/${clusterApiFunctionName('a.example.com')}/invocations`,
      { method: 'POST', body: JSON.stringify(removal) },
    );

    expect(answer.headers.get('x-amz-function-error')).toBe('Unhandled');
    expect(await answer.text()).toMatch(
      /InvalidInputError.*served only through this function's \\"etcd\\" alias/,
    );
  }, 60_000);

  it('passes the etcd alias on to the function, past its check', async () => {
    const removal: ClusterApiRequest = {
      cluster: 'a.example.com',
      action: 'removeEtcdMember',
      instanceId: 'i-0123456789abcdef0',
    };

    // No state store answers here: the function gets as far as reading the kubeconfig.
    const answer = invoker()(removal).catch((error: Error) => error);

    const error = String(await answer);
    expect(error).toMatch(
      /kopsless-kubeapi-a-example-com-[0-9a-f]+:etcd: TransientAwsError: .*ECONNREFUSED/,
    );
    expect(error).not.toMatch(/served only through/);
  }, 60_000);

  it('finds no alias the stack does not make', async () => {
    const answer = await fetch(
      `${host.url}/2015-03-31/functions/${clusterApiFunctionName('a.example.com')}/invocations?Qualifier=live`,
      { method: 'POST', body: JSON.stringify({ cluster: 'a.example.com', action: 'published' }) },
    );

    expect(answer.status).toBe(404);
    expect(await answer.text()).toMatch(/Function not found: .*:live/);
  });

  it("finds no function for a request sent to another cluster's function name", async () => {
    const answer = await fetch(
      `${host.url}/2015-03-31/functions/${clusterApiFunctionName('b.example.com')}/invocations`,
      { method: 'POST', body: JSON.stringify({ cluster: 'a.example.com', action: 'published' }) },
    );

    expect(answer.status).toBe(404);
    expect(await answer.text()).toMatch(/Function not found/);
  });
});
