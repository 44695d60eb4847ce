import { createHash } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import type { ExecutionsApi } from '../aws/sfn.js';
import type { StateMachineName } from '../functions-registry.js';
import { checkManifest } from '../spec/check.js';
import type { ClusterStore } from '../state/cluster-store.js';

/**
 * The HTTP API's routes over the state store and Step Functions. Bad input is a 400 with the
 * field errors and starts nothing; a locked cluster a 409 naming the execution that holds it; an
 * unknown cluster a 404; a body over the limit a 413. Executions are named from the request (and
 * its Idempotency-Key), so a retried request finds the execution the first one started.
 */

export const MAX_BODY_BYTES = 256 * 1024;

export interface ApiDeps {
  store: ClusterStore;
  executions: ExecutionsApi;
  stateMachines: Record<StateMachineName, string>;
  now?: () => Date;
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

function bodyText(request: ApiRequest): string {
  const raw = request.body ?? '';
  const text = request.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new HttpProblem(413, `request body over ${MAX_BODY_BYTES} bytes`);
  return text;
}

/** The manifest from a body: kOps YAML (or JSON documents), or `{"manifest": "<YAML>"}`. */
function manifestFromBody(text: string, contentType: string | undefined): string {
  if (text.trim() === '') throw new HttpProblem(400, 'the body must be the kOps manifest (YAML or JSON)');
  if (/json/.test(contentType ?? '') || text.trimStart().startsWith('{') || text.trimStart().startsWith('[')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new HttpProblem(400, `body is not valid JSON: ${(error as Error).message}`);
    }
    if (value && typeof value === 'object' && 'manifest' in value && typeof (value as { manifest: unknown }).manifest === 'string') return (value as { manifest: string }).manifest;
    const list = value as { kind?: string; items?: unknown[] };
    const docs = Array.isArray(value) ? value : list?.kind === 'List' ? (list.items ?? []) : [value];
    return docs.map((d) => JSON.stringify(d)).join('\n---\n');
  }
  return text;
}

function executionName(operation: string, cluster: string, payload: string, key: string | undefined, now: Date): string {
  // Without an Idempotency-Key, retries within the same ten minutes count as one request.
  const scope = key ?? String(Math.floor(now.getTime() / 600_000));
  const hash = createHash('sha256').update(`${operation}\n${cluster}\n${payload}\n${scope}`).digest('hex').slice(0, 16);
  return `${operation}-${cluster.replace(/[^A-Za-z0-9-]/g, '-')}`.slice(0, 60) + `-${hash}`;
}

async function refuseIfLocked(cluster: string, deps: ApiDeps): Promise<void> {
  const lock = await deps.store.readLock(cluster);
  const now = (deps.now ?? (() => new Date()))();
  if (lock && new Date(lock.expiresAt) > now) {
    throw new HttpProblem(409, `cluster "${cluster}" is locked by execution ${lock.owner} (${lock.operation}) until ${lock.expiresAt}`, { execution: lock.owner });
  }
}

async function requireCluster(cluster: string, deps: ApiDeps): Promise<void> {
  if (!(await deps.store.exists(cluster))) throw new HttpProblem(404, `cluster "${cluster}" not found`);
}

async function start(operation: StateMachineName, cluster: string, input: Record<string, unknown>, request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  const now = (deps.now ?? (() => new Date()))();
  const name = executionName(operation, cluster, JSON.stringify(input), request.headers['idempotency-key'], now);
  const { executionArn, existing } = await deps.executions.start(deps.stateMachines[operation], name, input);
  return { statusCode: existing ? 200 : 202, body: { cluster, operation, executionArn, executionId: name, existing } };
}

const name = (request: ApiRequest) => decodeURIComponent(request.pathParameters.name ?? '');

