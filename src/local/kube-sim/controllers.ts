import { SimEtcd } from './etcd.js';
import {
  DAEMONSET_TOLERATIONS,
  intOrPercent,
  key,
  type Obj,
  STATIC_COMPONENTS,
  suffix,
  templateHash,
} from './objects.js';
import { Scheduler } from './scheduler.js';

/**
 * The simulated controllers: the add-ons' DaemonSets, Deployments and their ReplicaSets, static
 * control-plane pods, and the status each workload reports.
 */
export abstract class Controllers extends Scheduler {
  /** The cluster's stacked etcd: one member per control-plane node that joined it. */
  readonly etcd = new SimEtcd((name) => this.nodes.has(name));

  /** kube-system/aws-node: the Amazon VPC CNI, with the env the manifest gave it at create. */
  ensureAwsNode(env: Array<{ name: string; value?: string }>, image: string): void {
    if (this.daemonSets.has(key('kube-system', 'aws-node'))) return;
    const defaults = [
      { name: 'ADDITIONAL_ENI_TAGS', value: '{}' },
      { name: 'AWS_VPC_K8S_CNI_LOGLEVEL', value: 'DEBUG' },
      { name: 'ENABLE_PREFIX_DELEGATION', value: 'false' },
      { name: 'WARM_ENI_TARGET', value: '1' },
    ];
    const merged = [
      ...defaults.filter((d) => !env.some((e) => e.name === d.name)),
      ...env.map((e) => ({ name: e.name, value: e.value ?? '' })),
    ];
    this.ensureDaemonSet('aws-node', image, { 'k8s-app': 'aws-node' }, merged);
  }

