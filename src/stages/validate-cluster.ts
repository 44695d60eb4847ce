import type { AutoScalingApi, GroupState } from '../aws/autoscaling.js';
import type { StackApi } from '../aws/cloudformation.js';
import type { DnsApi } from '../aws/route53.js';
import { TransientKubeError } from '../errors.js';
import type { EtcdMember } from '../kube/etcd.js';
import { etcdFailures } from '../kube/etcd-health.js';
import type { KubeNode, KubePod, KubePort } from '../kube/port.js';
import type { CompletedManifest } from '../manifest/completed.js';
import { compareVersions, normalizeVersion } from '../manifest/kubernetes-version.js';
import { isControlPlaneRole } from '../manifest/types.js';
import { parseKubernetesVersion } from '../manifest/validate.js';
import { fqdn, groupName, PLACEHOLDER_IP, stackName } from '../planning/names.js';
import { isOwnedBy } from '../planning/ownership.js';
import { API_LOAD_BALANCER_OUTPUTS } from '../planning/stack-nlb.js';
import type { ClusterStore } from '../state/cluster-store.js';
import type { EtcdOf } from './etcd-membership.js';

/**
 * `validate cluster` with kOps's semantics and wording: the API DNS record is off the
 * placeholder, every instance group has its desired number of instances in service, every
 * instance has joined as a Node, every node is Ready, and the system-critical pods of
 * kube-system run.
 */

export interface ValidationFailure {
  type: string;
  name: string;
  message: string;
}

export interface ValidationNode {
  name: string;
  instanceId: string;
  instanceGroup: string;
  role: string;
  ready: boolean;
}

export interface ValidationResult {
  cluster: string;
  valid: boolean;
  failures: ValidationFailure[];
  nodes: ValidationNode[];
  groups: Array<{
    name: string;
    role: string;
    machineType: string;
    min: number;
    max: number;
    subnets: string[];
    desired: number;
    inService: number;
  }>;
}

export interface ValidationInputs {
  manifest: CompletedManifest;
  groups: GroupState[];
  /** Undefined when the Kubernetes API could not be reached (with `kubeError` saying why). */
  nodes?: KubeNode[];
  systemPods?: KubePod[];
  kubeError?: string;
  /** The etcd members, when the control plane published access to the member API. */
  etcdMembers?: EtcdMember[];
  /** Why the member API could not be read. */
  etcdError?: string;
  /** The member API is out of reach from here: judge etcd by its static pods. */
  etcdFromPods?: boolean;
  apiRecords: Record<string, string[]>;
  /** Skip everything Kubernetes (rolling-update --cloudonly). */
  cloudOnly?: boolean;
  /**
   * Validation between the steps of a roll: nodes not replaced yet still run the old version, so
   * only a node ahead of the control plane fails it.
   */
  rolling?: boolean;
}

const CRITICAL = ['system-cluster-critical', 'system-node-critical'];

/**
 * Kubelet versions against the spec: a node newer than the oldest control-plane node is always a
 * failure (the API server must never be older than a kubelet); outside a roll, so is any node
 * whose version is not its instance group's (in kOps every group runs the cluster's version).
 */
function versionFailures(
  nodes: KubeNode[],
  manifest: CompletedManifest,
  rolling: boolean,
): ValidationFailure[] {
  const failures: ValidationFailure[] = [];
  const parsed = (n: KubeNode) =>
    n.kubeletVersion ? parseKubernetesVersion(n.kubeletVersion) : undefined;
  let controlPlane: { node: KubeNode; version: NonNullable<ReturnType<typeof parsed>> } | undefined;
  for (const node of nodes.filter((n) => n.role === 'control-plane')) {
    const version = parsed(node);
    if (version && (!controlPlane || compareVersions(version, controlPlane.version) < 0))
      controlPlane = { node, version };
  }
  const groups = new Set(manifest.instanceGroups.map((ig) => ig.metadata.name));
  const wanted = manifest.cluster.spec.kubernetesVersion ?? '';
  const checkSpec = !rolling && parseKubernetesVersion(wanted) !== undefined;
  for (const node of nodes) {
    const version = parsed(node);
    if (!version || !node.kubeletVersion) continue;
    // A minor version ahead: the skew a kubelet must never have. A newer patch of the same minor is
    // what a patch downgrade (which set and update allow) leaves on the nodes between the control
    // plane's step and theirs; failing it would stop that roll half done.
    if (
      node.role === 'node' &&
      controlPlane &&
      compareVersions({ ...version, patch: 0 }, { ...controlPlane.version, patch: 0 }) > 0
    ) {
      failures.push({
        type: 'Node',
        name: node.name,
        message: `node "${node.name}" of role "node" runs kubelet ${node.kubeletVersion}, newer than the control plane's ${controlPlane.node.kubeletVersion}: nodes must never be ahead of the control plane`,
      });
      continue;
    }
    if (
      checkSpec &&
      node.instanceGroup &&
      groups.has(node.instanceGroup) &&
      normalizeVersion(node.kubeletVersion) !== normalizeVersion(wanted)
    ) {
      failures.push({
        type: 'Node',
        name: node.name,
        message: `node "${node.name}" of role "${node.role}" runs kubelet ${node.kubeletVersion}, but instance group "${node.instanceGroup}" specifies Kubernetes ${wanted} (apply it: update cluster, then rolling-update cluster)`,
      });
    }
  }
  return failures;
}

