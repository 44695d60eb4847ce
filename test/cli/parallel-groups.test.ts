import { describe, expect, it } from 'vitest';
import type { AutoScalingApi } from '../../src/aws/autoscaling.js';
import type { CliContext } from '../../src/cli/context.js';
import { parseParallelGroups, runRollingUpdate } from '../../src/cli/rolling-update.js';
import { checkManifest } from '../../src/manifest/check.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { readFixture } from '../helpers.js';
import { memoryObjects } from '../support/memory-objects.js';
import { kopsless } from './run.js';

describe('--parallel-groups', () => {
  it.each([
    [undefined, 1],
    ['1', 1],
    ['20', 20],
    [' 4 ', 4],
  ])('reads %j as %d', (raw, value) => {
    expect(parseParallelGroups(raw)).toEqual({ value });
  });

  it.each(['0', '21', '2.5', 'two', '-1', '', '1e1'])('refuses %j, naming the flag', (raw) => {
    expect(parseParallelGroups(raw)).toEqual({
      error: `--parallel-groups: must be an integer from 1 to 20 (got "${raw}")`,
    });
  });

  it('makes the command exit 1 naming the flag, before it reaches any backend', async () => {
    const result = await kopsless(
      ['rolling-update', 'cluster', 'c.example.com', '--parallel-groups', '0', '--yes'],
      { KOPSLESS_HOME: '/nonexistent-kopsless-home' },
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--parallel-groups: must be an integer from 1 to 20 (got "0")');
  }, 120_000);
});

describe('rolling-update cluster --yes with --parallel-groups', () => {
  const CLUSTER = 'seed.example.com';
  const check = checkManifest(readFixture('seed.yaml'));

  async function context(started: Array<Record<string, unknown>>): Promise<CliContext> {
    const store = new ClusterStore(memoryObjects());
    await store.registerCluster(check.manifest!, check.completed!);
    return {
      target: 'local',
      store,
      autoscaling: { describeGroups: async () => [] } as unknown as AutoScalingApi,
      ec2: { describeInstances: async () => [] },
      kube: async () => undefined,
      run: async (_machine: string, options: { input: Record<string, unknown> }) => {
        started.push(options.input);
        return {
          status: 'SUCCEEDED',
          executionArn: 'arn:aws:states:us-east-1:123456789012:execution:x:y',
        };
      },
    } as unknown as CliContext;
  }
  const io = () => ({ out: () => undefined, err: () => undefined });

  it('starts the state machine with parallelGroups and allowSameZone', async () => {
    const started: Array<Record<string, unknown>> = [];

    const code = await runRollingUpdate(
      CLUSTER,
      { yes: true, force: true, parallelGroups: '3', parallelGroupsSameZone: true },
      await context(started),
      io(),
    );

    expect(code).toBe(0);
    expect(started).toEqual([
      {
        cluster: CLUSTER,
        instanceGroups: [],
        force: true,
        cloudOnly: false,
        parallelGroups: 3,
        allowSameZone: true,
      },
    ]);
  });

  it('leaves both out of the input when not asked for (the execution input defaults them)', async () => {
    const started: Array<Record<string, unknown>> = [];

    await runRollingUpdate(CLUSTER, { yes: true, force: true }, await context(started), io());

    expect(started).toEqual([
      { cluster: CLUSTER, instanceGroups: [], force: true, cloudOnly: false },
    ]);
  });

  it('exits 1 without starting anything for a bad value', async () => {
    const started: Array<Record<string, unknown>> = [];
    const err: string[] = [];

    const code = await runRollingUpdate(
      CLUSTER,
      { yes: true, parallelGroups: '50' },
      await context(started),
      { out: () => undefined, err: (l) => err.push(l) },
    );

    expect(code).toBe(1);
    expect(err).toEqual(['--parallel-groups: must be an integer from 1 to 20 (got "50")']);
    expect(started).toEqual([]);
  });
});
