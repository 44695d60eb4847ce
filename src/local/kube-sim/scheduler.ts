import { NOT_READY_TAINT, type Obj, UNSCHEDULABLE_TAINT } from './objects.js';
import { PodStore } from './pod-store.js';

/** The simulated scheduler: slot counting, taints, node affinity, priority and preemption. */
export abstract class Scheduler extends PodStore {
  private tolerated(pod: Obj, taint: Obj): boolean {
    return (pod.spec.tolerations ?? []).some(
      (tol: Obj) =>
        (tol.operator === 'Exists' && !tol.key) ||
        (tol.key === taint.key &&
          (!tol.effect || tol.effect === taint.effect) &&
          (tol.operator === 'Exists' || (tol.value ?? '') === (taint.value ?? ''))),
    );
  }

  private ready(node: Obj): boolean {
    return (node.status.conditions ?? []).some(
      (c: Obj) => c.type === 'Ready' && c.status === 'True',
    );
  }

  /** Node affinity and nodeSelector: what a DaemonSet pod uses to name its node. */
  private affinityMatches(pod: Obj, node: Obj): boolean {
    const bySelector = Object.entries(pod.spec.nodeSelector ?? {}).every(
      ([k, v]) => node.metadata.labels?.[k] === v,
    );
    const terms: Obj[] =
      pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
        ?.nodeSelectorTerms ?? [];
    const fields = { 'metadata.name': node.metadata.name };
    const byAffinity =
      terms.length === 0 ||
      terms.some((t) =>
        [
          ...(t.matchFields ?? []).map((e: Obj) => ({
            ...e,
            value: fields[e.key as 'metadata.name'],
          })),
          ...(t.matchExpressions ?? []).map((e: Obj) => ({
            ...e,
            value: node.metadata.labels?.[e.key],
          })),
        ].every((e: Obj) =>
          e.operator === 'In'
            ? (e.values ?? []).includes(e.value)
            : e.operator === 'NotIn'
              ? !(e.values ?? []).includes(e.value)
              : e.operator === 'Exists'
                ? e.value !== undefined
                : e.operator === 'DoesNotExist'
                  ? e.value === undefined
                  : false,
        ),
      );
    return bySelector && byAffinity;
  }

  /** Why a node cannot take a pod (the scheduler's filter plugins, in their order), or undefined. */
  private filter(pod: Obj, node: Obj): string | undefined {
    // A NotReady node carries the not-ready taint (the node lifecycle controller's); a node without it that is not Ready still takes nothing.
    if (
      !this.ready(node) &&
      !(node.spec.taints ?? []).some((t: Obj) => t.key === NOT_READY_TAINT.key)
    )
      return 'node(s) were not ready';
    if (node.spec.unschedulable && !this.tolerated(pod, UNSCHEDULABLE_TAINT))
      return 'node(s) were unschedulable';
    const untolerated = (node.spec.taints ?? []).find(
      (t: Obj) => ['NoSchedule', 'NoExecute'].includes(t.effect) && !this.tolerated(pod, t),
    );
    if (untolerated)
      return `node(s) had untolerated taint {${untolerated.key}: ${untolerated.value ?? ''}}`;
    if (!this.affinityMatches(pod, node))
      return "node(s) didn't match Pod's node affinity/selector";
    if (this.slotsUsed(node.metadata.name) >= Number(node.status.allocatable.pods))
      return 'Too many pods';
    return undefined;
  }

  /**
   * Preemption: on a node that is only full, the pods of lower priority that must go for this one
   * to fit (lowest priority first), or undefined when there are not enough of them.
   */
  private victims(pod: Obj, node: Obj): Obj[] | undefined {
    const on = this.podsOn(node.metadata.name);
    const needed = on.length - Number(node.status.allocatable.pods) + 1;
    const lower = on
      .filter(
        (p) =>
          (p.spec.priority ?? 0) < (pod.spec.priority ?? 0) &&
          !p.metadata.annotations?.['kubernetes.io/config.mirror'] &&
          !p.metadata.deletionTimestamp,
      )
      .sort((a, b) => (a.spec.priority ?? 0) - (b.spec.priority ?? 0));
    return lower.length >= needed ? lower.slice(0, needed) : undefined;
  }

  /**
   * Binds every Pending pod it can, highest priority first, least-loaded node first; a pod that
   * fits nowhere preempts lower-priority pods where that makes room (as system-node-critical
   * DaemonSet pods do on a full node), and otherwise stays Pending with the scheduler's message
   * and a FailedScheduling event. Returns whether it preempted any pod.
   */
  schedule(): boolean {
    let preempted = false;
    const pending = [...this.unbound]
      .map((k) => this.podStore.get(k)!)
      .filter((p) => !p.spec.nodeName && p.status.phase === 'Pending')
      .sort((a, b) => (b.spec.priority ?? 0) - (a.spec.priority ?? 0));
    const nodes = [...this.nodes.values()];
    for (const pod of pending) {
      const reasons = new Map<string, number>();
      const why = new Map<string, string>();
      const fits = nodes.filter((node) => {
        const reason = this.filter(pod, node);
        if (reason) {
          reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
          why.set(node.metadata.name, reason);
        }
        return !reason;
      });
      if (fits.length > 0) {
        const least = fits.reduce((best, n) =>
          this.slotsUsed(n.metadata.name) < this.slotsUsed(best.metadata.name) ? n : best,
        );
        this.bind(pod, least.metadata.name);
        continue;
      }
      const full = nodes
        .filter((n) => why.get(n.metadata.name) === 'Too many pods')
        .map((node) => ({ node, victims: this.victims(pod, node) }));
      const candidate = full
        .filter((c) => c.victims)
        .sort((a, b) => a.victims!.length - b.victims!.length)[0];
      if (candidate) {
        for (const victim of candidate.victims!) {
          this.recordEvent({
            involved: victim,
            type: 'Normal',
            reason: 'Preempted',
            message: `Preempted by pod ${pod.metadata.uid} on node ${candidate.node.metadata.name}`,
            component: 'default-scheduler',
          });
          this.deletePod(victim.metadata.namespace, victim.metadata.name);
        }
        this.bind(pod, candidate.node.metadata.name);
        preempted = true;
        continue;
      }
      const histogram = (m: Map<string, number>) =>
        [...m.entries()]
          .map(([reason, n]) => `${n} ${reason}`)
          .sort()
          .join(', ');
      const postFilter = new Map<string, number>();
      for (const node of nodes) {
        const reason =
          why.get(node.metadata.name) === 'Too many pods'
            ? 'No preemption victims found for incoming pod'
            : 'Preemption is not helpful for scheduling';
        postFilter.set(reason, (postFilter.get(reason) ?? 0) + 1);
      }
      const message =
        nodes.length === 0
          ? 'no nodes available to schedule pods'
          : `0/${nodes.length} nodes are available: ${histogram(reasons)}. preemption: 0/${nodes.length} nodes are available: ${histogram(postFilter)}.`;
      const existing = pod.status.conditions?.[0];
      if (existing?.message !== message) {
        pod.status = {
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message,
              lastTransitionTime: this.stamp(),
            },
          ],
        };
        pod.metadata.resourceVersion = this.nextVersion();
        this.recordEvent({
          involved: pod,
          type: 'Warning',
          reason: 'FailedScheduling',
          message,
          component: 'default-scheduler',
        });
      }
    }
    return preempted;
  }
}
