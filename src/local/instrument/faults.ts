import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { S3Client } from '@aws-sdk/client-s3';
import * as sdkRetry from '@smithy/core/retry';

/**
 * Fault injection for the local backend (`KOPSLESS_FAULTS="throttle=0.2,5xx=0.05,latency=50ms,seed=7"`):
 * a share of the handlers' AWS calls is answered, at the HTTP layer under the SDK, the way AWS
 * answers when it is busy: a throttle (EC2's `RequestLimitExceeded`, the query APIs' `Throttling`,
 * S3's `SlowDown`, the JSON APIs' `ThrottlingException`) or an HTTP 503. The real SDK then parses
 * the answer and retries it (maxAttempts), and what outlives its retries reaches the handler and
 * the ASL's Retry, as on AWS. A share of the writes (`lost`, the 5xx share unless given) reach
 * moto and take effect, and then their answer is replaced by a 503, as when an answer is lost on
 * the way back: the retried write meets its own result, which is what idempotency is about.
 * The n-th call gets the n-th decision of the seeded sequence; when calls run concurrently their
 * order, and so which call meets which fault, can vary between runs, the shares do not.
 * The handlers are unchanged: the middleware is installed by the local runner only, and acts
 * only inside a handler invocation (`withinHandler`), so the CLI's own reads are left alone.
 */

export interface FaultSettings {
  /** Share of calls answered with a throttle. */
  throttle: number;
  /** Share of calls answered with HTTP 503 before they reach the service. */
  serverError: number;
  /** Share of writes (calls that change something) whose answer is lost after they took effect: a 503 instead. */
  lost: number;
  /** Added to every call the handlers make. */
  latencyMs: number;
  seed: number;
}

export interface FaultCounts {
  calls: number;
  throttles: number;
  serverErrors: number;
  /** 503s that replaced the answer of a write moto had carried out. */
  lostResponses: number;
}

/** The `KOPSLESS_FAULTS` setting is not understood. */
export class FaultSettingsError extends Error {
  override readonly name = 'FaultSettingsError';
}

const KNOBS = 'throttle=SHARE, 5xx=SHARE, lost=SHARE, latency=MS[ms], seed=INT';

function share(knob: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
    throw new FaultSettingsError(
      `KOPSLESS_FAULTS: ${knob}=${value}: must be a share between 0 and 1`,
    );
  return n;
}

/**
 * Reads `KOPSLESS_FAULTS`: comma-separated `knob=value`, every knob optional. `lost` is the 5xx
 * share unless given.
 */
export function parseFaultSettings(text: string): FaultSettings {
  const settings: FaultSettings = {
    throttle: 0,
    serverError: 0,
    lost: Number.NaN,
    latencyMs: 0,
    seed: 1,
  };
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    const knob = eq < 0 ? part : part.slice(0, eq).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    switch (knob) {
      case 'throttle':
        settings.throttle = share(knob, value);
        break;
      case '5xx':
        settings.serverError = share(knob, value);
        break;
      case 'lost':
        settings.lost = share(knob, value);
        break;
      case 'latency': {
        const m = /^(\d+)(ms)?$/.exec(value);
        if (!m)
          throw new FaultSettingsError(
            `KOPSLESS_FAULTS: latency=${value}: must be milliseconds, e.g. latency=50ms`,
          );
        settings.latencyMs = Number(m[1]);
        break;
      }
      case 'seed':
        if (!/^\d+$/.test(value))
          throw new FaultSettingsError(
            `KOPSLESS_FAULTS: seed=${value}: must be a non-negative integer`,
          );
        settings.seed = Number(value);
        break;
      default:
        throw new FaultSettingsError(`KOPSLESS_FAULTS: unknown knob "${knob}" (knobs: ${KNOBS})`);
    }
  }
  if (Number.isNaN(settings.lost)) settings.lost = settings.serverError;
  if (settings.throttle + settings.serverError > 1)
    throw new FaultSettingsError(
      `KOPSLESS_FAULTS: throttle + 5xx = ${settings.throttle + settings.serverError}: the shares add up to more than 1`,
    );
  return settings;
}

/** mulberry32: small, fast and the same sequence for the same seed on every machine. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Fault = 'none' | 'throttle' | '503' | 'lost';

/** Calls that change something; losing a read's answer is no different from a 503 before it. */
export function isWrite(call: string): boolean {
  return !/^(Describe|List|Get|Head|Test|Lookup|Search|Select|Check|Validate|Estimate|Preview)/.test(
    call.split(':').pop() ?? '',
  );
}

