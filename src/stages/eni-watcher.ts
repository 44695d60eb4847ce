import { now as clockNow } from '../clock.js';
import { paginateDescribeNetworkInterfaces, paginateDescribeSubnets, type EC2Client } from '@aws-sdk/client-ec2';
import type { StackApi } from '../aws/cloudformation.js';
import { lookupInstanceTypes, type Ec2Api } from '../aws/ec2.js';
import { allItems } from '../aws/pages.js';
import { classifyAwsError } from '../errors.js';
import type { KubePort } from '../kube/port.js';
import { decide, type Decision, type GroupObservation, type SubnetView, type WatcherSettings, type WatcherState } from '../planning/eni-decision.js';
import { prefixDelegationEnabled } from '../planning/max-pods.js';
import { stackName } from '../planning/names.js';
import { isOwnedBy } from '../planning/ownership.js';
import { subnetOutputKey } from '../planning/stack-template.js';
import { checkManifest } from '../spec/check.js';
import { completeManifest } from '../spec/defaults.js';
import type { ClusterManifest, EnvVar } from '../spec/types.js';
import type { ClusterStore } from '../state/cluster-store.js';
import type { ObjectStore } from '../state/object-store.js';

/**
 * The ENI capacity watcher: observes a cluster's pod slots, decides (planning/eni-decision.ts),
 * and when it decides to act, switches the VPC CNI to prefix delegation (aws-node env), writes
 * that and the higher kubelet maxPods into the spec (so a later update keeps them) and asks for
 * an update + rolling update of the groups concerned. Every run leaves its decision as JSON in
 * the state store.
 */

