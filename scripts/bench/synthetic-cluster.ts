import {
  type KubeNode,
  type KubePod,
  type KubePodRow,
  type KubePort,
  type PageStep,
  type PodSelectors,
  SLOT_HOLDING_PODS,
  UNSCHEDULED_PODS,
} from '../../src/kube/port.js';
import { NON_TERMINATED_PODS } from '../../src/stages/eni-watcher.js';

/**
 * A Kubernetes port over a generated cluster of any size, served page by page (never holding its
 * pods), for the benches and tests of the ENI watcher.
 */

/** One node group of a generated cluster. */
export interface SyntheticGroup {
  instanceGroup: string;
  nodes: number;
  /** The nodes' allocatable pods (kubelet maxPods). */
  maxPods: number;
  /** Non-terminated pods bound to each node. */
  podsPerNode: number;
}

export interface SyntheticCluster {
  groups: SyntheticGroup[];
  /** Pods Pending with the scheduler's "Too many pods". */
  pendingTooManyPods?: number;
  /** Finished pods, which the non-terminated field selector leaves out. */
  succeededPods?: number;
}

/** What a generated cluster's API served. */
export interface SyntheticKubeStats {
  /** Every request, as an API server would count it (each page is one). */
  requests: number;
  /** List requests (pages) of nodes and of pods. */
  nodePages: number;
  podPages: number;
  /** The most items one page carried. */
  largestPage: number;
  /** Calls of listNodes/listPods, which hold a whole list at once. */
  wholeLists: number;
}

/** An instance ID for the n-th node of group g: stable, and a valid EC2 ID. */
export function syntheticInstanceId(group: number, node: number): string {
  return `i-${(group * 1_000_000 + node).toString(16).padStart(17, '0')}`;
}

function nodeName(group: number, node: number): string {
  return `ip-10-${group}-${node >> 8}-${node & 255}.ec2.internal`;
}

/**
 * A KubePort over a generated cluster: nodes and pods are made page by page as they are asked
 * for, as an API server with `limit`/`continue` serves them, so the port itself holds nothing
 * in proportion to the pods and a memory measurement sees only what its caller keeps.
 */
