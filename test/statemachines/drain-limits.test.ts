import { describe, expect, it } from 'vitest';
import { CAUSE_LIMIT_CHARS } from '../../src/causes.js';
import type { KubeNode, KubePod, KubePort } from '../../src/kube/port.js';
import { stageHandler, stageLogger } from '../../src/lambda.js';
import { lambdaContext } from '../../src/local/sfn/handlers.js';
import { PAYLOAD_LIMIT_BYTES } from '../../src/local/sfn/history.js';
import {
  type Definition,
  loadDefinition,
  runDefinition,
  taskStates,
} from '../../src/local/sfn/step-functions.js';
import { type RollingUpdateDeps, rollingUpdate } from '../../src/stages/rolling-update.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { memoryObjects } from '../support/memory-objects.js';

// The child machine as built, run by the local runner (which fails a state past 256 KiB as Step
// Functions does), with the real drain and uncordon behind its Drain and UncordonAfterFailure
// states, wrapped as the Lambda handler wraps them, against 10 nodes holding 5,000 pods that a
// PodDisruptionBudget keeps.
const CLUSTER = 'seed.example.com';
const PARENT = 'arn:aws:states:us-east-1:123456789012:execution:kopsless-rolling-update:roll-1';
const STEP = {
  kind: 'replace',
  instanceGroup: 'nodes-us-east-1a',
  asgName: 'nodes-us-east-1a.seed.example.com',
  instanceIds: Array.from({ length: 10 }, (_, i) => `i-${i}`),
  detachedIds: [],
  controlPlane: false,
};

function blockedCluster(): KubePort & { nodes: KubeNode[] } {
  const nodes: KubeNode[] = STEP.instanceIds.map((id) => ({
    name: `node-${id}`,
    providerId: `aws:///us-east-1a/${id}`,
    instanceId: id,
    role: 'node',
    ready: true,
    unschedulable: false,
    allocatablePods: 500,
  }));
  const pods: KubePod[] = nodes.flatMap((node) =>
    Array.from({ length: 500 }, (_, p) => ({
      namespace: 'payments',
      name: `ledger-writer-${node.name}-${p}-7d9f8c6b5-${'q'.repeat(20)}`,
      nodeName: node.name,
      phase: 'Running',
      ready: true,
      labels: {},
      drainSkips: false,
      notReadyContainers: [],
    })),
  );
  const onNode = (selector?: string) =>
    pods.filter((p) => `spec.nodeName=${p.nodeName}` === selector);
  const port: Pick<
    KubePort,
    'listNodes' | 'listPods' | 'foldPods' | 'cordon' | 'uncordon' | 'evict' | 'recordEvent'
  > = {
    listNodes: async () => nodes.map((n) => ({ ...n })),
    listPods: async (s = {}) => onNode(s.fieldSelector),
    foldPods: async (s, initial, step) => step(initial(), onNode(s.fieldSelector)),
    cordon: async (name) => void (nodes.find((n) => n.name === name)!.unschedulable = true),
    uncordon: async (name) => void (nodes.find((n) => n.name === name)!.unschedulable = false),
    evict: async () => 'blocked' as const,
    recordEvent: async () => undefined,
  };
  return { ...(port as KubePort), nodes };
}

describe('a drain of 5,000 pods a PodDisruptionBudget blocks, through the child machine', () => {
  it('keeps every state under 256 KiB and the cause under 32,768 characters, and uncordons the nodes', async () => {
    const store = new ClusterStore(memoryObjects());
    await store.acquireLock(CLUSTER, PARENT, 'rolling-update');
    await store.beginWave(CLUSTER, PARENT, [STEP.instanceGroup], 'digest');
    const kube = blockedCluster();
    // The first pass is before the drain deadline, the second after it.
    let clockReads = 0;
    const deps = {
      store,
      kube: async () => kube,
      ec2: {
        describeInstances: async () => STEP.instanceIds.map((InstanceId) => ({ InstanceId })),
        terminateInstances: async () => undefined,
      },
      now: () => new Date(clockReads++ === 0 ? '2026-01-01T00:00:00Z' : '2026-01-01T01:00:00Z'),
    } as unknown as RollingUpdateDeps;
    const lambda = stageHandler(stageLogger('rolling-update', 'SILENT'), (input, context) =>
      rollingUpdate(input as never, {
        ...deps,
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
      }),
    );
    const invoke = async (input: unknown) =>
      lambda(input as never, lambdaContext('kopsless-RollingUpdateFunction', 120) as never);
    const definition: Definition = loadDefinition('rolling-update-group', 'us-east-1');
    const handlers: Record<string, (input: any) => Promise<any>> = {};
    for (const [name] of taskStates(definition))
      handlers[name] = async () => {
        throw new Error(`state ${name} is not reached in this test`);
      };
    handlers.RequireLock = async () => ({});
    handlers.NextStep = async () => ({ step: STEP, drainDeadline: '2026-01-01T00:15:00Z' });
    // Claims are checked elsewhere (group-claims.test.ts): this run has none, as a roll without children had.
    handlers.Drain = async ({ claim: _claim, ...input }) => invoke(input);
    handlers.UncordonAfterFailure = async ({ claim: _claim, ...input }) => invoke(input);
    let largest = 0;

    const result = await runDefinition(definition, {
      input: {
        cluster: CLUSTER,
        instanceGroup: STEP.instanceGroup,
        options: {},
        cloudOnly: false,
        lockOwner: PARENT,
        batchLimit: 5,
      },
      handlers,
      stateMachineName: 'kopsless-rolling-update-group',
      waitMs: 1,
      onProgress: (p) => {
        if (p.kind === 'exited')
          largest = Math.max(largest, Buffer.byteLength(JSON.stringify(p.output ?? null)));
      },
    });

    expect(result.status).toBe('FAILED');
    expect(result.error!.name).toBe('DrainTimeoutError');
    expect(result.error!.cause).toMatch(
      /disruption budget: payments\/ledger-writer-node-i-0-0-\S+, .* and 4,9\d\d more$/,
    );
    expect(result.error!.cause.length).toBeLessThan(CAUSE_LIMIT_CHARS);
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThan(PAYLOAD_LIMIT_BYTES);
    expect(kube.nodes.every((n) => !n.unschedulable)).toBe(true);
  });
});