export const PREFIX_DELEGATION_ENV: Record<string, string> = { ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' };
/** Marks a maxPods the watcher wrote, so it is not mistaken for one the user set. */
export const MAX_PODS_SET_BY = 'kopsless.io/max-pods-set-by';

export interface WatcherDeps {
  store: ClusterStore;
  objects: ObjectStore;
  stacks: Pick<StackApi, 'describe'>;
  ec2: Pick<Ec2Api, 'describeInstanceTypes'>;
  ec2Client: EC2Client;
  kube: (cluster: string) => Promise<KubePort | undefined>;
  settings: WatcherSettings;
  now?: () => Date;
}

export interface ExecutionRequest {
  stateMachine: 'rolling-update';
  /** Deterministic, so a retried watcher run does not start two executions. */
  name: string;
  input: { cluster: string; instanceGroups: string[]; force: boolean; cloudOnly: boolean; update: boolean };
}

export interface WatcherResult {
  decision: Decision;
  dryRun: boolean;
  start?: ExecutionRequest;
}

/** The field selector kubectl describe node uses for the pods a node carries. */
export const NON_TERMINATED_PODS = 'status.phase!=Succeeded,status.phase!=Failed';

const stateKey = (cluster: string) => `${cluster}/eni-watcher/state.json`;
const lastKey = (cluster: string) => `${cluster}/eni-watcher/last-decision.json`;
const decisionKey = (cluster: string, at: string) => `${cluster}/eni-watcher/decisions/${at}.json`;

async function subnetViews(subnetIds: string[], client: EC2Client): Promise<SubnetView[]> {
  if (subnetIds.length === 0) return [];
  try {
    const [subnets, interfaces] = await Promise.all([
      allItems(paginateDescribeSubnets({ client }, { SubnetIds: subnetIds }), (p) => p.Subnets),
      // A busy subnet holds hundreds of ENIs: far more than a page.
      allItems(paginateDescribeNetworkInterfaces({ client }, { Filters: [{ Name: 'subnet-id', Values: subnetIds }] }), (p) => p.NetworkInterfaces),
    ]);
    return subnets.map((s) => ({
      subnetId: s.SubnetId ?? '',
      cidr: s.CidrBlock ?? '',
      usedIps: interfaces
        .filter((n) => n.SubnetId === s.SubnetId)
        .flatMap((n) => (n.PrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress ?? '').concat((n.Ipv4Prefixes ?? []).map((p) => p.Ipv4Prefix?.split('/')[0] ?? '')))
        .filter(Boolean),
    }));
  } catch (error) {
    throw classifyAwsError(error);
  }
}

/** What one run sees: per node group, slots used and free, pending pods, types, subnets. */
export async function observe(cluster: string, manifest: ClusterManifest, kube: KubePort, deps: WatcherDeps) {
  const [nodes, pods, awsNodeEnv, found] = await Promise.all([
    kube.listNodes(),
    // Only pods that hold a slot: the API server leaves finished ones out, page by page.
    kube.listPods({ fieldSelector: NON_TERMINATED_PODS }),
    kube.getDaemonSetEnv('kube-system', 'aws-node', 'aws-node'),
    deps.stacks.describe(stackName(cluster)),
  ]);
  // Subnets are read from the cluster's own stack only, never from one that merely has its name.
  const stack = found && isOwnedBy(found.tags, cluster) ? found : undefined;
  const used = new Map<string, number>();
  for (const pod of pods) if (pod.nodeName && !['Succeeded', 'Failed'].includes(pod.phase)) used.set(pod.nodeName, (used.get(pod.nodeName) ?? 0) + 1);
  const pendingTooMany = pods.filter((p) => p.phase === 'Pending' && p.unschedulableMessage?.includes('Too many pods')).length;
  const nodeGroups = manifest.instanceGroups.filter((ig) => ig.spec.role === 'Node');
  const types = await lookupInstanceTypes(deps.ec2, nodeGroups.map((ig) => ig.spec.machineType ?? ''));
  const userKubelet = manifest.cluster.spec.kubelet?.maxPods;
  const groups: GroupObservation[] = [];
  for (const ig of nodeGroups) {
    const groupNodes = nodes
      .filter((n) => n.instanceGroup === ig.metadata.name && n.role === 'node')
      .map((n) => ({ name: n.name, instanceType: ig.spec.machineType ?? '', usedPods: used.get(n.name) ?? 0, maxPods: n.allocatablePods, schedulable: n.ready && !n.unschedulable }));
    // Pods wait for slots on whichever group is full: they count against every group with none left.
    const noRoom = groupNodes.length > 0 && groupNodes.every((n) => !n.schedulable || n.usedPods >= n.maxPods);
    const setByWatcher = ig.metadata.annotations && (ig.metadata.annotations as Record<string, string>)[MAX_PODS_SET_BY] === 'eni-watcher';
    const userMaxPods = setByWatcher ? undefined : (ig.spec.kubelet?.maxPods ?? userKubelet);
    const info = types.get(ig.spec.machineType ?? '');
    const subnetIds = (ig.spec.subnets ?? []).map((s) => stack?.outputs[subnetOutputKey(s)]).filter((s): s is string => !!s);
    groups.push({
      instanceGroup: ig.metadata.name,
      nodes: groupNodes.map(({ schedulable: _s, ...n }) => n),
      pendingTooManyPods: noRoom ? pendingTooMany : 0,
      instanceTypes: info ? [info] : [],
      subnets: await subnetViews(subnetIds, deps.ec2Client),
      ...(userMaxPods !== undefined ? { userMaxPods } : {}),
    });
  }
  const prefixDelegationOn = prefixDelegationEnabled(Object.entries(awsNodeEnv ?? {}).map(([name, value]) => ({ name, value })));
  return { groups, prefixDelegationOn, pendingTooMany };
}

function mergeEnv(env: EnvVar[] | undefined, wanted: Record<string, string>): EnvVar[] {
  const kept = (env ?? []).filter((e) => !(e.name in wanted));
  return [...kept, ...Object.entries(wanted).map(([name, value]) => ({ name, value }))];
}

/** Writes prefix delegation and the new maxPods into the spec, as a user would with `kops edit`. */
async function writeSpec(cluster: string, raise: Decision['raise'], deps: WatcherDeps, owner: string): Promise<void> {
  const manifest = await deps.store.readManifest(cluster);
  const amazonvpc = manifest.cluster.spec.networking?.amazonvpc ?? {};
  manifest.cluster.spec.networking = { ...manifest.cluster.spec.networking, amazonvpc: { ...amazonvpc, env: mergeEnv(amazonvpc.env, PREFIX_DELEGATION_ENV) } };
  for (const r of raise) {
    const ig = manifest.instanceGroups.find((g) => g.metadata.name === r.instanceGroup)!;
    ig.spec.kubelet = { ...(ig.spec.kubelet ?? {}), maxPods: r.to };
    ig.metadata.annotations = { ...((ig.metadata.annotations as Record<string, string>) ?? {}), [MAX_PODS_SET_BY]: 'eni-watcher' };
  }
  const check = checkManifest([manifest.cluster, ...manifest.instanceGroups].map((d) => JSON.stringify(d)).join('\n---\n'));
  if (!check.valid || !check.manifest || !check.completed) throw new Error(`the watcher's spec change does not validate: ${check.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  await deps.store.acquireLock(cluster, owner, 'eni-watcher', 60);
  try {
    await deps.store.writeSpecs(check.manifest, check.completed);
  } finally {
    await deps.store.releaseLock(cluster, owner);
  }
}

/** One run of the watcher for one cluster. */
export async function watchCluster(cluster: string, deps: WatcherDeps, options: { dryRun?: boolean } = {}): Promise<WatcherResult> {
  const now = (deps.now ?? clockNow)();
  const dryRun = options.dryRun === true;
  const manifest = completeManifest(await deps.store.readManifest(cluster));
  const nothing = (reason: string): WatcherResult => ({ decision: { cluster, at: now.toISOString(), action: 'none', reason, prefixDelegationOn: false, groups: [], raise: [] }, dryRun });
  if (!manifest.cluster.spec.networking?.amazonvpc) return nothing('networking is not amazonvpc: pod capacity is not bound to ENIs');
  const kube = await deps.kube(cluster);
  if (!kube) return nothing('the Kubernetes API is not reachable yet (no kubeconfig in the state store)');
  const observed = await observe(cluster, manifest, kube, deps);
  const stored = await deps.objects.get(stateKey(cluster));
  const state = stored ? (JSON.parse(stored.body) as WatcherState) : { consecutive: {} };
  const lock = await deps.store.readLock(cluster);
  const lockHolder = lock && new Date(lock.expiresAt) > now ? lock.owner : undefined;
  const { decision, state: next } = decide({ cluster, now, groups: observed.groups, prefixDelegationOn: observed.prefixDelegationOn, state, settings: deps.settings, ...(lockHolder ? { lockHolder } : {}) });
  const record = JSON.stringify({ ...decision, dryRun }, null, 2);
  // Every run replaces last-decision.json (the versioned bucket keeps the earlier ones); runs that
  // did more than watch also get a file of their own, so the history of actions stays easy to read.
  await deps.objects.put(lastKey(cluster), record);
  if (decision.action !== 'none') await deps.objects.put(decisionKey(cluster, decision.at), record);
  if (dryRun) return { decision, dryRun };
  await deps.objects.put(stateKey(cluster), JSON.stringify(next, null, 2));
  if (decision.action !== 'enable-prefix-delegation') return { decision, dryRun };
  await kube.setDaemonSetEnv('kube-system', 'aws-node', 'aws-node', PREFIX_DELEGATION_ENV);
  await kube.recordEvent({
    regarding: { kind: 'DaemonSet', namespace: 'kube-system', name: 'aws-node' },
    type: 'Normal',
    reason: 'PrefixDelegationEnabled',
    action: 'SetEnv',
    message: `ENI capacity watcher set ${Object.entries(PREFIX_DELEGATION_ENV).map(([k, v]) => `${k}=${v}`).join(', ')}; rolling ${decision.raise.map((r) => `${r.instanceGroup} (maxPods ${r.from} -> ${r.to})`).join(', ')}`,
  });
  const name = `eni-${cluster.replace(/[^A-Za-z0-9-]/g, '-')}-${decision.at.replace(/[^0-9]/g, '').slice(0, 14)}`.slice(0, 80);
  await writeSpec(cluster, decision.raise, deps, name);
  return { decision, dryRun, start: { stateMachine: 'rolling-update', name, input: { cluster, instanceGroups: decision.raise.map((r) => r.instanceGroup), force: false, cloudOnly: false, update: true } } };
}

/** Which clusters a watcher event concerns: the one an EC2 state-change names, or all (schedule). */
export async function clustersForEvent(event: unknown, deps: { store: ClusterStore; clusterOfInstance: (id: string) => Promise<string | undefined> }): Promise<string[]> {
  const e = event as { cluster?: string; source?: string; detail?: { 'instance-id'?: string } };
  if (e.cluster) return [e.cluster];
  if (e.source === 'aws.ec2' && e.detail?.['instance-id']) {
    const cluster = await deps.clusterOfInstance(e.detail['instance-id']);
    return cluster ? [cluster] : [];
  }
  return deps.store.listClusters();
}