export const routes = {
  async createCluster(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
    const manifest = manifestFromBody(bodyText(request), request.headers['content-type']);
    const check = checkManifest(manifest);
    if (!check.valid || check.unsupported.length > 0) {
      throw new HttpProblem(400, check.valid ? 'the manifest asks for settings kopsless does not build' : 'the manifest is invalid', { errors: check.errors, unsupported: check.unsupported });
    }
    const cluster = check.cluster!;
    await refuseIfLocked(cluster, deps);
    const status = await deps.store.readStatus(cluster);
    if (status && status.phase !== 'Registered' && status.phase !== 'Failed') throw new HttpProblem(409, `cluster "${cluster}" already exists (phase ${status.phase})`);
    return start('create-cluster', cluster, { manifest }, request, deps);
  },

  async listClusters(_request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
    const clusters = [];
    for (const cluster of await deps.store.listClusters()) {
      const status = await deps.store.readStatus(cluster);
      clusters.push({ name: cluster, phase: status?.phase ?? 'Unknown', lastExecution: status?.lastExecution ?? null });
    }
    return { statusCode: 200, body: { clusters } };
  },

  async getCluster(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
    const cluster = name(request);
    await requireCluster(cluster, deps);
    const manifest = await deps.store.readManifest(cluster);
    return { statusCode: 200, body: { ...manifest, status: (await deps.store.readStatus(cluster)) ?? null, lock: (await deps.store.readLock(cluster)) ?? null } };
  },

  async updateCluster(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
    const cluster = name(request);
    await requireCluster(cluster, deps);
    await refuseIfLocked(cluster, deps);
    return start('update-cluster', cluster, { cluster }, request, deps);
  },

  async rollingUpdate(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
    const cluster = name(request);
    const text = bodyText(request);
    let options: { instanceGroups?: unknown; force?: unknown; cloudOnly?: unknown } = {};
    if (text.trim() !== '') {
      try {
        options = JSON.parse(text) as typeof options;
      } catch (error) {
        throw new HttpProblem(400, `body is not valid JSON: ${(error as Error).message}`);
      }
    }
    const instanceGroups = options.instanceGroups ?? [];
    if (!Array.isArray(instanceGroups) || !instanceGroups.every((g) => typeof g === 'string')) throw new HttpProblem(400, 'instanceGroups: must be a list of instance group names');
    for (const flag of ['force', 'cloudOnly'] as const) {
      if (options[flag] !== undefined && typeof options[flag] !== 'boolean') throw new HttpProblem(400, `${flag}: must be true or false`);
    }
    await requireCluster(cluster, deps);
    const known = (await deps.store.readManifest(cluster)).instanceGroups.map((ig) => ig.metadata.name);
    const unknown = (instanceGroups as string[]).filter((g) => !known.includes(g));
    if (unknown.length > 0) throw new HttpProblem(400, `instanceGroups: not in cluster "${cluster}": ${unknown.join(', ')}`);
    await refuseIfLocked(cluster, deps);
    return start('rolling-update', cluster, { cluster, instanceGroups, force: options.force === true, cloudOnly: options.cloudOnly === true }, request, deps);
  },

  async deleteCluster(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
    const cluster = name(request);
    await requireCluster(cluster, deps);
    await refuseIfLocked(cluster, deps);
    return start('delete-cluster', cluster, { cluster }, request, deps);
  },

  async getExecution(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
    const cluster = name(request);
    const id = decodeURIComponent(request.pathParameters.id ?? '');
    const candidates = id.startsWith('arn:')
      ? [id]
      : Object.values(deps.stateMachines).map((machine) => `${machine.replace(':stateMachine:', ':execution:')}:${id}`);
    for (const arn of candidates) {
      const execution = await deps.executions.describe(arn);
      if (execution) {
        const input = execution.input as { cluster?: string; manifest?: string } | undefined;
        const about = input?.cluster ?? (input?.manifest ? parseAllDocuments(input.manifest).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } }).find((d) => d?.kind === 'Cluster')?.metadata?.name : undefined);
        if (about !== cluster) continue;
        return { statusCode: 200, body: execution };
      }
    }
    throw new HttpProblem(404, `execution "${id}" of cluster "${cluster}" not found`);
  },
};
