import { createHash } from 'node:crypto';
import { type ExecutionsApi, executionArn } from '../aws/sfn.js';
import { now as clockNow } from '../clock.js';
import type { StateMachineName } from '../functions-registry.js';
import { checkManifest } from '../manifest/check.js';
import { parseManifest } from '../manifest/parse.js';
import { sameSpec } from '../manifest/same-spec.js';
import type { ClusterManifest } from '../manifest/types.js';
import { dns1123SubdomainErrors } from '../manifest/validate.js';
import { clusterNameRecordProblems } from '../planning/names.js';
import type { ClusterStore } from '../state/cluster-store.js';
import type { ObjectStore } from '../state/object-store.js';
import { MAX_MANIFEST_BYTES } from './inputs.js';
import { registeredWithOtherSpec } from './write-state.js';

/**
 * The HTTP API's routes over the state store and Step Functions. Bad input is a 400 with the
 * field errors and starts nothing; a locked cluster a 409 naming the execution that holds it; an
 * unknown cluster a 404; a body over the limit a 413. Nothing a client sends is a 500.
 *
 * Idempotency: with an `Idempotency-Key`, the execution is named from the key, so a retry finds
 * the execution the first request started. Without one, a request joins an execution only when it
 * is byte-identical (same operation, cluster and body) to one started in the last minute for the
 * same spec version and that execution has not failed; anything else starts a new execution, so
 * an update after a spec change, or a delete retried after a failed one, is never dropped.
 */

export const MAX_BODY_BYTES = 256 * 1024;

export interface ApiDeps {
  store: ClusterStore;
  /** The state store's objects, for the one secret the API hands out (the admin kubeconfig). */
  objects: Pick<ObjectStore, 'get'>;
  executions: ExecutionsApi;
  stateMachines: Record<StateMachineName, string>;
}

export interface ApiRequest {
  method: string;
  path: string;
  pathParameters: Record<string, string | undefined>;
  headers: Record<string, string | undefined>;
  body: string | null;
  isBase64Encoded?: boolean;
}

export interface ApiResponse {
  statusCode: number;
  body: unknown;
}

export class HttpProblem extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The body's bytes, within the limit; base64 bodies are decoded (API Gateway's binary media types). */
function bodyBytes(request: ApiRequest): Buffer {
  const raw = request.body ?? '';
  if (typeof raw !== 'string') throw new HttpProblem(400, 'the body must be text');
  const bytes = request.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.byteLength > MAX_BODY_BYTES)
    throw new HttpProblem(413, `request body over ${MAX_BODY_BYTES} bytes`);
  return bytes;
}

/** The body as UTF-8 text; anything else is a 400 rather than text with replacement characters. */
export function bodyText(request: ApiRequest): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bodyBytes(request));
  } catch (error) {
    if (error instanceof HttpProblem) throw error;
    throw new HttpProblem(400, 'the body is not UTF-8 text');
  }
}

/** Nesting allowed in a JSON body that is not a manifest (the manifest check has its own limit). */
const MAX_JSON_DEPTH = 16;

/** The depth of a parsed JSON value, counted without recursion, stopping past `limit`. */
function jsonDepthOver(value: unknown, limit: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (typeof top.value !== 'object' || top.value === null) continue;
    if (top.depth + 1 > limit) return true;
    for (const child of Object.values(top.value))
      stack.push({ value: child, depth: top.depth + 1 });
  }
  return false;
}

/** A JSON body that must be one object (an empty body reads as `{}`). */
function jsonObjectBody(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpProblem(400, `body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpProblem(
      400,
      `the body must be a JSON object, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    );
  }
  if (jsonDepthOver(value, MAX_JSON_DEPTH))
    throw new HttpProblem(400, `the body nests deeper than ${MAX_JSON_DEPTH} levels`);
  return value as Record<string, unknown>;
}