export function syntheticKubePort(
  cluster: SyntheticCluster,
  options: { pageSize?: number } = {},
): { port: KubePort; stats: SyntheticKubeStats } {
  const pageSize = options.pageSize ?? 500;
  const stats: SyntheticKubeStats = {
    requests: 0,
    nodePages: 0,
    podPages: 0,
    largestPage: 0,
    wholeLists: 0,
  };
  const offsets: number[] = [];
  let totalNodes = 0;
  for (const g of cluster.groups) {
    offsets.push(totalNodes);
    totalNodes += g.nodes;
  }
  const locate = (index: number) => {
    let g = cluster.groups.length - 1;
    while (g > 0 && offsets[g]! > index) g--;
    return { g, i: index - offsets[g]! };
  };
  const node = (index: number): KubeNode => {
    const { g, i } = locate(index);
    const group = cluster.groups[g]!;
    return {
      name: nodeName(g, i),
      providerId: `aws:///us-east-1a/${syntheticInstanceId(g, i)}`,
      instanceId: syntheticInstanceId(g, i),
      instanceGroup: group.instanceGroup,
      role: 'node',
      ready: true,
      unschedulable: false,
      allocatablePods: group.maxPods,
    };
  };
  const bound = cluster.groups.reduce((n, g) => n + g.nodes * g.podsPerNode, 0);
  const pending = cluster.pendingTooManyPods ?? 0;
  const succeeded = cluster.succeededPods ?? 0;
  const pod = (index: number): KubePod => {
    const base = {
      namespace: 'default',
      name: `pod-${index}`,
      labels: { app: 'load' },
      drainSkips: false,
      notReadyContainers: [],
    };
    if (index >= bound + pending)
      return { ...base, phase: 'Succeeded', ready: false, nodeName: node(0).name };
    if (index >= bound)
      return {
        ...base,
        phase: 'Pending',
        ready: false,
        unschedulableMessage: `0/${totalNodes} nodes are available: ${totalNodes} Too many pods.`,
      };
    let rest = index;
    for (let g = 0; g < cluster.groups.length; g++) {
      const group = cluster.groups[g]!;
      const here = group.nodes * group.podsPerNode;
      if (rest < here)
        return {
          ...base,
          phase: 'Running',
          ready: true,
          nodeName: nodeName(g, Math.floor(rest / group.podsPerNode)),
        };
      rest -= here;
    }
    throw new Error(`pod ${index} is out of range`);
  };
  /** The pods a field selector picks, as a range of pod indexes (bound, then pending, then finished). */
  const podRange = (selectors: PodSelectors): { first: number; count: number } => {
    switch (selectors.fieldSelector) {
      case SLOT_HOLDING_PODS:
        return { first: 0, count: bound };
      case UNSCHEDULED_PODS:
        return { first: bound, count: pending };
      case NON_TERMINATED_PODS:
        return { first: 0, count: bound + pending };
      case undefined:
        return { first: 0, count: bound + pending + succeeded };
      default:
        throw new Error(
          `field selector not served by the generated cluster: ${selectors.fieldSelector}`,
        );
    }
  };
  const podsOf = (selectors: PodSelectors) => {
    const { first, count } = podRange(selectors);
    return { count, make: (i: number) => pod(first + i) };
  };
  const row = (p: KubePod): KubePodRow => ({
    name: p.name,
    ...(p.nodeName ? { nodeName: p.nodeName } : {}),
    status: p.phase,
  });
  const fold = async <T, A>(
    count: number,
    make: (i: number) => T,
    initial: () => A,
    step: PageStep<T, A>,
    pages: 'nodePages' | 'podPages',
  ): Promise<A> => {
    let acc = initial();
    for (let start = 0; start < count || (start === 0 && count === 0); start += pageSize) {
      stats.requests++;
      stats[pages]++;
      const page: T[] = [];
      for (let i = start; i < Math.min(count, start + pageSize); i++) page.push(make(i));
      stats.largestPage = Math.max(stats.largestPage, page.length);
      // A page arrives from the network: the caller's step runs on a later tick, as with HTTP.
      await Promise.resolve();
      acc = step(acc, page);
      if (count === 0) break;
    }
    return acc;
  };
  const port: KubePort = {
    async listNodes() {
      stats.wholeLists++;
      return fold(
        totalNodes,
        node,
        () => [] as KubeNode[],
        (all, page) => all.concat(page),
        'nodePages',
      );
    },
    async listPods(selectors = {}) {
      stats.wholeLists++;
      const { count, make } = podsOf(selectors);
      return fold(
        count,
        make,
        () => [] as KubePod[],
        (all, page) => all.concat(page),
        'podPages',
      );
    },
    foldNodes: (initial, step) => fold(totalNodes, node, initial, step, 'nodePages'),
    foldPods: (selectors, initial, step) => {
      const { count, make } = podsOf(selectors);
      return fold(count, make, initial, step, 'podPages');
    },
    foldPodRows: (selectors, initial, step) => {
      const { count, make } = podsOf(selectors);
      return fold(count, (i) => row(make(i)), initial, step, 'podPages');
    },
    async cordon() {
      stats.requests++;
    },
    async uncordon() {
      stats.requests++;
    },
    async evict() {
      stats.requests++;
      return 'evicted';
    },
    async getDaemonSetEnv() {
      stats.requests++;
      return { ENABLE_PREFIX_DELEGATION: 'false', WARM_ENI_TARGET: '1' };
    },
    async setDaemonSetEnv() {
      stats.requests++;
    },
    async recordEvent() {
      stats.requests++;
    },
  };
  return { port, stats };
}
