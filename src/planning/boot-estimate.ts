/**
 * How long a roll step waits before its first look at the replacements it launched. Polling a
 * replacement every 20 s from the moment it is launched costs a Lambda invocation, three state
 * transitions and two or three AWS calls per turn while the instance boots, and an instance is
 * never a Ready node within its first minute: EC2 start, the boot script, nodeup and the
 * kubelet's registration all come first. So the step waits out the boot time the roll has
 * observed so far (a minute before it has observed one), then polls as before. The wait is only
 * a delay before the same check: readiness is still decided by what AWS and Kubernetes report.
 */

/** The first wait before a roll has seen a replacement join: no instance is a Ready node sooner. */
export const DEFAULT_BOOT_ESTIMATE_SECONDS = 60;

/** Never wait longer than this before a first look, whatever a slow boot taught the roll. */
export const MAX_BOOT_ESTIMATE_SECONDS = 600;

/** What a step that may launch instances tells its replacements poll. */
export interface BootWait {
  /** When the step launched (or detached, or terminated) its instances. */
  startedAt: string;
  /** The estimate this step waited with. */
  estimateSeconds: number;
  /** Seconds to wait before the first look: the estimate when the step launches replacements, else 0. */
  waitSeconds: number;
}

function clampEstimate(seconds: number): number {
  if (!Number.isFinite(seconds)) return DEFAULT_BOOT_ESTIMATE_SECONDS;
  return Math.min(MAX_BOOT_ESTIMATE_SECONDS, Math.max(0, Math.round(seconds)));
}

/**
 * The wait of a step started at `now` with the roll's current estimate (undefined: none yet),
 * whose replacements must be ready within `timeoutSeconds`.
 * A step that launches nothing (terminating an instance whose replacement came with its
 * detachment) looks at once.
 */
export function bootWait(
  now: Date,
  estimateSeconds: number | undefined,
  launches: boolean,
  timeoutSeconds: number,
): BootWait {
  const estimate = clampEstimate(estimateSeconds ?? DEFAULT_BOOT_ESTIMATE_SECONDS);
  // At most half the replacements' timeout: the polls after the wait still see a late boot in time.
  const wait = Math.min(estimate, Math.floor(timeoutSeconds / 2));
  return {
    startedAt: now.toISOString(),
    estimateSeconds: estimate,
    waitSeconds: launches ? wait : 0,
  };
}

/**
 * The estimate after the replacements of a step were found ready at `readyAt`, polled every
 * `pollSeconds` after the wait. Ready at the first look: the boot took at most the wait, which
 * stays (waiting a little less would miss more often than not, and each miss costs a look and
 * a poll interval). Ready after more looks: the boot ended within the last poll interval, and
 * the elapsed time is the shortest wait known to be enough, so the next step waits that long.
 * A step that launched nothing teaches nothing.
 */
export function nextBootEstimate(wait: BootWait, readyAt: Date, pollSeconds: number): number {
  if (wait.waitSeconds === 0) return wait.estimateSeconds;
  const elapsed = (readyAt.getTime() - new Date(wait.startedAt).getTime()) / 1000;
  // A look before a poll interval had passed after the wait ended is the first one.
  const firstLook = elapsed < wait.waitSeconds + pollSeconds;
  if (firstLook) return wait.estimateSeconds;
  return clampEstimate(Math.max(wait.estimateSeconds, Math.ceil(elapsed)));
}