/**
 * The manifest from a body: kOps YAML or JSON (documents, a JSON array or a `kind: List`, read
 * by the same check as the CLI's), or `{"manifest": "<YAML>"}`.
 */
export function manifestFromBody(text: string): string {
  if (text.trim() === '')
    throw new HttpProblem(400, 'the body must be the kOps manifest (YAML or JSON)');
  if (/^\s*\{/.test(text)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // Not JSON after all (YAML flow style): the manifest check reads it and reports its errors.
      return text;
    }
    const wrapped = (value as { manifest?: unknown } | null)?.manifest;
    if (typeof wrapped === 'string' && Object.keys(value as object).length === 1) return wrapped;
  }
  return text;
}

/**
 * A path parameter as API Gateway hands it over: already percent-decoded, once. It is not decoded
 * again, so `%252E` can never turn into a `.` past the caller's `execute-api:Invoke` grant on the
 * path; a `%` left in it is refused (400), since no cluster name or execution ID holds one.
 */
function pathParameter(request: ApiRequest, param: string): string {
  const value = request.pathParameters?.[param] ?? '';
  if (value.includes('%'))
    throw new HttpProblem(
      400,
      `{${param}} "${value.slice(0, 100)}" holds a "%": a cluster name or execution ID never does`,
    );
  return value;
}

/**
 * The cluster named in the path: a DNS-1123 subdomain, as every cluster's is (else 400, before
 * any lookup or AWS call). The name becomes a state store prefix, a session tag and part of IAM
 * resource ARNs, so nothing that is a wildcard or a path separator there may pass.
 */
export function clusterName(request: ApiRequest): string {
  const cluster = pathParameter(request, 'name');
  const problems = dns1123SubdomainErrors(cluster);
  if (problems.length === 0) problems.push(...clusterNameRecordProblems(cluster));
  if (cluster === '' || problems.length > 0)
    throw new HttpProblem(
      400,
      `"${cluster.slice(0, 100)}" is not a cluster name: ${problems[0] ?? 'empty'}`,
    );
  return cluster;
}

/** An execution's name as Step Functions allows it, or the ARN of one. */
const EXECUTION_ID =
  /^(?:[A-Za-z0-9_-]{1,80}|arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_-]{1,80}:[A-Za-z0-9_-]{1,80})$/;

/** The execution named in the path: a name or an ARN of one (else 400, before any lookup). */
function executionId(request: ApiRequest): string {
  const id = pathParameter(request, 'id');
  if (!EXECUTION_ID.test(id))
    throw new HttpProblem(
      400,
      `{id} "${id.slice(0, 100)}" is neither an execution name (letters, digits, - and _, at most 80) nor an execution ARN`,
    );
  return id;
}

/** Step Functions' limit on an execution's input (256 KiB, as JSON). */
export const MAX_EXECUTION_INPUT_BYTES = 256 * 1024;

/** Step Functions' limit on an execution name. */
export const MAX_EXECUTION_NAME = 80;

/** How long a request without an Idempotency-Key counts as a retry of a byte-identical one. */
export const RETRY_WINDOW_MS = 60_000;

/** New executions of one byte-identical request allowed per minute, after failed ones. */
const MAX_ATTEMPTS = 10;

const FAILED_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'];

/** `<operation>-<cluster>-<hash>`: readable, unique per request identity, at most 80 characters. */
export function executionName(operation: string, cluster: string, identity: string[]): string {
  const hash = createHash('sha256')
    .update([operation, cluster, ...identity].join('\n'))
    .digest('hex')
    .slice(0, 16);
  return `${`${operation}-${cluster.replace(/[^A-Za-z0-9-]/g, '-')}`.slice(0, MAX_EXECUTION_NAME - hash.length - 1)}-${hash}`;
}

/** An Idempotency-Key as clients send them (UUIDs and the like); anything else is a 400. */
function idempotencyKey(request: ApiRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(key))
    throw new HttpProblem(
      400,
      'Idempotency-Key: 1 to 255 printable ASCII characters without spaces',
    );
  return key;
}