/** The verdict from what was observed. Pure. */
export function evaluateValidation(inputs: ValidationInputs): ValidationResult {
  const { manifest } = inputs;
  const cluster = manifest.cluster.metadata.name;
  const failures: ValidationFailure[] = [];
  for (const [record, values] of Object.entries(inputs.apiRecords)) {
    if (values.length === 0 || values.includes(PLACEHOLDER_IP)) {
      failures.push({
        type: 'dns',
        name: 'apiserver',
        message: `Validation Failed: the API DNS record ${record} ${values.length === 0 ? 'does not exist' : `is the placeholder address that kops creates: ${PLACEHOLDER_IP}`}; it has not been pointed at the control plane yet`,
      });
    }
  }
  const byName = new Map(inputs.groups.map((g) => [g.name, g]));
  const nodesByInstance = new Map((inputs.nodes ?? []).map((n) => [n.instanceId, n]));
  const groups: ValidationResult['groups'] = [];
  for (const ig of manifest.instanceGroups) {
    const name = ig.metadata.name;
    const group = byName.get(groupName(name, cluster));
    const inService = group?.instances.filter((i) => i.lifecycleState === 'InService') ?? [];
    const desired = group?.desiredCapacity ?? ig.spec.minSize;
    groups.push({
      name,
      role: isControlPlaneRole(ig.spec.role) ? 'ControlPlane' : ig.spec.role,
      machineType: ig.spec.machineType,
      min: ig.spec.minSize,
      max: ig.spec.maxSize,
      subnets: ig.spec.subnets,
      desired,
      inService: inService.length,
    });
    if (!group) {
      failures.push({
        type: 'InstanceGroup',
        name,
        message: `InstanceGroup "${name}" has no Auto Scaling group ${groupName(name, cluster)} tagged for the cluster`,
      });
      continue;
    }
    if (inService.length < desired) {
      failures.push({
        type: 'InstanceGroup',
        name,
        message: `InstanceGroup "${name}" did not have enough nodes ${inService.length} vs ${desired}`,
      });
    }
    if (inputs.cloudOnly || inputs.nodes === undefined || ig.spec.role === 'Bastion') continue;
    for (const instance of inService) {
      if (!nodesByInstance.has(instance.instanceId)) {
        failures.push({
          type: 'Machine',
          name: instance.instanceId,
          message: `machine "${instance.instanceId}" has not yet joined cluster`,
        });
      }
    }
  }
  if (!inputs.cloudOnly) {
    if (inputs.nodes === undefined) {
      failures.push({
        type: 'cluster',
        name: 'api',
        message: `cannot reach the Kubernetes API of ${cluster}: ${inputs.kubeError ?? 'no kubeconfig in the state store yet'}`,
      });
    }
    for (const node of inputs.nodes ?? []) {
      if (!node.ready)
        failures.push({
          type: 'Node',
          name: node.name,
          message: `node "${node.name}" of role "${node.role}" is not ready`,
        });
    }
    failures.push(...versionFailures(inputs.nodes ?? [], manifest, inputs.rolling === true));
    if (inputs.etcdError)
      failures.push({
        type: 'etcd',
        name: 'etcd',
        message: `cannot read the etcd members: ${inputs.etcdError}`,
      });
    const members =
      inputs.etcdMembers ??
      (inputs.etcdFromPods ? membersFromPods(inputs.systemPods ?? []) : undefined);
    if (members && inputs.nodes) {
      const expected = controlPlaneMembers(manifest);
      for (const f of etcdFailures(members, expected, inputs.nodes, inputs.systemPods ?? []))
        failures.push({ type: 'etcd', ...f });
    }
    for (const pod of inputs.systemPods ?? []) {
      if (!pod.priorityClassName || !CRITICAL.includes(pod.priorityClassName)) continue;
      if (pod.phase === 'Pending')
        failures.push({
          type: 'Pod',
          name: `${pod.namespace}/${pod.name}`,
          message: `${pod.priorityClassName} pod "${pod.name}" is pending`,
        });
      else if (pod.phase !== 'Succeeded' && !pod.ready) {
        failures.push({
          type: 'Pod',
          name: `${pod.namespace}/${pod.name}`,
          message: `${pod.priorityClassName} pod "${pod.name}" is not ready (${pod.notReadyContainers.join(',')})`,
        });
      }
    }
  }
  const groupOf = (n: KubeNode) => n.instanceGroup ?? '';
  return {
    cluster,
    valid: failures.length === 0,
    failures,
    groups,
    nodes: (inputs.nodes ?? []).map((n) => ({
      name: n.name,
      instanceId: n.instanceId,
      instanceGroup: groupOf(n),
      role: n.role,
      ready: n.ready,
    })),
  };
}

