import { z } from 'zod';
import { type FieldIssue, InvalidInputError, UnknownActionError } from '../errors.js';
import {
  type FunctionLogicalId,
  STATE_MACHINES,
  type StateMachineName,
} from '../functions-registry.js';
import { MAX_BOOT_ESTIMATE_SECONDS } from '../planning/boot-estimate.js';
import { ROLL_OPTIONS, ROLL_STEP } from '../planning/roll-step.js';
import { CLUSTER_PHASES } from '../state/cluster-store.js';
import { LOCK_HOLDER } from '../state/holder.js';

/**
 * Every input that crosses into kopsless, as zod schemas in one place: what a person (or the
 * API, or the ENI watcher) gives a state machine, and what each Task gives its handler. The
 * state machines check theirs in a first state, before the lock (a field left out of a
 * console input would otherwise stop the execution with `States.Runtime`, which no Catch
 * sees, and leave the lock held); the handlers parse theirs on the way in, as Powertools'
 * parser does.
 */

// ---- Execution inputs -------------------------------------------------------------------

/** A cluster name as kOps takes it (a DNS name); it is also the state store prefix, so no `/` or `..`. */
const clusterName = z
  .string()
  .min(1, 'Required value: the cluster name')
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'Invalid value: must be a DNS name (lower case letters, digits, "-" and ".")',
  );

/**
 * What each state machine reads from `$`, with the defaults a person may leave out. Unknown
 * fields are refused: a misspelt option (`instanceGroup`) must not be silently ignored.
 */
/**
 * Step Functions fails an execution whose state passes 256 KiB (`States.DataLimitExceeded`, which
 * no Catch sees, so the lock stays held): what rides in the state for the whole run is capped
 * here. The manifest is carried in every state of create, next to the spec's instance group
 * names (each at most 253) and an error's cause (Step Functions keeps at most 32 KiB of it), so
 * 64 KiB leaves the rest of the 256 KiB to the state's own growth. A real manifest is a few KiB.
 */
export const MAX_MANIFEST_BYTES = 64 * 1024;
/** More groups than a roll can name usefully; each name is a Kubernetes object name (at most 253). */
export const MAX_ROLL_GROUPS = 100;

const manifestText = z
  .string()
  .min(1, 'Required value: the kOps manifest (YAML)')
  .refine(
    (text) => Buffer.byteLength(text, 'utf8') <= MAX_MANIFEST_BYTES,
    `Too long: may not be more than ${MAX_MANIFEST_BYTES} bytes`,
  );

/** How many node groups roll at once: 1 (kOps's order, the default) to 20. */
export const MAX_PARALLEL_GROUPS = 20;
const parallelGroups = z
  .number({ invalid_type_error: 'Invalid value: must be an integer from 1 to 20' })
  .int('Invalid value: must be an integer from 1 to 20')
  .min(1, 'Invalid value: must be an integer from 1 to 20')
  .max(MAX_PARALLEL_GROUPS, 'Invalid value: must be an integer from 1 to 20');

export const EXECUTION_INPUTS = {
  'create-cluster': z.object({ manifest: manifestText }).strict(),
  'update-cluster': z.object({ cluster: clusterName }).strict(),
  'rolling-update': z
    .object({
      cluster: clusterName,
      instanceGroups: z
        .array(
          z
            .string()
            .min(1, 'Required value: an instance group name')
            .max(253, 'Too long: may not be more than 253 characters'),
        )
        .max(MAX_ROLL_GROUPS, `Too many: may not have more than ${MAX_ROLL_GROUPS} items`)
        .default([]),
      force: z.boolean().default(false),
      cloudOnly: z.boolean().default(false),
      /** Apply the spec (stack and launch templates) before rolling: the ENI watcher's update + roll. */
      update: z.boolean().default(false),
      /** Node groups rolled at once (1 is kOps's order), never two sharing a zone unless `allowSameZone`. */
      parallelGroups: parallelGroups.default(1),
      allowSameZone: z.boolean().default(false),
    })
    .strict(),
  'delete-cluster': z.object({ cluster: clusterName }).strict(),
} satisfies Record<StateMachineName, z.ZodTypeAny>;

export type ExecutionInput<M extends StateMachineName> = z.output<(typeof EXECUTION_INPUTS)[M]>;

// ---- Handler events ---------------------------------------------------------------------

const name = z.string().min(1);
const deadline = z
  .string()
  .datetime({ message: 'Invalid value: expected an ISO 8601 time (a deadline)' });
const phase = z.enum(CLUSTER_PHASES);
const stateMachine = z.enum(
  Object.values(STATE_MACHINES) as [StateMachineName, ...StateMachineName[]],
);

/** Seconds a roll step waits for its replacements to boot before it first looks. */
const bootEstimate = z.number().int().nonnegative().max(MAX_BOOT_ESTIMATE_SECONDS);
const bootWaitSchema = z.object({
  startedAt: deadline,
  estimateSeconds: bootEstimate,
  waitSeconds: bootEstimate,
});