async function refuseIfLocked(cluster: string, deps: ApiDeps): Promise<void> {
  const lock = await deps.store.readLock(cluster);
  const now = clockNow();
  if (lock && new Date(lock.expiresAt) > now) {
    throw new HttpProblem(
      409,
      `cluster "${cluster}" is locked by execution ${lock.owner} (${lock.operation}) until ${lock.expiresAt}`,
      { execution: lock.owner },
    );
  }
}

export async function requireCluster(cluster: string, deps: ApiDeps): Promise<void> {
  if (!(await deps.store.exists(cluster)))
    throw new HttpProblem(404, `cluster "${cluster}" not found`);
}

/** The version of a cluster's spec in the state store: a hash of the manifest as stored. */
async function specVersion(cluster: string, deps: ApiDeps): Promise<string> {
  return manifestVersion(await deps.store.readManifest(cluster));
}

function manifestVersion(manifest: ClusterManifest): string {
  return createHash('sha256').update(JSON.stringify(manifest)).digest('hex');
}

const accepted = (
  cluster: string,
  operation: string,
  arn: string,
  name: string,
  existing: boolean,
): ApiResponse => ({
  statusCode: existing ? 200 : 202,
  body: { cluster, operation, executionArn: arn, executionId: name, existing },
});

/**
 * The execution this request already started, if any (see the module comment for when a request
 * is a retry), without starting anything. Asked before the lock and the phase are checked: the
 * first execution holds the lock, and its retry must get that execution back, not a 409.
 */
async function previousExecution(
  operation: StateMachineName,
  cluster: string,
  input: Record<string, unknown>,
  request: ApiRequest,
  version: string,
  deps: ApiDeps,
): Promise<ApiResponse | undefined> {
  const now = clockNow().getTime();
  const machine = deps.stateMachines[operation];
  const key = idempotencyKey(request);
  if (key !== undefined) {
    const name = executionName(operation, cluster, ['key', key]);
    const arn = executionArn(machine, name);
    const found = await deps.executions.describe(arn);
    if (!found) return undefined;
    if (JSON.stringify(found.input) !== JSON.stringify(input))
      throw new HttpProblem(
        409,
        'Idempotency-Key was used for a different request: use a new key',
        { execution: arn },
      );
    return accepted(cluster, operation, arn, name, true);
  }
  const body = request.body ?? '';
  const minute = Math.floor(now / RETRY_WINDOW_MS);
  for (const bucket of [minute - 1, minute]) {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const name = executionName(operation, cluster, [
        'request',
        body,
        version,
        String(bucket),
        String(attempt),
      ]);
      const arn = executionArn(machine, name);
      const found = await deps.executions.describe(arn);
      if (!found) break;
      if (FAILED_STATUSES.includes(found.status)) continue;
      const startedAt = found.startDate ? Date.parse(found.startDate) : now;
      if (now - startedAt <= RETRY_WINDOW_MS) return accepted(cluster, operation, arn, name, true);
    }
  }
  return undefined;
}

/**
 * Starts the operation's state machine for a request, or returns the execution this request
 * already started (see the module comment for when that is).
 */
