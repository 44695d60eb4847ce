import { Controllers } from './controllers.js';
import {
  CONTROL_PLANE_TAINT,
  intOrPercent,
  key,
  NOT_READY_TAINT,
  type Obj,
  type SimTiming,
  suffix,
  timestamp,
} from './objects.js';
import { selectorMatches } from './selectors.js';

/**
 * The state of one simulated cluster: nodes (from the EC2 instances that run), pods with a
 * slot-counting scheduler (taints, node affinity, priority and preemption), DaemonSets,
 * Deployments and their ReplicaSets, PodDisruptionBudgets, Events. A test double for the local
 * backend, nothing more: no containers run, no network exists, pods are Running the moment they
 * are scheduled, a Deployment's new template replaces its pods at once (no surge). Objects are
 * kept as the Kubernetes API shows them, so they are served as-is.
 *
 * Cost: pods are indexed by node, by controller and by whether they are bound, so a node's slot
 * count, a controller's pods and the scheduler's queue are found without scanning every pod; the
 * controllers and the scheduler run on writes (and when a timer of SimTiming falls due), never
 * because something was read.
 */

export type { Obj, SimTiming } from './objects.js';

export interface InstanceView {
  instanceId: string;
  zone: string;
  privateIp: string;
  privateDnsName: string;
  instanceType: string;
  instanceGroup: string;
  controlPlane: boolean;
  maxPods: number;
  /** The kubelet's version (`v1.33.1`) from the instance's user-data; the cluster's when unknown. */
  kubeletVersion?: string;
}

/** The most replicas one Deployment may ask for in the simulated API (a real one has no such cap). */
export const MAX_REPLICAS_PER_DEPLOYMENT = 5000;
/** The most pods one simulated cluster holds (Deployment replicas, DaemonSet, static and bare pods), unless its timing raises it. */
export const MAX_PODS_PER_CLUSTER = 10000;

export { parseFieldSelector, parseLabelSelector } from './selectors.js';

/** A workload's selector, as the controllers and PodDisruptionBudgets read it. */
export const matchesSelector = selectorMatches;

