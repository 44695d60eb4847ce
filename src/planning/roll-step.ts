import { z } from 'zod';

/**
 * The values a roll plan hands from one Task to the next (through the state machine, so as
 * JSON): each is a zod schema, and its type is the schema's output, so the handler's parser and
 * the planner agree by construction.
 */

const name = z.string().min(1);
const intOrPercent = z.union([z.number(), z.string()]);

/** One step of a roll, as `nextRollStep` plans it; surge/drain/terminate get it back unchanged. */
export const ROLL_STEP = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('surge'),
    instanceGroup: name,
    asgName: name,
    instanceIds: z.array(z.string()),
  }),
  z.object({
    kind: z.literal('replace'),
    instanceGroup: name,
    asgName: name,
    instanceIds: z.array(z.string()),
    detachedIds: z.array(z.string()),
    controlPlane: z.boolean(),
  }),
  z.object({ kind: z.literal('done') }),
]);
export type RollStep = z.output<typeof ROLL_STEP>;

/**
 * What the plan read from the spec about one instance group, passed on to every step so that no
 * step reads the state store again (the lock holds the spec still for the whole roll).
 */
export const ROSTER_ENTRY = z.object({
  instanceGroup: name,
  role: name,
  asgName: name,
  /** The spec's sizes, shown while the Auto Scaling group does not exist. */
  minSize: z.number().int().nonnegative(),
  maxSize: z.number().int().nonnegative(),
  /** The availability zones of the group's subnets. */
  zones: z.array(z.string()),
  /** The group's rollingUpdate settings, the cluster's filling in (see `effectiveRollingUpdate`). */
  rollingUpdate: z.object({
    maxSurge: intOrPercent.optional(),
    maxUnavailable: intOrPercent.optional(),
  }),
});
export type RosterEntry = z.output<typeof ROSTER_ENTRY>;

/** The options of a whole roll, as the plan fixed them. */
export const ROLL_OPTIONS = z.object({
  /** Replace every instance that existed when the roll was planned (`--force`). */
  forceIds: z.array(z.string()).optional(),
  instanceGroups: z.array(z.string()).optional(),
  cloudOnly: z.boolean().optional(),
  /** Every instance group of the spec as the plan read it; without it a step reads the spec. */
  roster: z.array(ROSTER_ENTRY).optional(),
  /** The control plane is behind the API load balancer: its instances leave it before they go. */
  apiLoadBalancer: z.boolean().optional(),
});
export type RollOptions = z.output<typeof ROLL_OPTIONS>;
