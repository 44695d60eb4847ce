import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { type ExecutionsApi, type ExecutionView, executionArn } from '../../aws/sfn.js';
import { now as clockNow } from '../../clock.js';
import { STATE_MACHINES, type StateMachineName } from '../../functions-registry.js';
import type { Json } from '../sfn/asl-definition.js';
import type { LocalExecutionResult } from '../sfn/execution-model.js';

/** Runs a state machine to its end in the local runner (the CLI context's `run`). */
export type LocalRun = (
  name: StateMachineName,
  options: { input: Json; executionName: string },
) => Promise<LocalExecutionResult>;

interface Tracked {
  view: ExecutionView;
  done: Promise<void>;
}

/**
 * Step Functions' StartExecution and DescribeExecution for the local endpoint: an execution the
 * API starts runs in the local runner in the background, and is described from what that run
 * reports, RUNNING until it ends. Names are unique per state machine as on AWS: a second start
 * of a taken name answers the first execution (`existing`), which is how the API's retried
 * requests stay idempotent.
 */
export function localExecutions(
  run: LocalRun,
  machineArns: Record<StateMachineName, string>,
  log: (line: string) => void = () => {},
): ExecutionsApi & { settled(): Promise<void> } {
  const tracked = new Map<string, Tracked>();
  const machineOf = new Map(
    (Object.values(STATE_MACHINES) as StateMachineName[]).map((name) => [machineArns[name], name]),
  );
  return {
    async start(stateMachineArn, name, input) {
      const arn = executionArn(stateMachineArn, name);
      if (tracked.has(arn)) return { executionArn: arn, existing: true };
      const machine = machineOf.get(stateMachineArn);
      if (!machine) throw new Error(`StateMachineDoesNotExist: ${stateMachineArn}`);
      const view: ExecutionView = {
        executionArn: arn,
        stateMachineArn,
        name,
        status: 'RUNNING',
        startDate: clockNow().toISOString(),
        input,
      };
      const done = run(machine, { input: input as Json, executionName: name }).then(
        (result) => {
          Object.assign(view, {
            status: result.status,
            stopDate: result.stoppedAt,
            ...(result.output !== undefined ? { output: result.output } : {}),
            ...(result.error ? { error: result.error.name, cause: result.error.cause } : {}),
          });
          log(
            `${machine} ${name}: ${result.status}${result.error ? ` (${result.error.name})` : ''}`,
          );
        },
        (error: Error) => {
          // Refused before it ran (an input Step Functions would not take): as a failed execution.
          Object.assign(view, {
            status: 'FAILED',
            stopDate: clockNow().toISOString(),
            error: error.name,
            cause: error.message,
          });
          log(`${machine} ${name}: FAILED (${error.name})`);
        },
      );
      tracked.set(arn, { view, done });
      log(`${machine} ${name}: started`);
      return { executionArn: arn, existing: false };
    },
    async describe(arn) {
      const found = tracked.get(arn);
      return found ? { ...found.view } : undefined;
    },
    async history(): Promise<HistoryEvent[]> {
      return [];
    },
    async settled() {
      await Promise.allSettled([...tracked.values()].map((t) => t.done));
    },
  };
}