export class SimCluster extends Controllers {
  constructor(name: string, kubernetesVersion: string, timing: SimTiming = {}) {
    super(name, kubernetesVersion, timing);
    this.addDeployment({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        template: {
          metadata: { labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true' } },
          spec: {
            containers: [{ name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.3' }],
            priorityClassName: 'system-cluster-critical',
            tolerations: [CONTROL_PLANE_TAINT],
          },
        },
      },
    });
    this.ensureDaemonSet(
      'kube-proxy',
      `registry.k8s.io/kube-proxy:${kubernetesVersion}`,
      { 'k8s-app': 'kube-proxy' },
      [],
    );
    // kOps installs the AWS EBS CSI driver by default: its node plugin takes a pod slot on every node too.
    this.ensureDaemonSet(
      'ebs-csi-node',
      'public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver:v1.38.1',
      { app: 'ebs-csi-node' },
      [],
    );
  }

  /**
   * Runs the controllers and the scheduler until they settle: a preemption deletes pods that
   * their ReplicaSet then replaces (Pending, when there is no room left).
   */
  reconcile(): void {
    this.expire();
    for (let round = 0; round < 5; round++) {
      this.reconcileStaticPods();
      this.reconcileDaemonSets();
      this.reconcileDeployments();
      this.reconcileReplicaSets();
      if (!this.schedule()) break;
    }
    this.updateStatuses();
  }

  /** Applies what is due by the clock (booted nodes turn Ready, drained pods go); whether anything changed. */
  private expire(): boolean {
    const nowMs = this.clock();
    let changed = false;
    while (this.timers.length > 0 && this.timers[0]!.at <= nowMs) {
      const timer = this.timers.shift()!;
      if (timer.kind === 'boot') {
        const node = this.nodes.get(timer.key);
        if (!node || node.metadata.uid !== timer.uid) continue;
        node.spec.taints = (node.spec.taints ?? []).filter(
          (t: Obj) => t.key !== NOT_READY_TAINT.key,
        );
        if (node.spec.taints.length === 0) delete node.spec.taints;
        node.status.conditions = [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
            lastHeartbeatTime: this.stamp(),
            lastTransitionTime: this.stamp(),
          },
        ];
        node.metadata.resourceVersion = this.nextVersion();
        this.recordEvent({
          involved: node,
          type: 'Normal',
          reason: 'NodeReady',
          message: `Node ${node.metadata.name} status is now: NodeReady`,
          component: 'kubelet',
          host: node.metadata.name,
        });
      } else {
        const pod = this.podStore.get(timer.key);
        if (!pod || pod.metadata.uid !== timer.uid) continue;
        this.deletePod(pod.metadata.namespace, pod.metadata.name);
      }
      changed = true;
    }
    return changed;
  }

  /** Brings the cluster up to its clock (a request's first step): reconciles when a timer was due. */
  tick(): void {
    if (this.expire()) this.reconcile();
  }

  /**
   * Why a Deployment may not hold `replicas` in this cluster (the simulated server's caps), or
   * undefined. `current` is what the Deployment holds now (0 for a new one).
   */
  replicasRefusal(replicas: number, current: number): string | undefined {
    if (replicas > MAX_REPLICAS_PER_DEPLOYMENT)
      return `must be less than or equal to ${MAX_REPLICAS_PER_DEPLOYMENT} (the simulated API server's limit per Deployment)`;
    let total = 0;
    for (const d of this.deployments.values()) total += d.spec.replicas ?? 0;
    for (const p of this.podStore.values())
      if (p.metadata.ownerReferences?.[0]?.kind !== 'ReplicaSet') total++;
    const after = total - current + replicas;
    const cap = this.timing.maxPodsPerCluster ?? MAX_PODS_PER_CLUSTER;
    if (replicas > current && after > cap)
      return `the cluster would hold ${after} pods, more than the ${cap} the simulated API server allows`;
    return undefined;
  }

  /**
   * Registers a Ready node for every running instance and removes the nodes whose instance is
   * gone (their pods go with them; controllers recreate theirs elsewhere).
   */
  syncInstances(instances: InstanceView[]): void {
    const wanted = new Map(instances.map((i) => [i.privateDnsName, i]));
    let changed = false;
    for (const [name, node] of this.nodes) {
      if (wanted.has(name)) continue;
      this.nodes.delete(name);
      changed = true;
      for (const pod of this.podsOn(node.metadata.name))
        this.deletePod(pod.metadata.namespace, pod.metadata.name);
    }
    for (const instance of instances) {
      if (this.nodes.has(instance.privateDnsName)) continue;
      changed = true;
      const booting = (this.timing.bootSeconds ?? 0) > 0;
      const role = instance.controlPlane ? 'control-plane' : 'node';
      this.nodes.set(instance.privateDnsName, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: instance.privateDnsName,
          uid: suffix(12),
          resourceVersion: this.nextVersion(),
          creationTimestamp: this.stamp(),
          labels: {
            'kubernetes.io/hostname': instance.privateDnsName,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'node.kubernetes.io/instance-type': instance.instanceType,
            'topology.kubernetes.io/zone': instance.zone,
            'kops.k8s.io/instancegroup': instance.instanceGroup,
            [`node-role.kubernetes.io/${role}`]: '',
          },
        },
        spec: {
          providerID: `aws:///${instance.zone}/${instance.instanceId}`,
          ...(instance.controlPlane || booting
            ? {
                taints: [
                  ...(instance.controlPlane ? [CONTROL_PLANE_TAINT] : []),
                  ...(booting ? [NOT_READY_TAINT] : []),
                ],
              }
            : {}),
        },
        status: {
          capacity: { pods: String(instance.maxPods), cpu: '2', memory: '3986524Ki' },
          allocatable: { pods: String(instance.maxPods), cpu: '2', memory: '3884124Ki' },
          conditions: [
            booting
              ? {
                  type: 'Ready',
                  status: 'False',
                  reason: 'KubeletNotReady',
                  message:
                    'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
                  lastHeartbeatTime: this.stamp(),
                  lastTransitionTime: this.stamp(),
                }
              : {
                  type: 'Ready',
                  status: 'True',
                  reason: 'KubeletReady',
                  message: 'kubelet is posting ready status',
                  lastHeartbeatTime: this.stamp(),
                  lastTransitionTime: this.stamp(),
                },
          ],
          addresses: [
            { type: 'InternalIP', address: instance.privateIp },
            { type: 'Hostname', address: instance.privateDnsName },
          ],
          nodeInfo: {
            kubeletVersion: instance.kubeletVersion ?? this.kubernetesVersion,
            containerRuntimeVersion: 'containerd://1.7.24',
            osImage: 'Ubuntu 24.04 LTS',
            operatingSystem: 'linux',
            architecture: 'amd64',
          },
        },
      });
      if (booting)
        this.addTimer({
          at:
            Math.min(this.clock(), this.timing.launchedAt?.() ?? Number.POSITIVE_INFINITY) +
            this.timing.bootSeconds! * 1000,
          kind: 'boot',
          key: instance.privateDnsName,
          uid: this.nodes.get(instance.privateDnsName)!.metadata.uid,
        });
    }
    // After the removals: a member whose instance went this sync no longer counts as healthy.
    if (this.joinEtcd(instances)) changed = true;
    // Reads sync often; with nothing new the controllers and the scheduler have nothing to do.
    if (changed || this.expire()) this.reconcile();
  }

  /**
   * Each control-plane node not yet in etcd runs its kubeadm init or join (again, when a join
   * found no quorum); whether a member was added.
   */
  private joinEtcd(instances: InstanceView[]): boolean {
    let joined = false;
    for (const instance of instances) {
      if (!instance.controlPlane || this.etcd.isMember(instance.privateDnsName)) continue;
      if (this.etcd.join(instance.privateDnsName, instance.privateIp)) joined = true;
    }
    return joined;
  }

  /**
   * The eviction API: refuses (429) when a PodDisruptionBudget covering the pod has no
   * disruption left, otherwise deletes the pod.
   */
  evict(
    namespace: string,
    name: string,
  ): { status: 'evicted' | 'blocked' | 'gone'; message?: string } {
    this.tick();
    const pod = this.pods.get(key(namespace, name));
    if (!pod) return { status: 'gone' };
    // A pod already Terminating is evicted already, as the API server answers.
    if (pod.metadata.deletionTimestamp) return { status: 'evicted' };
    for (const pdb of this.pdbs.values()) {
      if (
        pdb.metadata.namespace !== namespace ||
        !selectorMatches(pod.metadata.labels, pdb.spec.selector)
      )
        continue;
      const covered = [...this.pods.values()].filter(
        (p) =>
          p.metadata.namespace === namespace &&
          selectorMatches(p.metadata.labels, pdb.spec.selector),
      );
      const healthy = covered.filter(
        (p) => p.status.phase === 'Running' && !p.metadata.deletionTimestamp,
      ).length;
      const desiredHealthy =
        pdb.spec.minAvailable !== undefined
          ? intOrPercent(pdb.spec.minAvailable, covered.length, true)
          : covered.length - intOrPercent(pdb.spec.maxUnavailable ?? 0, covered.length, true);
      if (healthy - desiredHealthy < 1 || pod.status.phase !== 'Running') {
        return {
          status: 'blocked',
          message: "Cannot evict pod as it would violate the pod's disruption budget.",
        };
      }
    }
    const drain = this.timing.drainSeconds ?? 0;
    if (drain > 0) {
      // Terminating: listed and holding its slot until its grace period ends; its ReplicaSet replaces it then.
      pod.metadata.deletionTimestamp = timestamp(this.clock() + drain * 1000);
      pod.metadata.deletionGracePeriodSeconds = drain;
      pod.metadata.resourceVersion = this.nextVersion();
      this.addTimer({
        at: this.clock() + drain * 1000,
        kind: 'drain',
        key: key(namespace, name),
        uid: pod.metadata.uid,
      });
      // Still listed and holding its slot: no controller or scheduler has anything to do until
      // it is gone (the timer's reconcile), only its owners' ready counts change.
      this.updateStatuses(pod);
      return { status: 'evicted' };
    }
    this.deletePod(namespace, name);
    this.reconcile();
    return { status: 'evicted' };
  }

  /** PodDisruptionBudget status as `kubectl get pdb` shows it. */
  pdbStatus(pdb: Obj): Obj {
    const covered = [...this.pods.values()].filter(
      (p) =>
        p.metadata.namespace === pdb.metadata.namespace &&
        selectorMatches(p.metadata.labels, pdb.spec.selector),
    );
    const healthy = covered.filter(
      (p) => p.status.phase === 'Running' && !p.metadata.deletionTimestamp,
    ).length;
    const desired =
      pdb.spec.minAvailable !== undefined
        ? intOrPercent(pdb.spec.minAvailable, covered.length, true)
        : covered.length - intOrPercent(pdb.spec.maxUnavailable ?? 0, covered.length, true);
    return {
      currentHealthy: healthy,
      desiredHealthy: desired,
      disruptionsAllowed: Math.max(0, healthy - desired),
      expectedPods: covered.length,
      observedGeneration: 1,
    };
  }
}