/** What a roll's parent gives each child besides its group (options, cloudOnly, batchLimit): compared by digest. */
const childPlan = z.record(z.unknown());

const event = <A extends string, S extends z.ZodRawShape>(action: A, shape: S) =>
  z.object({ action: z.literal(action), ...shape }).strict();

export const WRITE_STATE_EVENT = z.discriminatedUnion('action', [
  event('validateInput', { stateMachine, input: z.unknown() }),
  // `holder`: added by the local runner only (kill and resume); on AWS no process holds the lock.
  event('acquireLock', {
    cluster: name,
    owner: name,
    operation: name,
    holder: LOCK_HOLDER.optional(),
  }),
  event('register', { manifest: z.string(), owner: name, operation: name }),
  event('finish', { cluster: name, owner: name, phase }),
  event('release', { cluster: name, owner: name }),
  // A child execution (rolling-update-group) checks that its parent, `owner`, holds the lock, and
  // claims its instance group for itself, `execution` (its own ARN), with the plan it was given.
  event('requireLock', {
    cluster: name,
    owner: name,
    instanceGroup: name,
    execution: name,
    plan: childPlan,
  }),
  // A roll's parent records the wave it rolls next: the groups its children may claim, and the plan they get.
  event('beginWave', {
    cluster: name,
    owner: name,
    instanceGroups: z.array(name).min(1),
    plan: childPlan,
  }),
  // A roll's parent names the child it starts next for a group (the sequence-th), reserving the name in the lock.
  event('reserveChild', {
    cluster: name,
    owner: name,
    instanceGroup: name,
    sequence: z.number().int().min(1),
  }),
  event('phase', { cluster: name, owner: name, phase }),
  // Step Functions' error output from a Catch: {Error, Cause}.
  event('fail', {
    cluster: name,
    owner: name,
    error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }),
  }),
]);

export const LAUNCH_EVENT = z.discriminatedUnion('action', [
  event('ensureStack', { cluster: name, owner: name }),
  // created: this execution created the stack, so a failing one is its own create's to clean up.
  event('describeStack', { cluster: name, deadline, created: z.boolean().optional() }),
  event('ensureGroups', { cluster: name, owner: name }),
  event('describeGroups', { cluster: name, deadline }),
]);

export const VERIFY_DNS_EVENT = z.discriminatedUnion('action', [
  event('upsert', { cluster: name }),
  event('check', { cluster: name, changeId: name, deadline }),
]);

/** A roll child's claim (its parent, itself): each step that changes instances checks it first. */
const groupClaim = z.object({ owner: name, execution: name }).strict();
/** Who may roll a group: the parent holding the lock, and the child execution holding the group's claim. */
export type GroupClaim = z.output<typeof groupClaim>;

/** A child's own history so far (its steps, its batchLimit, its $$.Execution.StartTime): see child-history.ts. */
const childHistory = z
  .object({
    steps: z.number().int().nonnegative(),
    batchLimit: z.number().int().min(1),
    startedAt: deadline,
  })
  .strict();

export const ROLLING_UPDATE_EVENT = z.discriminatedUnion('action', [
  event('plan', {
    cluster: name,
    instanceGroups: z.array(z.string()).optional(),
    force: z.boolean().optional(),
    cloudOnly: z.boolean().optional(),
    parallelGroups: parallelGroups.optional(),
    allowSameZone: z.boolean().optional(),
  }),
  // `claim`: a child execution's; it rolls only while its parent holds the lock and it the group's
  // claim, which the steps that change something check. `next` only reads: a claim given to it
  // (by an execution started before it stopped passing one) only keys the spec cache.
  event('next', {
    cluster: name,
    options: ROLL_OPTIONS,
    instanceGroup: name.optional(),
    claim: groupClaim.optional(),
    // Past batchLimit a child continues as new when another step might not fit its history.
    history: childHistory.optional(),
  }),
  event('surge', {
    cluster: name,
    step: ROLL_STEP,
    claim: groupClaim.optional(),
    bootEstimateSeconds: bootEstimate.optional(),
  }),
  event('drain', {
    cluster: name,
    step: ROLL_STEP,
    deadline,
    cloudOnly: z.boolean().optional(),
    claim: groupClaim.optional(),
  }),
  event('terminate', {
    cluster: name,
    step: ROLL_STEP,
    claim: groupClaim.optional(),
    bootEstimateSeconds: bootEstimate.optional(),
  }),
  event('uncordon', {
    cluster: name,
    step: ROLL_STEP,
    cloudOnly: z.boolean().optional(),
    claim: groupClaim.optional(),
  }),
  event('deregister', { cluster: name, step: ROLL_STEP, claim: groupClaim.optional() }),
  event('awaitReplacements', {
    cluster: name,
    step: ROLL_STEP,
    deadline,
    cloudOnly: z.boolean().optional(),
    boot: bootWaitSchema.optional(),
    claim: groupClaim.optional(),
    // A child's look: once the replacements are ready it validates and works out the next step.
    following: z
      .object({
        instanceGroup: name,
        options: ROLL_OPTIONS,
        history: childHistory,
      })
      .strict()
      .optional(),
  }),
  // `claim`: a roll child's validation; its spec cache trusts the claimed parent's lock (see RollCache).
  event('validate', {
    cluster: name,
    deadline,
    cloudOnly: z.boolean().optional(),
    claim: groupClaim.optional(),
  }),
]);