/** Decides each call's fate from the seed: the same settings give the same sequence of faults. */
export class FaultPlan {
  readonly counts: FaultCounts = { calls: 0, throttles: 0, serverErrors: 0, lostResponses: 0 };
  /** Each fault injected, in order: which call it hit and how. */
  readonly log: Array<{ call: string; fault: Exclude<Fault, 'none'> }> = [];
  private readonly random: () => number;

  constructor(readonly settings: FaultSettings) {
    this.random = seeded(settings.seed);
  }

  /**
   * The fate of the next call (`call` names it, e.g. `EC2:CreateTags`). A throttle or a 503 comes
   * before the call reaches the service; a write that gets through may then lose its answer.
   */
  next(call = ''): Fault {
    this.counts.calls++;
    const r = this.random();
    const lose = this.random();
    let fault: Fault = 'none';
    if (r < this.settings.throttle) {
      this.counts.throttles++;
      fault = 'throttle';
    } else if (r < this.settings.throttle + this.settings.serverError) {
      this.counts.serverErrors++;
      fault = '503';
    } else if (isWrite(call) && lose < this.settings.lost) {
      this.counts.lostResponses++;
      fault = 'lost';
    }
    if (fault !== 'none') this.log.push({ call, fault });
    return fault;
  }

  /** Every fault injected so far. */
  get injected(): number {
    return this.counts.throttles + this.counts.serverErrors + this.counts.lostResponses;
  }
}

