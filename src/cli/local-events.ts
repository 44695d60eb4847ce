import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { sleep } from '../clock.js';
import { kopslessHome } from '../local/moto/backend.js';
import { type EventLogEntry, eventLogPath } from '../local/sfn/event-log.js';
import { clusterOfInput } from '../planning/notifications.js';
import { parseOutputFormat } from './format.js';

type Io = { out: (line: string) => void; err: (line: string) => void };

/** One entry as a person reads it: a status line, or the notification indented under it. */
export function formatEntry(entry: EventLogEntry): string[] {
  if (entry.kind === 'status') {
    const d = entry.event.detail;
    const machine = d.stateMachineArn
      .split(':')
      .pop()!
      .replace(/^kopsless-/, '');
    const cluster = clusterOfInput(d.input);
    return [
      [
        entry.event.time,
        d.status.padEnd(9),
        machine.padEnd(20),
        (cluster ?? '-').padEnd(24),
        d.name,
        ...(d.error ? [`${d.error}`] : []),
      ].join('  '),
    ];
  }
  if (entry.kind === 'notification')
    return [
      `  notified ${entry.topicArn} (message ${entry.messageId}): ${entry.notification.subject}`,
      ...entry.notification.message.split('\n').map((line) => `    ${line}`),
    ];
  return [`  notification failed: ${entry.error}`];
}

/** Reads whole lines from `offset`; returns the entries and where the next read starts. */
function readFrom(path: string, offset: number): { entries: EventLogEntry[]; next: number } {
  if (!existsSync(path)) return { entries: [], next: 0 };
  const size = statSync(path).size;
  if (size <= offset) return { entries: [], next: size < offset ? 0 : offset };
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(size - offset);
    readSync(fd, buffer, 0, buffer.length, offset);
    const text = buffer.toString('utf8');
    const end = text.lastIndexOf('\n') + 1;
    const entries = text
      .slice(0, end)
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as EventLogEntry);
    return { entries, next: offset + Buffer.byteLength(text.slice(0, end)) };
  } finally {
    closeSync(fd);
  }
}

/**
 * `kopsless local events [--follow] [-o json]`: the Step Functions status changes of local
 * executions, and the notifications the deployed rule would have sent for them.
 */
export async function runLocalEvents(
  options: { follow?: boolean; output?: string },
  io: Io,
  stop: AbortSignal = AbortSignal.timeout(2 ** 31 - 1),
): Promise<number> {
  const format = parseOutputFormat(options.output, ['table', 'json']);
  const path = eventLogPath(kopslessHome());
  const print = (entries: EventLogEntry[]) => {
    for (const entry of entries)
      if (format === 'json') io.out(JSON.stringify(entry));
      else for (const line of formatEntry(entry)) io.out(line);
  };
  let { entries, next } = readFrom(path, 0);
  if (entries.length === 0 && !options.follow)
    io.err('no events yet: run a lifecycle command on the local backend first');
  print(entries);
  if (!options.follow) return 0;
  const interrupted = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    stop.addEventListener('abort', () => resolve(), { once: true });
  });
  let done = false;
  void interrupted.then(() => {
    done = true;
  });
  while (!done) {
    await Promise.race([sleep(300), interrupted]);
    ({ entries, next } = readFrom(path, next));
    print(entries);
  }
  return 0;
}