export interface ValidateDeps {
  store: ClusterStore;
  autoscaling: Pick<AutoScalingApi, 'describeGroups'>;
  stacks: Pick<StackApi, 'describe'>;
  dns: Pick<DnsApi, 'listRecords'>;
  kube: (cluster: string) => Promise<KubePort | undefined>;
  /** The etcd member API: with it, validation checks that etcd has a healthy member per control-plane instance. */
  etcd?: EtcdOf;
}

/** Observes the cluster and evaluates it. */
export async function validateCluster(
  cluster: string,
  deps: ValidateDeps,
  options: { cloudOnly?: boolean; rolling?: boolean } = {},
): Promise<ValidationResult> {
  const manifest = await deps.store.readCompletedManifest(cluster);
  const groups = (
    await deps.autoscaling.describeGroups(
      manifest.instanceGroups.map((ig) => groupName(ig.metadata.name, cluster)),
    )
  ).filter((g) => isOwnedBy(g.tags, cluster));
  const spec = manifest.cluster.spec;
  const names = [fqdn(spec.masterPublicName), fqdn(spec.masterInternalName)];
  const stack = await deps.stacks.describe(stackName(cluster));
  const owned = stack && isOwnedBy(stack.tags, cluster);
  // Behind a load balancer the API records are the stack's aliases (none with DNS None): no placeholder to check.
  const behindLoadBalancer = owned && !!stack.outputs[API_LOAD_BALANCER_OUTPUTS.dnsName];
  const zoneId = owned && !behindLoadBalancer ? stack.outputs.HostedZoneId : undefined;
  const records = zoneId ? await deps.dns.listRecords(zoneId, names) : [];
  const apiRecords = behindLoadBalancer
    ? {}
    : Object.fromEntries(
        names.map((n) => [
          n,
          records.filter((r) => r.name === n && r.type === 'A').flatMap((r) => r.values),
        ]),
      );
  if (options.cloudOnly)
    return evaluateValidation({ manifest, groups, apiRecords, cloudOnly: true });
  try {
    const kube = await deps.kube(cluster);
    if (!kube)
      return evaluateValidation({
        manifest,
        groups,
        apiRecords,
        kubeError: 'the control plane has not published a kubeconfig to the state store yet',
      });
    const [nodes, systemPods] = await Promise.all([
      kube.listNodes(),
      kube.listPods({ fieldSelector: 'metadata.namespace=kube-system' }),
    ]);
    // One member (a single control plane) is its node and its etcd pod, checked with the others.
    const etcd = controlPlaneMembers(manifest) > 1 ? await readEtcd(cluster, deps.etcd) : {};
    return evaluateValidation({
      manifest,
      groups,
      nodes,
      systemPods,
      ...etcd,
      apiRecords,
      ...(options.rolling ? { rolling: true } : {}),
    });
  } catch (error) {
    return evaluateValidation({
      manifest,
      groups,
      apiRecords,
      kubeError: (error as Error).message,
    });
  }
}

/** The members, the reason they could not be read, or nothing when the member API is not published. */
async function readEtcd(
  cluster: string,
  etcdOf: EtcdOf | undefined,
): Promise<{ etcdMembers?: EtcdMember[]; etcdError?: string; etcdFromPods?: boolean }> {
  try {
    const etcd = etcdOf ? await etcdOf(cluster) : undefined;
    const members = etcd ? await etcd.listMembers() : undefined;
    return members ? { etcdMembers: members } : {};
  } catch (error) {
    // Out of reach (port 2379 answers only inside the VPC, e.g. from a laptop): the static pods
    // stand in for the member list, one etcd pod per member, as kubeadm runs them.
    if (error instanceof TransientKubeError) return { etcdFromPods: true };
    return { etcdError: (error as Error).message };
  }
}

/** kubeadm's etcd static pods as members (named after their nodes), for when the member API is out of reach. */
function membersFromPods(systemPods: KubePod[]): EtcdMember[] {
  return systemPods
    .filter((p) => p.labels.component === 'etcd' && p.nodeName)
    .map((p) => ({
      id: `pod ${p.name}`,
      name: p.nodeName!,
      peerURLs: [],
      clientURLs: [],
      isLearner: false,
    }));
}

/** One etcd member per control-plane instance. */
function controlPlaneMembers(manifest: CompletedManifest): number {
  return manifest.instanceGroups
    .filter((ig) => isControlPlaneRole(ig.spec.role))
    .reduce((n, ig) => n + ig.spec.minSize, 0);
}