interface WireResponse {
  statusCode: number;
  reason?: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

const xml = (text: string) =>
  new TextEncoder().encode(`<?xml version="1.0" encoding="UTF-8"?>\n${text}`);

/**
 * The answer AWS gives, in each service's own protocol, so that the SDK's own deserializer reads
 * it: EC2 query, the other query APIs (Auto Scaling, CloudFormation, IAM, STS), Route53 and S3
 * REST-XML, and JSON for the rest.
 */
export function faultResponse(clientName: string, fault: 'throttle' | '503'): WireResponse {
  const requestId = randomUUID();
  const service = clientName.replace(/Client$/, '');
  const throttle = fault === 'throttle';
  const headers = { 'x-amzn-requestid': requestId, 'x-amz-request-id': requestId };
  if (service === 'EC2') {
    // EC2 answers its throttle with 503 too.
    const [code, message] = throttle
      ? ['RequestLimitExceeded', 'Request limit exceeded.']
      : ['Unavailable', "The server is overloaded and can't handle the request."];
    return {
      statusCode: 503,
      headers: { ...headers, 'content-type': 'text/xml;charset=UTF-8' },
      body: xml(
        `<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
      ),
    };
  }
  if (service === 'S3') {
    const [code, message] = throttle
      ? ['SlowDown', 'Please reduce your request rate.']
      : ['ServiceUnavailable', 'Service is unable to handle request.'];
    return {
      statusCode: 503,
      headers: { ...headers, 'content-type': 'application/xml' },
      body: xml(
        `<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${requestId}</RequestId></Error>`,
      ),
    };
  }
  const [status, code, message] = throttle
    ? [400, 'Throttling', 'Rate exceeded']
    : [503, 'ServiceUnavailable', 'Service Unavailable'];
  if (['AutoScaling', 'CloudFormation', 'IAM', 'STS', 'Route53'].includes(service)) {
    return {
      statusCode: status,
      headers: { ...headers, 'content-type': 'text/xml' },
      body: xml(
        `<ErrorResponse><Error><Type>${throttle ? 'Sender' : 'Receiver'}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      ),
    };
  }
  const jsonCode = throttle ? 'ThrottlingException' : code;
  return {
    statusCode: status,
    headers: {
      ...headers,
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-errortype': jsonCode,
    },
    body: new TextEncoder().encode(JSON.stringify({ __type: jsonCode, message })),
  };
}

/** Which handler invocation, if any, the current call belongs to. */
const handlerScope = new AsyncLocalStorage<{ function: string }>();

/** Runs one handler invocation; only the AWS calls made inside one can be faulted. */
export function withinHandler<T>(functionName: string, run: () => Promise<T>): Promise<T> {
  return handlerScope.run({ function: functionName }, run);
}

let plan: FaultPlan | undefined;
const equipped = new WeakSet<object>();

type Next = (args: { request: unknown }) => Promise<{ response: unknown; output?: unknown }>;

async function discard(body: unknown): Promise<void> {
  const stream = body as
    | { resume?: () => void; once?: (e: string, f: () => void) => void; readableEnded?: boolean }
    | undefined;
  if (!stream?.resume || !stream.once || stream.readableEnded) return;
  await new Promise<void>((resolve) => {
    stream.once!('end', resolve);
    stream.once!('error', resolve);
    stream.once!('close', resolve);
    stream.resume!();
  });
}

/**
 * Innermost in the SDK's stack (after retries, signing and the deserializer): it sees each HTTP
 * attempt and answers some of them itself.
 */
const faultMiddleware =
  (next: Next, context: { clientName?: string; commandName?: string }) =>
  async (args: { request: unknown }) => {
    if (!plan || !handlerScope.getStore()) return next(args);
    const fault = plan.next(
      `${(context.clientName ?? '').replace(/Client$/, '')}:${(context.commandName ?? '').replace(/Command$/, '')}`,
    );
    if (plan.settings.latencyMs > 0) await sleep(plan.settings.latencyMs);
    if (fault === 'none') return next(args);
    if (fault === 'lost') {
      const out = await next(args);
      await discard((out.response as { body?: unknown }).body);
      return { response: faultResponse(context.clientName ?? '', '503') };
    }
    return { response: faultResponse(context.clientName ?? '', fault) };
  };

/** How much shorter the SDK's pauses between attempts are locally (1 s after a throttle becomes 50 ms). */
export const SDK_PAUSE_DIVISOR = 20;
let pausesShortened = false;

/**
 * Shortens the SDK's pauses between attempts, as the local runner shortens the ASL's Waits and
 * Retry intervals: how many attempts, which errors are retried and the retry quota stay the
 * SDK's own. The pauses are the `Retry` defaults of the SDK's retry module, imported here as the
 * SDK's clients import it, so that the CLI's build (which bundles its own copy of the module)
 * shortens the copy its clients use; an SDK without them keeps its pauses (slower, no less honest).
 */
function shortenSdkRetryPauses(): void {
  if (pausesShortened) return;
  const { Retry } = sdkRetry as {
    Retry?: { delay?: () => number; throttlingDelay?: () => number };
  };
  if (!Retry?.delay || !Retry.throttlingDelay) return;
  const delay = Retry.delay();
  const throttling = Retry.throttlingDelay();
  Retry.delay = () => Math.max(1, Math.round(delay / SDK_PAUSE_DIVISOR));
  Retry.throttlingDelay = () => Math.max(1, Math.round(throttling / SDK_PAUSE_DIVISOR));
  pausesShortened = true;
}

/**
 * Installs fault injection on every AWS SDK client of this process (the SDK clients share one
 * base class; each client gets the middleware on its first call). Returns the plan, whose counts
 * say what was injected. Installing again replaces the plan.
 */
export function installFaults(settings: FaultSettings): FaultPlan {
  plan = new FaultPlan(settings);
  shortenSdkRetryPauses();
  const base = Object.getPrototypeOf(S3Client.prototype) as {
    send: (...args: unknown[]) => unknown;
    __kopslessFaults?: boolean;
  };
  if (!base.__kopslessFaults) {
    const send = base.send;
    base.send = function (
      this: { middlewareStack: { add: (mw: unknown, options: object) => void } },
      ...args: unknown[]
    ) {
      if (!equipped.has(this)) {
        equipped.add(this);
        this.middlewareStack.add(faultMiddleware, {
          step: 'deserialize',
          priority: 'low',
          name: 'kopslessFaultMiddleware',
        });
      }
      return send.apply(this, args);
    };
    base.__kopslessFaults = true;
  }
  return plan;
}

/** Stops injecting (the middleware stays, inert). */
export function removeFaults(): void {
  plan = undefined;
}

/** The plan in force, if any. */
export function activeFaults(): FaultPlan | undefined {
  return plan;
}

/** Installs faults from `KOPSLESS_FAULTS` when it is set and no plan is in force yet. */
export function faultsFromEnv(
  env: Record<string, string | undefined> = process.env,
): FaultPlan | undefined {
  if (plan) return plan;
  const text = env.KOPSLESS_FAULTS?.trim();
  return text ? installFaults(parseFaultSettings(text)) : undefined;
}

/**
 * For the CLI's summary line: `; N faults injected (...)` while KOPSLESS_FAULTS is in force,
 * nothing otherwise.
 */
export function faultSummary(): string {
  if (!plan) return '';
  const c = plan.counts;
  return `; ${plan.injected} faults injected (${c.throttles} throttles, ${c.serverErrors} HTTP 503, ${c.lostResponses} answers lost after the write) in ${c.calls} AWS calls`;
}
