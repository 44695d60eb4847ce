import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';
import { localBackendForFile } from './run.js';

const { env } = localBackendForFile('kopsless-local-api-');
let server: ReturnType<typeof spawn>;
let url = '';

/** The call the README shows: curl signing with SigV4 for execute-api with the local credentials. */
function curl(path: string, args: string[] = []): { status: number; body: any } {
  const out = spawnSync(
    'curl',
    [
      '-s',
      '-w',
      '\n%{http_code}',
      '--aws-sigv4',
      'aws:amz:us-east-1:execute-api',
      '--user',
      'kopsless-local:kopsless-local',
      ...args,
      `${url}${path}`,
    ],
    { encoding: 'utf8' },
  );
  const lines = out.stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  return { status, body: JSON.parse(lines.join('\n') || 'null') };
}

beforeAll(async () => {
  server = spawn(
    process.execPath,
    ['--no-warnings', join(ROOT, 'bin', 'kopsless.mjs'), 'local', 'api', '--port', '0'],
    { env: { ...process.env, AWS_ENDPOINT_URL: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  server.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  for (let i = 0; i < 300 && !url; i++) {
    url = /kopsless API at (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(stdout)?.[1] ?? '';
    await sleep(100);
  }
  expect(url, stdout).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
}, 60_000);

afterAll(() => {
  if (server.pid) process.kill(server.pid, 'SIGTERM');
});

describe('kopsless local api', () => {
  it('creates a cluster from a curl --aws-sigv4 call and follows its execution to SUCCEEDED', async () => {
    const manifest = join(ROOT, 'test', 'fixtures', 'seed.yaml');
    const created = curl('/clusters', [
      '-X',
      'POST',
      '-H',
      'Content-Type: application/yaml',
      '--data-binary',
      `@${manifest}`,
    ]);
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    expect(created.body).toMatchObject({
      cluster: 'seed.example.com',
      operation: 'create-cluster',
    });
    let execution: any;
    for (let i = 0; i < 240; i++) {
      execution = curl(`/clusters/seed.example.com/executions/${created.body.executionId}`).body;
      if (execution.status !== 'RUNNING') break;
      await sleep(500);
    }
    expect(execution).toMatchObject({ status: 'SUCCEEDED', name: created.body.executionId });
    expect(curl('/clusters/seed.example.com').status).toBe(200);
  }, 180_000);

  it('refuses the same call unsigned', () => {
    const out = spawnSync('curl', ['-s', `${url}/clusters`], { encoding: 'utf8' });
    expect(JSON.parse(out.stdout)).toEqual({ message: 'Missing Authentication Token' });
  });
});
