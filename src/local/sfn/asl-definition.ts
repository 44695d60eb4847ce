import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stateMachineArn } from '../../aws/sfn.js';
import {
  ALL_STATE_MACHINES,
  type AnyStateMachineName,
  deployedStateMachineName,
} from '../../functions-registry.js';

/**
 * The ASL definitions a local run executes: read from statemachines/ with SAM's substitutions
 * made with local ARNs, and walked (Task, Wait and startExecution states, nested ones included).
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export const ACCOUNT = '123456789012';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type State = { Type: string; Resource?: string; [key: string]: unknown };
export type Definition = { StartAt: string; States: Record<string, State>; [key: string]: unknown };

export function definitionPath(name: AnyStateMachineName): string {
  return join(ROOT, 'statemachines', `${name}.asl.json`);
}

/**
 * The ASL text with every `${...Arn}` substitution replaced as SAM would, with local ARNs: a
 * function's (`${XFunctionArn}`) or a state machine's (`${RollingUpdateGroupStateMachineArn}` →
 * `...:stateMachine:kopsless-rolling-update-group`, the name template.yaml gives it).
 */
export function loadDefinition(name: AnyStateMachineName, region: string): Definition {
  return JSON.parse(
    substituteArns(readFileSync(definitionPath(name), 'utf8'), region),
  ) as Definition;
}

/** ASL text with its `${XFunctionArn}` and `${XStateMachineArn}` substitutions replaced by local ARNs (see loadDefinition). */
export function substituteArns(text: string, region: string): string {
  return text.replace(/\$\{(\w+)Arn\}/g, (_, id: string) => {
    const machine = ALL_STATE_MACHINES[id as keyof typeof ALL_STATE_MACHINES];
    if (machine) return stateMachineArn(region, ACCOUNT, deployedStateMachineName(machine));
    if (id.endsWith('StateMachine'))
      throw new Error(`\${${id}Arn}: ${id} is no state machine of src/functions-registry.ts`);
    return `arn:aws:lambda:${region}:${ACCOUNT}:function:kopsless-${id}`;
  });
}

export function nestedDefinitions(state: State): Array<Pick<Definition, 'States'>> {
  return [state.Iterator, state.ItemProcessor, ...((state.Branches as unknown[]) ?? [])].filter(
    Boolean,
  ) as Array<Pick<Definition, 'States'>>;
}

/** Every Task state of a definition, those inside Map iterations and Parallel branches included. */
export function taskStates(definition: Pick<Definition, 'States'>): Array<[string, State]> {
  return Object.entries(definition.States).flatMap(([name, state]): Array<[string, State]> => {
    if (state.Type === 'Task') return [[name, state]];
    return nestedDefinitions(state).flatMap(taskStates);
  });
}

/** Every Wait state, nested ones included. */
export function waitStates(definition: Pick<Definition, 'States'>): Array<[string, State]> {
  return Object.entries(definition.States).flatMap(([name, state]): Array<[string, State]> => {
    if (state.Type === 'Wait') return [[name, state]];
    return nestedDefinitions(state).flatMap(waitStates);
  });
}

/** The definition with `transform` applied to every state, nested ones included (a copy; the original is untouched). */
export function mapStates<D extends Pick<Definition, 'States'>>(
  definition: D,
  transform: (name: string, state: State) => State,
): D {
  const States: Record<string, State> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    const copy: State = { ...state };
    if (state.Iterator) copy.Iterator = mapStates(state.Iterator as Definition, transform);
    if (state.ItemProcessor)
      copy.ItemProcessor = mapStates(state.ItemProcessor as Definition, transform);
    if (Array.isArray(state.Branches))
      copy.Branches = (state.Branches as Definition[]).map((branch) =>
        mapStates(branch, transform),
      );
    States[name] = transform(name, copy);
  }
  return { ...definition, States };
}

export const START_EXECUTION = 'arn:aws:states:::states:startExecution';
export type StartMode = 'async' | 'sync' | 'sync:2';

/** How a Task starts a child execution, when its Resource is Step Functions' StartExecution integration. */
export function startExecutionMode(resource: string | undefined): StartMode | undefined {
  if (resource === START_EXECUTION) return 'async';
  if (resource === `${START_EXECUTION}.sync`) return 'sync';
  if (resource === `${START_EXECUTION}.sync:2`) return 'sync:2';
  return undefined;
}

/** The Task states inside each Map and Parallel state, however deep. */
export function tasksWithin(
  definition: Pick<Definition, 'States'>,
  into = new Map<string, Set<string>>(),
): Map<string, Set<string>> {
  for (const [name, state] of Object.entries(definition.States)) {
    const nested = nestedDefinitions(state);
    if (nested.length === 0) continue;
    into.set(name, new Set(nested.flatMap(taskStates).map(([task]) => task)));
    for (const inner of nested) tasksWithin(inner, into);
  }
  return into;
}

/** Every Task state that starts a child execution. */
export function startExecutionStates(definition: Pick<Definition, 'States'>): string[] {
  return taskStates(definition)
    .filter(([, state]) => startExecutionMode(state.Resource))
    .map(([name]) => name);
}
