import { readFileSync } from 'node:fs';
import { now } from '../clock.js';
import { InvalidInputError } from '../errors.js';
import { STATE_MACHINES, type StateMachineName } from '../functions-registry.js';
import { bundleSummary } from '../local/sfn/bundles.js';
import type { CliContext } from './context.js';
import { seconds, UsageError } from './format.js';
import { progressPrinter } from './progress.js';

type Io = { out: (line: string) => void; err: (line: string) => void };

const MACHINES = Object.values(STATE_MACHINES) as StateMachineName[];

/** `--input`: JSON text, or `@FILE` holding it (as the AWS CLI reads `file://`). */
export function readExecutionInput(
  value: string,
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): unknown {
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = read(value.slice(1));
    } catch (error) {
      throw new UsageError(`--input ${value}: cannot read the file: ${(error as Error).message}`);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(
      `--input${value.startsWith('@') ? ` ${value}` : ''}: not JSON: ${(error as Error).message}`,
    );
  }
}

/**
 * `kopsless local start-execution STATE_MACHINE --input JSON|@FILE [-o json]`: the local stand-in
 * for the console's "Start execution" and `aws stepfunctions start-execution`. The input goes to
 * the state machine as given, unchecked here: checking it is the state machine's first state,
 * as it is on AWS. Runs to the end; exit 0 when it succeeded, 1 when it failed, 2 when no
 * execution was started (an input Step Functions refuses).
 */
export async function runStartExecution(
  machine: string,
  options: { input: string; output?: string },
  ctx: CliContext,
  io: Io,
): Promise<number> {
  if (!MACHINES.includes(machine as StateMachineName))
    throw new UsageError(`unknown state machine "${machine}": use one of ${MACHINES.join(', ')}`);
  const input = readExecutionInput(options.input);
  const json = options.output === 'json';
  const started = now().getTime();
  if (!json) io.out(`Starting an execution of ${machine} (${ctx.where})`);
  let result: Awaited<ReturnType<CliContext['run']>>;
  try {
    result = await ctx.run(machine as StateMachineName, {
      input: input as never,
      ...(json ? {} : { onProgress: progressPrinter(io.out, started) }),
    });
  } catch (error) {
    // Refused before it started (an input over 256 KiB, as StartExecution refuses it): no
    // execution exists, so this is a usage error, not a failed execution.
    if (!(error instanceof InvalidInputError)) throw error;
    if (json)
      io.out(
        JSON.stringify(
          {
            executionArn: null,
            status: null,
            error: error.name,
            cause: error.message,
            historyEvents: null,
            transitions: null,
            output: null,
          },
          null,
          2,
        ),
      );
    else io.err(`${error.name}: ${error.message} (no execution was started)`);
    return 2;
  }
  if (json) {
    io.out(
      JSON.stringify(
        {
          executionArn: result.executionArn,
          status: result.status,
          error: result.error?.name ?? null,
          cause: result.error?.cause ?? null,
          historyEvents: result.historyEvents ?? null,
          transitions: result.transitions ?? null,
          output: result.status === 'SUCCEEDED' ? (result.output ?? null) : null,
        },
        null,
        2,
      ),
    );
  } else {
    const counts =
      result.historyEvents === undefined
        ? ''
        : `: ${result.historyEvents} history events, ${result.transitions} state transitions`;
    io.out(`${result.status} in ${seconds(now().getTime() - started)}${counts}${bundleSummary()}`);
    io.out(`execution ${result.executionArn}`);
    if (result.status !== 'SUCCEEDED') io.err(`${result.error?.name}: ${result.error?.cause}`);
  }
  return result.status === 'SUCCEEDED' ? 0 : 1;
}
