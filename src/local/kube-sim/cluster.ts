import { randomBytes } from 'node:crypto';

/**
 * The state of one simulated cluster: nodes (from the EC2 instances that run), pods with a
 * slot-counting scheduler, DaemonSets, Deployments, PodDisruptionBudgets. A test double for the
 * local backend, nothing more: no containers run, no network exists, pods are Running the moment
 * they are scheduled. Objects are kept as the Kubernetes API shows them, so they are served as-is.
 */

export type Obj = Record<string, any>;

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

const CONTROL_PLANE_TAINT = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };
const STATIC_COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

function suffix(n = 5): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Equality-based label selector match (`matchLabels`, and `a=b,c!=d` query strings). */
export function matchesLabels(labels: Record<string, string> | undefined, selector: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

export function parseLabelSelector(text: string | null): (labels: Record<string, string> | undefined) => boolean {
  if (!text) return () => true;
  const terms = text.split(',').map((t) => t.trim()).filter(Boolean);
  return (labels) =>
    terms.every((t) => {
      const neq = t.split('!=');
      if (neq.length === 2) return labels?.[neq[0]!] !== neq[1];
      const [k, v] = t.split(/==?/);
      return v === undefined ? labels?.[k!] !== undefined : labels?.[k!] === v;
    });
}

/** Field selectors kubectl sends: `spec.nodeName=x`, `status.phase!=Running`, `metadata.name=y`. */
export function parseFieldSelector(text: string | null): (o: Obj) => boolean {
  if (!text) return () => true;
  const terms = text.split(',').map((t) => t.trim()).filter(Boolean);
  const get = (o: Obj, path: string) => path.split('.').reduce<any>((acc, part) => acc?.[part], o) ?? '';
  return (o) =>
    terms.every((t) => {
      const neq = t.split('!=');
      if (neq.length === 2) return String(get(o, neq[0]!)) !== neq[1];
      const [k, v] = t.split(/==?/);
      return String(get(o, k!)) === (v ?? '');
    });
}

function intOrPercent(value: number | string, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const pct = Number(value.replace('%', ''));
  return roundUp ? Math.ceil((pct * total) / 100) : Math.floor((pct * total) / 100);
}

export class SimCluster {
  readonly nodes = new Map<string, Obj>();
  readonly pods = new Map<string, Obj>();
  readonly daemonSets = new Map<string, Obj>();
  readonly deployments = new Map<string, Obj>();
  readonly pdbs = new Map<string, Obj>();
  private version = 1;

  constructor(
    readonly name: string,
    readonly kubernetesVersion: string,
  ) {
    this.addDeployment({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        template: {
          metadata: { labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true' } },
          spec: { containers: [{ name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.3' }], priorityClassName: 'system-cluster-critical', tolerations: [CONTROL_PLANE_TAINT] },
        },
      },
    });
    this.ensureDaemonSet('kube-proxy', 'registry.k8s.io/kube-proxy:' + kubernetesVersion, { 'k8s-app': 'kube-proxy' }, []);
  }

  nextVersion(): string {
    return String(++this.version);
  }

  /** kube-system/aws-node: the Amazon VPC CNI, with the env the manifest gave it at create. */
  ensureAwsNode(env: Array<{ name: string; value?: string }>, image: string): void {
    if (this.daemonSets.has(key('kube-system', 'aws-node'))) return;
    const defaults = [
      { name: 'ADDITIONAL_ENI_TAGS', value: '{}' },
      { name: 'AWS_VPC_K8S_CNI_LOGLEVEL', value: 'DEBUG' },
      { name: 'ENABLE_PREFIX_DELEGATION', value: 'false' },
      { name: 'WARM_ENI_TARGET', value: '1' },
    ];
    const merged = [...defaults.filter((d) => !env.some((e) => e.name === d.name)), ...env.map((e) => ({ name: e.name, value: e.value ?? '' }))];
    this.ensureDaemonSet('aws-node', image, { 'k8s-app': 'aws-node' }, merged);
  }

  private ensureDaemonSet(name: string, image: string, labels: Record<string, string>, env: Array<{ name: string; value: string }>): void {
    this.daemonSets.set(key('kube-system', name), {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name, namespace: 'kube-system', labels, uid: suffix(12), generation: 1, resourceVersion: this.nextVersion(), creationTimestamp: now() },
      spec: {
        selector: { matchLabels: labels },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } },
        template: {
          metadata: { labels },
          spec: { hostNetwork: true, priorityClassName: 'system-node-critical', tolerations: [{ operator: 'Exists' }], containers: [{ name, image, env }] },
        },
      },
      status: {},
    });
  }

  addDeployment(deployment: Obj): Obj {
    const namespace = deployment.metadata.namespace ?? 'default';
    const stored: Obj = {
      ...deployment,
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { ...deployment.metadata, namespace, uid: suffix(12), generation: 1, resourceVersion: this.nextVersion(), creationTimestamp: now() },
      status: {},
    };
    stored.spec.replicas ??= 1;
    stored.metadata.annotations = { ...(stored.metadata.annotations ?? {}), 'kopsless.io/replicaset': `${stored.metadata.name}-${suffix(10)}` };
    this.deployments.set(key(namespace, stored.metadata.name), stored);
    return stored;
  }

  createPod(pod: Obj): Obj {
    const namespace = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? `${pod.metadata?.generateName ?? 'pod-'}${suffix()}`;
    const stored: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      ...pod,
      metadata: { ...pod.metadata, name, namespace, uid: suffix(12), resourceVersion: this.nextVersion(), creationTimestamp: now() },
      spec: { restartPolicy: 'Always', ...(pod.spec ?? {}) },
      status: { phase: 'Pending', conditions: [] },
    };
    delete stored.metadata.generateName;
    this.pods.set(key(namespace, name), stored);
    if (stored.spec.nodeName) this.bind(stored, stored.spec.nodeName);
    return stored;
  }

  deletePod(namespace: string, name: string): Obj | undefined {
    const pod = this.pods.get(key(namespace, name));
    this.pods.delete(key(namespace, name));
    return pod;
  }

  /** Pods that take a slot on a node: every pod bound to it that has not finished. */
  podsOn(nodeName: string): Obj[] {
    return [...this.pods.values()].filter((p) => p.spec.nodeName === nodeName && !['Succeeded', 'Failed'].includes(p.status.phase));
  }

  private bind(pod: Obj, nodeName: string): void {
    const node = this.nodes.get(nodeName);
    pod.spec.nodeName = nodeName;
    pod.status = {
      phase: 'Running',
      hostIP: node?.status.addresses?.[0]?.address,
      podIP: pod.spec.hostNetwork ? node?.status.addresses?.[0]?.address : `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`,
      startTime: now(),
      conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now() })),
      containerStatuses: (pod.spec.containers ?? []).map((c: Obj) => ({ name: c.name, image: c.image, ready: true, restartCount: 0, started: true, state: { running: { startedAt: now() } } })),
    };
    pod.metadata.resourceVersion = this.nextVersion();
  }

  private tolerates(pod: Obj, node: Obj): boolean {
    const taints: Obj[] = node.spec.taints ?? [];
    const tolerations: Obj[] = pod.spec.tolerations ?? [];
    return taints.every((t) => tolerations.some((tol) => tol.operator === 'Exists' && !tol.key ? true : tol.key === t.key && (!tol.effect || tol.effect === t.effect)));
  }

  private ready(node: Obj): boolean {
    return (node.status.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True');
  }

  /** Binds every Pending pod it can, least-loaded node first; the rest stay Pending with the scheduler's message. */
  schedule(): void {
    const pending = [...this.pods.values()].filter((p) => !p.spec.nodeName && p.status.phase === 'Pending');
    const nodes = [...this.nodes.values()];
    for (const pod of pending) {
      const reasons = new Map<string, number>();
      const fits = nodes.filter((node) => {
        const why = !this.ready(node)
          ? 'node(s) were not ready'
          : node.spec.unschedulable
            ? 'node(s) were unschedulable'
            : !this.tolerates(pod, node)
              ? `node(s) had untolerated taint {${(node.spec.taints ?? []).map((t: Obj) => `${t.key}: ${t.value ?? ''}`).join(', ')}}`
              : this.podsOn(node.metadata.name).length >= Number(node.status.allocatable.pods)
                ? 'Too many pods'
                : undefined;
        if (why) reasons.set(why, (reasons.get(why) ?? 0) + 1);
        return !why;
      });
      if (fits.length > 0) {
        fits.sort((a, b) => this.podsOn(a.metadata.name).length - this.podsOn(b.metadata.name).length);
        this.bind(pod, fits[0]!.metadata.name);
        continue;
      }
      const detail = [...reasons.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([why, n]) => (why === 'Too many pods' ? `${n} ${why}` : `${n} ${why}`))
        .join(', ');
      const message = `0/${nodes.length} nodes are available: ${detail || 'no nodes registered'}. preemption: 0/${nodes.length} nodes are available: ${nodes.length} Preemption is not helpful for scheduling.`;
      const existing = pod.status.conditions?.[0];
      if (existing?.message !== message) {
        pod.status = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: now() }] };
        pod.metadata.resourceVersion = this.nextVersion();
      }
    }
  }

  /** Keeps DaemonSet pods on every node, static control-plane pods on control-plane nodes, Deployment replicas. */
  reconcile(): void {
    for (const node of this.nodes.values()) {
      const nodeName = node.metadata.name;
      for (const ds of this.daemonSets.values()) {
        const dsName = ds.metadata.name;
        const has = this.podsOn(nodeName).some((p) => p.metadata.ownerReferences?.[0]?.name === dsName && p.metadata.ownerReferences?.[0]?.kind === 'DaemonSet');
        if (!has) {
          this.createPod({
            metadata: { name: `${dsName}-${suffix()}`, namespace: 'kube-system', labels: ds.spec.selector.matchLabels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: dsName, uid: ds.metadata.uid, controller: true }] },
            spec: { ...structuredClone(ds.spec.template.spec), nodeName },
          });
        }
      }
      if ('node-role.kubernetes.io/control-plane' in (node.metadata.labels ?? {})) {
        for (const component of STATIC_COMPONENTS) {
          const podName = `${component}-${nodeName}`;
          if (!this.pods.has(key('kube-system', podName))) {
            this.createPod({
              metadata: { name: podName, namespace: 'kube-system', labels: { component, tier: 'control-plane' }, annotations: { 'kubernetes.io/config.mirror': suffix(16) }, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.metadata.uid, controller: true }] },
              spec: { hostNetwork: true, priorityClassName: 'system-node-critical', containers: [{ name: component, image: `registry.k8s.io/${component}:${this.kubernetesVersion}` }], nodeName, tolerations: [{ operator: 'Exists' }] },
            });
          }
        }
      }
    }
    for (const deploy of this.deployments.values()) {
      const rs = deploy.metadata.annotations['kopsless.io/replicaset'];
      const owned = [...this.pods.values()].filter((p) => p.metadata.ownerReferences?.[0]?.name === rs);
      for (let i = owned.length; i < deploy.spec.replicas; i++) {
        this.createPod({
          metadata: { name: `${rs}-${suffix()}`, namespace: deploy.metadata.namespace, labels: { ...deploy.spec.template.metadata?.labels }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, uid: deploy.metadata.uid, controller: true }] },
          spec: structuredClone(deploy.spec.template.spec),
        });
      }
      for (const extra of owned.slice(deploy.spec.replicas)) this.deletePod(extra.metadata.namespace, extra.metadata.name);
    }
    this.schedule();
    this.updateStatuses();
  }

  private updateStatuses(): void {
    const nodeCount = this.nodes.size;
    for (const ds of this.daemonSets.values()) {
      const pods = [...this.pods.values()].filter((p) => p.metadata.ownerReferences?.[0]?.kind === 'DaemonSet' && p.metadata.ownerReferences?.[0]?.name === ds.metadata.name);
      const ready = pods.filter((p) => p.status.phase === 'Running').length;
      ds.status = { currentNumberScheduled: pods.length, desiredNumberScheduled: nodeCount, numberAvailable: ready, numberMisscheduled: 0, numberReady: ready, updatedNumberScheduled: pods.length, observedGeneration: ds.metadata.generation };
    }
    for (const deploy of this.deployments.values()) {
      const rs = deploy.metadata.annotations['kopsless.io/replicaset'];
      const pods = [...this.pods.values()].filter((p) => p.metadata.ownerReferences?.[0]?.name === rs);
      const ready = pods.filter((p) => p.status.phase === 'Running').length;
      deploy.status = { replicas: pods.length, readyReplicas: ready, availableReplicas: ready, updatedReplicas: pods.length, unavailableReplicas: pods.length - ready, observedGeneration: deploy.metadata.generation };
    }
  }

  /**
   * Registers a Ready node for every running instance and removes the nodes whose instance is
   * gone (their pods go with them; controllers recreate theirs elsewhere).
   */
  syncInstances(instances: InstanceView[]): void {
    const wanted = new Map(instances.map((i) => [i.privateDnsName, i]));
    for (const [name, node] of this.nodes) {
      if (wanted.has(name)) continue;
      this.nodes.delete(name);
      for (const pod of [...this.pods.values()].filter((p) => p.spec.nodeName === node.metadata.name)) this.deletePod(pod.metadata.namespace, pod.metadata.name);
    }
    for (const instance of instances) {
      if (this.nodes.has(instance.privateDnsName)) continue;
      const role = instance.controlPlane ? 'control-plane' : 'node';
      this.nodes.set(instance.privateDnsName, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: instance.privateDnsName,
          uid: suffix(12),
          resourceVersion: this.nextVersion(),
          creationTimestamp: now(),
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
        spec: { providerID: `aws:///${instance.zone}/${instance.instanceId}`, ...(instance.controlPlane ? { taints: [CONTROL_PLANE_TAINT] } : {}) },
        status: {
          capacity: { pods: String(instance.maxPods), cpu: '2', memory: '3986524Ki' },
          allocatable: { pods: String(instance.maxPods), cpu: '2', memory: '3884124Ki' },
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now(), lastTransitionTime: now() }],
          addresses: [
            { type: 'InternalIP', address: instance.privateIp },
            { type: 'Hostname', address: instance.privateDnsName },
          ],
          nodeInfo: { kubeletVersion: instance.kubeletVersion ?? this.kubernetesVersion, containerRuntimeVersion: 'containerd://1.7.24', osImage: 'Ubuntu 24.04 LTS', operatingSystem: 'linux', architecture: 'amd64' },
        },
      });
    }
    this.reconcile();
  }

  /**
   * The eviction API: refuses (429) when a PodDisruptionBudget covering the pod has no
   * disruption left, otherwise deletes the pod.
   */
  evict(namespace: string, name: string): { status: 'evicted' | 'blocked' | 'gone'; message?: string } {
    const pod = this.pods.get(key(namespace, name));
    if (!pod) return { status: 'gone' };
    for (const pdb of this.pdbs.values()) {
      if (pdb.metadata.namespace !== namespace || !matchesLabels(pod.metadata.labels, pdb.spec.selector?.matchLabels)) continue;
      const covered = [...this.pods.values()].filter((p) => p.metadata.namespace === namespace && matchesLabels(p.metadata.labels, pdb.spec.selector?.matchLabels));
      const healthy = covered.filter((p) => p.status.phase === 'Running').length;
      const desiredHealthy =
        pdb.spec.minAvailable !== undefined
          ? intOrPercent(pdb.spec.minAvailable, covered.length, true)
          : covered.length - intOrPercent(pdb.spec.maxUnavailable ?? 0, covered.length, true);
      if (healthy - desiredHealthy < 1 || pod.status.phase !== 'Running') {
        return { status: 'blocked', message: "Cannot evict pod as it would violate the pod's disruption budget." };
      }
    }
    this.deletePod(namespace, name);
    this.reconcile();
    return { status: 'evicted' };
  }

  /** PodDisruptionBudget status as `kubectl get pdb` shows it. */
  pdbStatus(pdb: Obj): Obj {
    const covered = [...this.pods.values()].filter((p) => p.metadata.namespace === pdb.metadata.namespace && matchesLabels(p.metadata.labels, pdb.spec.selector?.matchLabels));
    const healthy = covered.filter((p) => p.status.phase === 'Running').length;
    const desired = pdb.spec.minAvailable !== undefined ? intOrPercent(pdb.spec.minAvailable, covered.length, true) : covered.length - intOrPercent(pdb.spec.maxUnavailable ?? 0, covered.length, true);
    return { currentHealthy: healthy, desiredHealthy: desired, disruptionsAllowed: Math.max(0, healthy - desired), expectedPods: covered.length, observedGeneration: 1 };
  }
}