  protected ensureDaemonSet(
    name: string,
    image: string,
    labels: Record<string, string>,
    env: Array<{ name: string; value: string }>,
  ): void {
    this.daemonSets.set(key('kube-system', name), {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: {
        name,
        namespace: 'kube-system',
        labels,
        uid: suffix(12),
        generation: 1,
        resourceVersion: this.nextVersion(),
        creationTimestamp: this.stamp(),
      },
      spec: {
        selector: { matchLabels: labels },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } },
        template: {
          metadata: { labels },
          spec: {
            hostNetwork: true,
            priorityClassName: 'system-node-critical',
            tolerations: [{ operator: 'Exists' }],
            containers: [{ name, image, env }],
          },
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
      metadata: {
        ...deployment.metadata,
        namespace,
        uid: suffix(12),
        generation: 1,
        resourceVersion: this.nextVersion(),
        creationTimestamp: this.stamp(),
      },
      status: {},
    };
    stored.spec.replicas ??= 1;
    stored.spec.strategy ??= {
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
    };
    stored.spec.revisionHistoryLimit ??= 10;
    this.deployments.set(key(namespace, stored.metadata.name), stored);
    return stored;
  }

  /** Deletes a Deployment with its ReplicaSets and their pods (foreground cascade, at once). */
  deleteDeployment(namespace: string, name: string): Obj | undefined {
    const d = this.deployments.get(key(namespace, name));
    if (!d) return undefined;
    this.deployments.delete(key(namespace, name));
    for (const rs of this.ownedBy(this.replicaSets.values(), d)) {
      this.replicaSets.delete(key(namespace, rs.metadata.name));
      for (const pod of this.podsOwnedBy(rs)) this.deletePod(namespace, pod.metadata.name);
    }
    return d;
  }

  /** The node a DaemonSet pod is for: bound, or named by the node affinity its controller set. */
  private daemonPodNode(pod: Obj): string | undefined {
    return (
      pod.spec.nodeName ??
      pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
        ?.nodeSelectorTerms?.[0]?.matchFields?.[0]?.values?.[0]
    );
  }

  /** The DaemonSet controller: one pod per node, pinned by node affinity, placed by the scheduler. */
  protected reconcileDaemonSets(): void {
    for (const ds of this.daemonSets.values()) {
      const covered = new Set<string>();
      for (const pod of this.podsOwnedBy(ds)) {
        const on = this.daemonPodNode(pod) ?? '';
        if (!this.nodes.has(on)) this.deletePod(pod.metadata.namespace, pod.metadata.name);
        else covered.add(on);
      }
      for (const node of this.nodes.values()) {
        const nodeName = node.metadata.name;
        if (covered.has(nodeName)) continue;
        const spec = structuredClone(ds.spec.template.spec);
        this.createPod({
          metadata: {
            generateName: `${ds.metadata.name}-`,
            namespace: ds.metadata.namespace,
            labels: { ...ds.spec.template.metadata?.labels },
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'DaemonSet',
                name: ds.metadata.name,
                uid: ds.metadata.uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: {
            ...spec,
            affinity: {
              ...spec.affinity,
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [
                    { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] },
                  ],
                },
              },
            },
            tolerations: [
              ...(spec.tolerations ?? []),
              ...DAEMONSET_TOLERATIONS.filter(
                (t) => spec.hostNetwork || t.key !== 'node.kubernetes.io/network-unavailable',
              ),
            ],
          },
        });
      }
    }
  }

  /** The Deployment controller: the ReplicaSet of the current pod template holds the replicas, older ones none. */
  protected reconcileDeployments(): void {
    const setsOf = this.replicaSetsByOwner();
    for (const d of this.deployments.values()) {
      const hash = templateHash(d.spec.template);
      const owned = setsOf.get(d.metadata.uid) ?? [];
      let current = owned.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
      const revision = Math.max(
        0,
        ...owned.map((rs) =>
          Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0),
        ),
      );
      if (!current) {
        const name = `${d.metadata.name}-${hash}`;
        const template = structuredClone(d.spec.template);
        template.metadata = {
          ...template.metadata,
          labels: { ...template.metadata?.labels, 'pod-template-hash': hash },
        };
        current = {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            name,
            namespace: d.metadata.namespace,
            uid: suffix(12),
            generation: 1,
            resourceVersion: this.nextVersion(),
            creationTimestamp: this.stamp(),
            labels: { ...template.metadata.labels },
            annotations: {
              'deployment.kubernetes.io/desired-replicas': String(d.spec.replicas),
              'deployment.kubernetes.io/max-replicas': String(d.spec.replicas),
              'deployment.kubernetes.io/revision': String(revision + 1),
            },
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'Deployment',
                name: d.metadata.name,
                uid: d.metadata.uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: {
            replicas: d.spec.replicas,
            selector: {
              matchLabels: { ...d.spec.selector?.matchLabels, 'pod-template-hash': hash },
              ...(d.spec.selector?.matchExpressions
                ? { matchExpressions: d.spec.selector.matchExpressions }
                : {}),
            },
            template,
          },
          status: { replicas: 0 },
        };
        this.replicaSets.set(key(d.metadata.namespace, name), current);
        this.recordEvent({
          involved: d,
          type: 'Normal',
          reason: 'ScalingReplicaSet',
          message: `Scaled up replica set ${name} from 0 to ${d.spec.replicas}`,
          component: 'deployment-controller',
        });
      }
      // The simulated roll of a changed template is immediate (no surge): old sets go to 0 at once.
      for (const rs of owned) {
        const want = rs === current ? d.spec.replicas : 0;
        if (rs.spec.replicas === want) continue;
        this.recordEvent({
          involved: d,
          type: 'Normal',
          reason: 'ScalingReplicaSet',
          message: `Scaled ${want > rs.spec.replicas ? 'up' : 'down'} replica set ${rs.metadata.name} from ${rs.spec.replicas} to ${want}`,
          component: 'deployment-controller',
        });
        rs.spec.replicas = want;
        rs.metadata.annotations['deployment.kubernetes.io/desired-replicas'] = String(
          d.spec.replicas,
        );
        rs.metadata.generation += 1;
        rs.metadata.resourceVersion = this.nextVersion();
      }
      // Sets beyond revisionHistoryLimit (of those scaled to 0) are garbage collected.
      const old = owned
        .filter((rs) => rs !== current && rs.spec.replicas === 0)
        .sort(
          (a, b) =>
            Number(a.metadata.annotations['deployment.kubernetes.io/revision']) -
            Number(b.metadata.annotations['deployment.kubernetes.io/revision']),
        );
      for (const rs of old.slice(0, Math.max(0, old.length - d.spec.revisionHistoryLimit)))
        this.replicaSets.delete(key(rs.metadata.namespace, rs.metadata.name));
    }
  }

  /** The ReplicaSet controller: creates or deletes pods to the count, deleting unscheduled ones first. */
  protected reconcileReplicaSets(): void {
    for (const rs of this.replicaSets.values()) {
      const pods = this.podsOwnedBy(rs);
      for (let i = pods.length; i < rs.spec.replicas; i++) {
        this.createPod({
          metadata: {
            generateName: `${rs.metadata.name}-`,
            namespace: rs.metadata.namespace,
            labels: { ...rs.spec.template.metadata?.labels },
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'ReplicaSet',
                name: rs.metadata.name,
                uid: rs.metadata.uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: structuredClone(rs.spec.template.spec),
        });
      }
      const surplus = pods.length - rs.spec.replicas;
      if (surplus > 0) {
        // A Terminating pod is already on its way out; the others go, unscheduled and newest first.
        const order = pods
          .filter((p) => !p.metadata.deletionTimestamp)
          .sort(
            (a, b) =>
              Number(!!a.spec.nodeName) - Number(!!b.spec.nodeName) ||
              (a.metadata.creationTimestamp < b.metadata.creationTimestamp ? 1 : -1),
          );
        for (const extra of order.slice(0, surplus))
          this.deletePod(extra.metadata.namespace, extra.metadata.name);
      }
    }
  }

  /** Static control-plane pods (mirror pods) on control-plane nodes: the kubelet runs them from files. */
  protected reconcileStaticPods(): void {
    for (const node of this.nodes.values()) {
      const nodeName = node.metadata.name;
      if (!('node-role.kubernetes.io/control-plane' in (node.metadata.labels ?? {}))) continue;
      for (const component of STATIC_COMPONENTS) {
        // kubeadm writes etcd's manifest only on a node whose init or join added it as a member.
        if (component === 'etcd' && !this.etcd.isMember(nodeName)) continue;
        const podName = `${component}-${nodeName}`;
        if (this.pods.has(key('kube-system', podName))) continue;
        this.createPod({
          metadata: {
            name: podName,
            namespace: 'kube-system',
            labels: { component, tier: 'control-plane' },
            annotations: { 'kubernetes.io/config.mirror': suffix(16) },
            ownerReferences: [
              {
                apiVersion: 'v1',
                kind: 'Node',
                name: nodeName,
                uid: node.metadata.uid,
                controller: true,
              },
            ],
          },
          spec: {
            hostNetwork: true,
            priorityClassName: 'system-node-critical',
            containers: [
              { name: component, image: `registry.k8s.io/${component}:${this.kubernetesVersion}` },
            ],
            nodeName,
            tolerations: [{ operator: 'Exists' }],
          },
        });
      }
    }
  }

  /**
   * Recomputes the controllers' statuses: every one, or with `changed` only those of the pod's
   * controller and, for a ReplicaSet, its Deployment (an eviction that only marks a pod
   * Terminating changes nothing else, and a drain of a full node evicts over a hundred pods).
   */
  protected updateStatuses(changed?: Obj): void {
    const owner = changed?.metadata.ownerReferences?.find((r: Obj) => r.controller)?.uid;
    const inScope = (o: Obj) => changed === undefined || o.metadata.uid === owner;
    const deploymentInScope =
      changed === undefined
        ? undefined
        : [...this.replicaSets.values()]
            .find((rs) => rs.metadata.uid === owner)
            ?.metadata.ownerReferences?.find((r: Obj) => r.controller)?.uid;
    const nodeCount = this.nodes.size;
    for (const ds of this.daemonSets.values()) {
      if (!inScope(ds)) continue;
      const pods = this.podsOwnedBy(ds);
      const scheduled = pods.filter((p) => p.spec.nodeName);
      const ready = pods.filter((p) => p.status.phase === 'Running').length;
      ds.status = {
        currentNumberScheduled: scheduled.length,
        desiredNumberScheduled: nodeCount,
        numberAvailable: ready,
        numberMisscheduled: 0,
        numberReady: ready,
        updatedNumberScheduled: pods.length,
        observedGeneration: ds.metadata.generation,
        ...(ready < nodeCount ? { numberUnavailable: nodeCount - ready } : {}),
      };
    }
    for (const rs of this.replicaSets.values()) {
      if (!inScope(rs)) continue;
      const pods = this.podsOwnedBy(rs);
      const ready = pods.filter(
        (p) => p.status.phase === 'Running' && !p.metadata.deletionTimestamp,
      ).length;
      rs.status = {
        replicas: pods.length,
        fullyLabeledReplicas: pods.length,
        readyReplicas: ready,
        availableReplicas: ready,
        observedGeneration: rs.metadata.generation,
      };
    }
    const setsOf = this.replicaSetsByOwner();
    for (const d of this.deployments.values()) {
      if (changed !== undefined && d.metadata.uid !== deploymentInScope) continue;
      const sets = setsOf.get(d.metadata.uid) ?? [];
      const current = sets.find(
        (rs) => rs.metadata.labels?.['pod-template-hash'] === templateHash(d.spec.template),
      );
      const sum = (f: (rs: Obj) => number) => sets.reduce((n, rs) => n + f(rs), 0);
      const replicas = sum((rs) => rs.status.replicas ?? 0);
      const ready = sum((rs) => rs.status.readyReplicas ?? 0);
      const available =
        ready >=
        d.spec.replicas -
          intOrPercent(
            d.spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%',
            d.spec.replicas,
            false,
          );
      d.status = {
        replicas,
        readyReplicas: ready,
        availableReplicas: ready,
        updatedReplicas: current?.status.replicas ?? 0,
        ...(replicas - ready > 0 ? { unavailableReplicas: replicas - ready } : {}),
        observedGeneration: d.metadata.generation,
        conditions: [
          {
            type: 'Available',
            status: available ? 'True' : 'False',
            reason: available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
            message: available
              ? 'Deployment has minimum availability.'
              : 'Deployment does not have minimum availability.',
            lastUpdateTime: this.stamp(),
            lastTransitionTime: this.stamp(),
          },
          {
            type: 'Progressing',
            status: 'True',
            reason: ready === d.spec.replicas ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
            message: `ReplicaSet "${current?.metadata.name ?? ''}" ${ready === d.spec.replicas ? 'has successfully progressed.' : 'is progressing.'}`,
            lastUpdateTime: this.stamp(),
            lastTransitionTime: this.stamp(),
          },
        ],
      };
    }
  }
}