async function start(
  operation: StateMachineName,
  cluster: string,
  input: Record<string, unknown>,
  request: ApiRequest,
  version: string,
  deps: ApiDeps,
): Promise<ApiResponse> {
  const now = clockNow().getTime();
  const machine = deps.stateMachines[operation];
  const key = idempotencyKey(request);
  if (Buffer.byteLength(JSON.stringify(input)) > MAX_EXECUTION_INPUT_BYTES) {
    throw new HttpProblem(
      413,
      `the request makes an execution input over Step Functions' limit of ${MAX_EXECUTION_INPUT_BYTES} bytes`,
    );
  }
  if (key !== undefined) {
    const previous = await previousExecution(operation, cluster, input, request, version, deps);
    if (previous) return previous;
    const name = executionName(operation, cluster, ['key', key]);
    const started = await deps.executions.start(machine, name, input);
    return accepted(cluster, operation, started.executionArn, name, started.existing);
  }
  // Without a key: the last minute's and this minute's executions of the same request identity.
  // Each minute holds a chain of attempts; a failed attempt never absorbs a retry, the next one does.
  const body = request.body ?? '';
  const minute = Math.floor(now / RETRY_WINDOW_MS);
  for (const bucket of [minute - 1, minute]) {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const name = executionName(operation, cluster, [
        'request',
        body,
        version,
        String(bucket),
        String(attempt),
      ]);
      const arn = executionArn(machine, name);
      let found = await deps.executions.describe(arn);
      if (!found) {
        if (bucket < minute) break;
        const started = await deps.executions.start(machine, name, input);
        if (!started.existing)
          return accepted(cluster, operation, started.executionArn, name, false);
        // An identical request started it between our look and our start: judge it as found.
        found = await deps.executions.describe(arn);
        if (!found) continue;
      }
      if (FAILED_STATUSES.includes(found.status)) continue;
      const startedAt = found.startDate ? Date.parse(found.startDate) : now;
      if (now - startedAt <= RETRY_WINDOW_MS) return accepted(cluster, operation, arn, name, true);
      if (bucket < minute) break;
    }
  }
  throw new HttpProblem(
    409,
    `this request failed ${MAX_ATTEMPTS} times in the last minute: wait a minute, or send an Idempotency-Key`,
  );
}

/**
 * The manifest in a request's body, when kopsless can build it: 413 over what the create state
 * machine takes (its states would outgrow 256 KiB), 400 naming every invalid or unsupported field.
 */
export function buildableManifest(request: ApiRequest): {
  manifest: string;
  cluster: string;
  parsed: ClusterManifest;
} {
  const manifest = manifestFromBody(bodyText(request));
  if (Buffer.byteLength(manifest) > MAX_MANIFEST_BYTES)
    throw new HttpProblem(
      413,
      `manifest over ${MAX_MANIFEST_BYTES} bytes, the most the create state machine takes`,
    );
  const check = checkManifest(manifest);
  if (!check.valid || check.unsupported.length > 0)
    throw new HttpProblem(
      400,
      check.valid
        ? 'the manifest asks for settings kopsless does not build'
        : 'the manifest is invalid',
      { errors: check.errors, unsupported: check.unsupported },
    );
  return { manifest, cluster: check.cluster!, parsed: check.manifest! };
}

