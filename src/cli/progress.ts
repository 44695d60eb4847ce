import type { ProgressEvent } from '../local/step-functions.js';
import { seconds } from './format.js';

type Json = any;

/** One line of what a finished Task did, from its result in the execution state. */
const DESCRIBE: Record<string, (state: Json) => string> = {
  ValidateSpec: (s) => `manifest valid: cluster ${s.spec.cluster}, ${s.spec.instanceGroups.length} instance groups`,
  AcquireLock: (s) => `cluster lock taken until ${s.lock.expiresAt}`,
  RegisterCluster: () => 'spec written to the state store (config, instancegroup/*, cluster-completed.spec)',
  CreateStack: (s) => `stack ${s.stack.stackName} ${s.stack.action}`,
  CheckStack: (s) => `stack ${s.stack.status}`,
  UpdateStack: (s) => `stack ${s.stack.stackName} ${s.stack.action}`,
  MarkUpdating: () => 'status Updating',
  UpdateInstanceGroups: (s) =>
    s.groups.groups.map((g: Json) => `${g.instanceGroup} (launch template v${g.launchTemplateVersion}, maxPods ${g.maxPods}${g.changed ? ', updated' : ', unchanged'})`).join('; '),
  EnsureInstanceGroups: (s) =>
    s.groups.groups.map((g: Json) => `${g.instanceGroup} (launch template v${g.launchTemplateVersion}, maxPods ${g.maxPods}${g.created ? ', created' : g.changed ? ', updated' : ''})`).join('; '),
  CheckInstances: (s) => `in service: ${s.instances.groups.map((g: Json) => `${g.name.split('.')[0]} ${g.inService}/${g.desired}`).join(', ')}`,
  UpsertApiRecords: (s) => Object.entries(s.dns.records).map(([n, v]) => `${n} -> ${(v as string[]).join(',')}`).join('; '),
  CheckDns: (s) => `Route53 ${s.dns.status}${s.dns.ready ? ', placeholders replaced' : ''}`,
  RecordSuccess: (s) => `status ${s.status.phase}, lock released`,
  RecordFailure: () => 'failure recorded in status.json, lock released',
  ReleaseLock: () => 'lock released',
};

/** Prints each state of an execution as it runs: name, elapsed time, what it did. */
export function progressPrinter(write: (line: string) => void, started = Date.now()) {
  const entered = new Map<string, number>();
  const waits = new Map<string, number>();
  return (event: ProgressEvent) => {
    const at = `[${seconds(event.at - started).padStart(6)}]`;
    if (event.stateType === 'Wait' && event.kind === 'entered') {
      const n = (waits.get(event.state) ?? 0) + 1;
      waits.set(event.state, n);
      if (n === 1) write(`${at}   ${event.state} ...`);
      return;
    }
    if (event.stateType !== 'Task') return;
    if (event.kind === 'entered') entered.set(event.state, event.at);
    else if (event.kind === 'exited') {
      const took = seconds(event.at - (entered.get(event.state) ?? event.at));
      let detail = '';
      try {
        detail = DESCRIBE[event.state]?.(event.output) ?? '';
      } catch {
        detail = '';
      }
      write(`${at} ✓ ${event.state.padEnd(22)} ${took.padStart(6)}  ${detail}`);
    } else if (event.kind === 'retried') write(`${at} ↻ ${event.state} retrying after a transient error`);
    else if (event.kind === 'failed') write(`${at} ✗ ${event.state}: ${event.error?.name}: ${event.error?.cause}`);
  };
}