const count = z.number().int().nonnegative();
export const DELETE_EVENT = z.discriminatedUnion('action', [
  event('exists', { cluster: name }),
  event('discover', { cluster: name }),
  event('deleteGroups', { cluster: name }),
  event('awaitInstances', { cluster: name, deadline }),
  event('deleteStack', { cluster: name, attempt: count.optional(), remaining: count.optional() }),
  event('awaitStack', { cluster: name, deadline, attempt: count, remaining: count }),
  event('deleteLeftovers', { cluster: name }),
  event('verify', { cluster: name }),
  event('deleteState', { cluster: name }),
]);

/** validate-spec has one job and no `action`. */
export const VALIDATE_SPEC_EVENT = z.object({ manifest: z.string() }).strict();

const actionsOf = (
  schema: z.ZodDiscriminatedUnion<'action', z.ZodDiscriminatedUnionOption<'action'>[]>,
) => schema.options.map((o) => (o.shape.action as z.ZodLiteral<string>).value);

/** The `action`s each function's handler accepts; the ASL test holds every Task to these. */
export const HANDLER_ACTIONS = {
  ValidateSpecFunction: [],
  WriteStateFunction: actionsOf(WRITE_STATE_EVENT),
  LaunchClusterFunction: actionsOf(LAUNCH_EVENT),
  VerifyDnsFunction: actionsOf(VERIFY_DNS_EVENT),
  RollingUpdateFunction: actionsOf(ROLLING_UPDATE_EVENT),
  DeleteClusterFunction: actionsOf(DELETE_EVENT),
} satisfies Partial<Record<FunctionLogicalId, string[]>>;

// What each stage takes is what its schema parses: the types are the schemas' outputs.

/** The write-state Lambda's actions: one stage, several small steps of the state machines. */
export type WriteStateInput = z.output<typeof WRITE_STATE_EVENT>;
/** The launch stage's actions: the stack, then the groups, each with its wait. */
export type LaunchInput = z.output<typeof LAUNCH_EVENT>;
/** The verify-DNS stage's actions: write the records, then wait until Route53 has them. */
export type VerifyDnsInput = z.output<typeof VERIFY_DNS_EVENT>;
/** The rolling-update stage's actions: plan, then each step of each batch. */
export type RollingUpdateInput = z.output<typeof ROLLING_UPDATE_EVENT>;
/** The delete stage's actions, in the order the state machine runs them. */
export type DeleteInput = z.output<typeof DELETE_EVENT>;
/** The validate-spec stage's input: the manifest text. */
export type ValidateSpecInput = z.output<typeof VALIDATE_SPEC_EVENT>;

// ---- Parsing ----------------------------------------------------------------------------

/** `instanceGroups[1]`, `step.kind`: the field path as kOps and the CLI print it. */
function pathOf(path: Array<string | number>): string {
  return (
    path.reduce<string>(
      (out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${p}` : p),
      '',
    ) || '(input)'
  );
}

/** zod's issues as field issues, in the words the rest of kopsless uses. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.flatMap((issue): FieldIssue[] => {
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => ({
        path: pathOf([...issue.path, key]),
        message: 'Forbidden: unknown field',
      }));
    if (issue.code === 'invalid_type') {
      return [
        {
          path: pathOf(issue.path),
          message:
            issue.received === 'undefined'
              ? `Required value: expected ${issue.expected}`
              : `expected ${issue.expected}, got ${issue.received}`,
        },
      ];
    }
    return [{ path: pathOf(issue.path), message: issue.message }];
  });
}

/** Parses with a schema or throws InvalidInputError naming every field that is wrong. */
export function parseInput<S extends z.ZodTypeAny>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new InvalidInputError(fieldIssues(result.error));
  return result.data as z.output<S>;
}

/**
 * A handler's event: an `action` the handler does not have is UnknownActionError (a misspelt
 * ASL state, a stale caller), anything else wrong InvalidInputError with the field.
 */
export function parseEvent<S extends z.ZodTypeAny>(schema: S, event: unknown): z.output<S> {
  if (schema instanceof z.ZodDiscriminatedUnion) {
    const actions = actionsOf(schema as never);
    const action = (event as { action?: unknown } | null)?.action;
    if (typeof action !== 'string' || !actions.includes(action)) {
      throw new UnknownActionError(
        `unknown action ${JSON.stringify(action)}: this handler takes ${actions.join(', ')}`,
      );
    }
  }
  return parseInput(schema, event);
}

/** The `validateInput` step of every state machine: the completed input, or InvalidInputError. */
export function validateExecutionInput<M extends StateMachineName>(
  machine: M,
  input: unknown,
): ExecutionInput<M> {
  return parseInput(EXECUTION_INPUTS[machine], input);
}