export const routes = {
  async createCluster(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
    const { manifest, cluster, parsed } = buildableManifest(request);
    const previous = await previousExecution(
      'create-cluster',
      cluster,
      { manifest },
      request,
      '',
      deps,
    );
    if (previous) return previous;
    await refuseIfLocked(cluster, deps);
    const status = await deps.store.readStatus(cluster);
    if (status && status.phase !== 'Registered' && status.phase !== 'Failed')
      throw new HttpProblem(409, `cluster "${cluster}" already exists (phase ${status.phase})`);
    // Building a registered cluster builds the spec it was registered with, not another one.
    if (status?.phase === 'Registered' && !sameSpec(await deps.store.readManifest(cluster), parsed))
      throw new HttpProblem(409, registeredWithOtherSpec(cluster));
    return start('create-cluster', cluster, { manifest }, request, '', deps);
  },

  async listClusters(_request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
    const clusters = [];
    for (const cluster of await deps.store.listClusters()) {
      const status = await deps.store.readStatus(cluster);
      clusters.push({
        name: cluster,
        phase: status?.phase ?? 'Unknown',
        lastExecution: status?.lastExecution ?? null,
      });
    }
    return { statusCode: 200, body: { clusters } };
  },

  async getCluster(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
    const cluster = clusterName(request);
    await requireCluster(cluster, deps);
    const manifest = await deps.store.readManifest(cluster);
    return {
      statusCode: 200,
      body: {
        ...manifest,
        status: (await deps.store.readStatus(cluster)) ?? null,
        lock: (await deps.store.readLock(cluster)) ?? null,
      },
    };
  },

  async updateCluster(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
    const cluster = clusterName(request);
    await requireCluster(cluster, deps);
    const version = await specVersion(cluster, deps);
    const previous = await previousExecution(
      'update-cluster',
      cluster,
      { cluster },
      request,
      version,
      deps,
    );
    if (previous) return previous;
    await refuseIfLocked(cluster, deps);
    return start('update-cluster', cluster, { cluster }, request, version, deps);
  },

  async rollingUpdate(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
    const cluster = clusterName(request);
    const options = jsonObjectBody(bodyText(request));
    const instanceGroups = options.instanceGroups ?? [];
    if (!Array.isArray(instanceGroups) || !instanceGroups.every((g) => typeof g === 'string'))
      throw new HttpProblem(400, 'instanceGroups: must be a list of instance group names');
    for (const flag of ['force', 'cloudOnly', 'allowSameZone'] as const) {
      if (options[flag] !== undefined && typeof options[flag] !== 'boolean')
        throw new HttpProblem(400, `${flag}: must be true or false`);
    }
    const parallelGroups = options.parallelGroups;
    if (
      parallelGroups !== undefined &&
      (typeof parallelGroups !== 'number' ||
        !Number.isInteger(parallelGroups) ||
        parallelGroups < 1 ||
        parallelGroups > 20)
    ) {
      throw new HttpProblem(400, 'parallelGroups: must be an integer from 1 to 20');
    }
    await requireCluster(cluster, deps);
    const manifest = await deps.store.readManifest(cluster);
    const known = manifest.instanceGroups.map((ig) => ig.metadata.name);
    const unknown = (instanceGroups as string[]).filter((g) => !known.includes(g));
    if (unknown.length > 0)
      throw new HttpProblem(
        400,
        `instanceGroups: not in cluster "${cluster}": ${unknown.join(', ')}`,
      );
    const version = manifestVersion(manifest);
    const input = {
      cluster,
      instanceGroups,
      force: options.force === true,
      cloudOnly: options.cloudOnly === true,
      // Only when given, so a keyed retry of a request from before these options finds its execution.
      ...(parallelGroups !== undefined ? { parallelGroups } : {}),
      ...(options.allowSameZone === true ? { allowSameZone: true } : {}),
    };
    const previous = await previousExecution(
      'rolling-update',
      cluster,
      input,
      request,
      version,
      deps,
    );
    if (previous) return previous;
    await refuseIfLocked(cluster, deps);
    return start('rolling-update', cluster, input, request, version, deps);
  },

  async deleteCluster(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
    const cluster = clusterName(request);
    await requireCluster(cluster, deps);
    const version = await specVersion(cluster, deps);
    const previous = await previousExecution(
      'delete-cluster',
      cluster,
      { cluster },
      request,
      version,
      deps,
    );
    if (previous) return previous;
    await refuseIfLocked(cluster, deps);
    return start('delete-cluster', cluster, { cluster }, request, version, deps);
  },

  async getExecution(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
    const cluster = clusterName(request);
    const id = executionId(request);
    const candidates = id.startsWith('arn:')
      ? [id]
      : Object.values(deps.stateMachines).map((machine) => executionArn(machine, id));
    for (const arn of candidates) {
      const execution = await deps.executions.describe(arn);
      if (execution) {
        const input = execution.input as { cluster?: string; manifest?: string } | undefined;
        const about =
          input?.cluster ??
          (typeof input?.manifest === 'string'
            ? parseManifest(input.manifest).manifest?.cluster.metadata.name
            : undefined);
        if (about !== cluster) continue;
        return { statusCode: 200, body: execution };
      }
    }
    throw new HttpProblem(404, `execution "${id}" of cluster "${cluster}" not found`);
  },
};
