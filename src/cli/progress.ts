import { now } from '../clock.js';
import type { ProgressEvent } from '../local/sfn/step-functions.js';
import { seconds } from './format.js';

type Json = any;

/** One line of what a finished Task did, from its result in the execution state. */
const DESCRIBE: Record<string, (state: Json) => string> = {
  ValidateInput: () => 'input valid',
  ValidateSpec: (s) =>
    `manifest valid: cluster ${s.spec.cluster}, ${s.spec.instanceGroups.length} instance groups`,
  AcquireLock: (s) => `cluster lock taken until ${s.lock.expiresAt}`,
  RegisterCluster: () =>
    'spec written to the state store (config, instancegroup/*, cluster-completed.spec)',
  CreateStack: (s) => `stack ${s.stack.stackName} ${s.stack.action}`,
  CheckStack: (s) =>
    s.stack.status
      ? `stack ${s.stack.status}`
      : s.stack.done
        ? 'stack deleted'
        : s.stack.failed
          ? `stack DELETE_FAILED: ${s.stack.reason}`
          : 'stack deleting',
  UpdateStack: (s) => `stack ${s.stack.stackName} ${s.stack.action}`,
  MarkUpdating: () => 'status Updating',
  UpdateInstanceGroups: (s) =>
    s.groups.groups
      .map(
        (g: Json) =>
          `${g.instanceGroup} (launch template v${g.launchTemplateVersion}, maxPods ${g.maxPods}${g.changed ? ', updated' : ', unchanged'})`,
      )
      .join('; '),
  EnsureInstanceGroups: (s) =>
    s.groups.groups
      .map(
        (g: Json) =>
          `${g.instanceGroup} (launch template v${g.launchTemplateVersion}, maxPods ${g.maxPods}${g.created ? ', created' : g.changed ? ', updated' : ''})`,
      )
      .join('; '),
  UpsertApiRecords: (s) =>
    Object.entries(s.dns.records)
      .map(([n, v]) => `${n} -> ${(v as string[]).join(',')}`)
      .join('; '),
  CheckDns: (s) => `Route53 ${s.dns.status}${s.dns.ready ? ', placeholders replaced' : ''}`,
  MarkRolling: () => 'status RollingUpdate',
  BeginWave: (s) => `wave ${s.groups.join(', ')} recorded in the lock`,
  ReserveChild: (s) => `child ${s.reservation.name} of ${s.instanceGroup} named in the lock`,
  RequireLock: (s) => `parent holds the lock; instance group ${s.instanceGroup} claimed`,
  ApplyStack: (s) => `stack ${s.stack.stackName} ${s.stack.action}`,
  ApplyInstanceGroups: (s) =>
    s.groups.groups
      .map(
        (g: Json) =>
          `${g.instanceGroup} (launch template v${g.launchTemplateVersion}, maxPods ${g.maxPods}${g.changed ? ', updated' : ', unchanged'})`,
      )
      .join('; '),
  CheckGroups: (s) =>
    `in service: ${s.instances.groups.map((g: Json) => `${g.name.split('.')[0]} ${g.inService}/${g.desired}`).join(', ')}`,
  PlanRollingUpdate: (s) =>
    `${s.plan.needUpdate} instance(s) to replace: ${
      s.plan.groups
        .filter((g: Json) => g.needUpdate > 0)
        .map((g: Json) => `${g.name} ${g.needUpdate}`)
        .join(', ') || 'none'
    }`,
  ValidateCluster: (s) =>
    s.validation.valid ? 'cluster valid' : `not valid yet: ${s.validation.failures[0] ?? ''}`,
  NextStep: (s) => stepText(s.next),
  Surge: (s) => `detached ${s.replace.detached.join(', ')}; the group launches replacements`,
  Drain: (s) =>
    s.drain.drained
      ? 'cordoned and drained'
      : `waiting for ${s.drain.remaining} pod(s) to leave${s.drain.blocked ? ` (a PodDisruptionBudget blocks ${s.drain.blocked})` : ''}`,
  Terminate: (s) => `terminated ${s.replace.terminated.join(', ')}`,
  CheckReplacements: (s) =>
    `in service ${s.next.inService}/${s.next.desired}${s.next.ready ? ', joined and Ready' : ''}${s.next.valid ? `; cluster valid; next: ${stepText(s.next)}` : ''}`,
  MarkDeleting: () => 'status Deleting',
  DeleteInstanceGroups: (s) =>
    `deleted ${s.groups.deleted} group(s), instance(s) and launch template(s)`,
  CheckInstances: (s) =>
    s.instances.groups
      ? `in service: ${s.instances.groups.map((g: Json) => `${g.name.split('.')[0]} ${g.inService}/${g.desired}`).join(', ')}`
      : s.instances.ready
        ? 'all instances terminated'
        : `${s.instances.remaining} instance(s) still terminating`,
  DeleteStack: (s) =>
    `attempt ${s.stack.attempt}: ${s.stack.networkInterfacesDeleted.length} leftover network interface(s) deleted, ${s.stack.refused ? `stack delete refused (${s.stack.refused.split(':')[0]})` : 'stack delete started'}`,
  DeleteLeftovers: (s) =>
    `${s.leftovers.deleted.length} deleted directly${s.leftovers.blocked.length ? `, ${s.leftovers.blocked.length} still blocked` : ''}; ${s.leftovers.remaining} left`,
  VerifyDeleted: () => 'no resource tagged for the cluster remains',
  DeleteState: (s) => `${s.state.objectsDeleted} state store object(s) deleted`,
  RecordSuccess: (s) => `status ${s.status.phase}, lock released`,
  RecordFailure: () => 'failure recorded in status.json, lock released',
  ReleaseLock: () => 'lock released',
};

/** A roll child's next step (or its end), as NextStep or the look that ends a step answers it. */
function stepText(next: Json): string {
  if (next.continueAsNew) return 'this execution ends here; a fresh one continues the group';
  if (next.step.kind === 'done') return 'nothing left to replace';
  return `${next.step.kind} ${next.step.instanceGroup}: ${next.step.instanceIds.join(', ')}`;
}

/**
 * Prints each state of an execution as it runs: name, elapsed time, what it did. A child
 * execution's states carry a label so that groups rolling side by side stay apart: a rolling
 * update's group execution is `rolling-update-group <instance group>#<n>`, its n-th execution
 * of that group (continue-as-new starts a fresh one every batchLimit batches); a child whose
 * output names no instance group (yet) is `<machine>#<n>`, the n-th child seen.
 */
export function progressPrinter(write: (line: string) => void, started = now().getTime()) {
  const entered = new Map<string, number>();
  const waits = new Map<string, number>();
  // Polling states (CheckReplacements, Drain, ValidateCluster) print only when what they report changes.
  const lastDetail = new Map<string, string>();
  const failed = new Map<string, { name: string; cause: string }>();
  // Per child execution: its label once its instance group is known, else its sequence number.
  const labels = new Map<string, string>();
  const sequence = new Map<string, number>();
  const runsOfGroup = new Map<string, number>();
  const labelOf = (event: ProgressEvent) => {
    if (!event.execution) return '';
    const known = labels.get(event.execution);
    if (known) return known;
    const machine = (event.stateMachine ?? 'child').replace(/^kopsless-/, '');
    // Every state's output carries the child's input fields (ResultPaths keep them): the first
    // exited state (RequireLock) names the group.
    const group =
      event.output && typeof event.output === 'object'
        ? (event.output as { instanceGroup?: unknown }).instanceGroup
        : undefined;
    if (typeof group === 'string') {
      const base = `${machine} ${group}`;
      const n = (runsOfGroup.get(base) ?? 0) + 1;
      runsOfGroup.set(base, n);
      const label = `${base}#${n}`;
      labels.set(event.execution, label);
      return label;
    }
    let n = sequence.get(event.execution);
    if (n === undefined) sequence.set(event.execution, (n = sequence.size + 1));
    return `${machine}#${n}`;
  };
  return (event: ProgressEvent) => {
    const at = `[${seconds(event.at - started).padStart(6)}]`;
    const scope = event.execution ?? '';
    const key = `${scope}\u0000${event.state}`;
    const label = labelOf(event);
    const name = label ? `${label} ${event.state}` : event.state;
    if (event.stateType === 'Wait' && event.kind === 'entered') {
      const n = (waits.get(key) ?? 0) + 1;
      waits.set(key, n);
      if (n === 1) write(`${at}   ${name} ...`);
      return;
    }
    if (
      event.stateType === 'Task' &&
      event.kind === 'entered' &&
      /^(NextStep|PlanRollingUpdate|Surge|Terminate)$/.test(event.state)
    ) {
      // A new step: its polling states (in this execution) may report the same text again and should.
      for (const k of lastDetail.keys()) if (k.startsWith(`${scope}\u0000`)) lastDetail.delete(k);
    }
    if (event.stateType !== 'Task') return;
    if (event.kind === 'entered') entered.set(key, event.at);
    else if (event.kind === 'failed') failed.set(key, event.error ?? { name: 'Error', cause: '' });
    else if (event.kind === 'retried') {
      const error = failed.get(key);
      failed.delete(key);
      write(
        `${at} ↻ ${name} retrying after ${error ? `${error.name}: ${error.cause.split('\n')[0]}` : 'a transient error'}`,
      );
    } else if (event.kind === 'exited' && failed.has(key)) {
      const error = failed.get(key)!;
      failed.delete(key);
      write(`${at} ✗ ${name}: ${error.name}: ${error.cause}`);
    } else if (event.kind === 'exited') {
      const took = seconds(event.at - (entered.get(key) ?? event.at));
      let detail = '';
      try {
        detail = DESCRIBE[event.state]?.(event.output) ?? '';
      } catch {
        detail = '';
      }
      if (lastDetail.get(key) === detail && detail !== '') return;
      lastDetail.set(key, detail);
      write(`${at} ✓ ${name.padEnd(22)} ${took.padStart(6)}  ${detail}`);
    }
  };
}
