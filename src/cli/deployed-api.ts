import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * The deployed kopsless API as the CLI of a stack calls it (`--target aws`): requests signed
 * with SigV4 for `execute-api`, with the user's own credentials. What the user may not do
 * directly (write the state store, read a secret under the secrets key) goes this way, and the
 * user's IAM policy says which routes they may call (`execute-api:Invoke`).
 */
export interface DeployedApi {
  /** `POST /clusters/{name}/register`: checks and registers the manifest; builds nothing. */
  register(cluster: string, manifest: string): Promise<void>;
  /**
   * `GET /clusters/{name}/kubeconfig`, or with the admin's credentials `POST
   * /admin/kubeconfig/{name}`: undefined while the cluster has none.
   */
  kubeconfig(cluster: string, admin: boolean): Promise<string | undefined>;
}

/** The `reason` of the API's 404 for a cluster whose control plane has not published a kubeconfig. */
export const NO_KUBECONFIG = 'NoKubeconfig';

/** An answer of the API that is not a success, with its message and field errors. */
export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details: Array<{ path?: string; message?: string }> = [],
  ) {
    super(message);
  }
}

export interface DeployedApiSettings {
  /** The stack's `ApiUrl` output: `https://<id>.execute-api.<region>.amazonaws.com/v1`. */
  url: string;
  region: string;
  /** The user's credentials, or the provider the AWS SDK's default chain gives. */
  credentials: ConstructorParameters<typeof SignatureV4>[0]['credentials'];
  fetch?: typeof fetch;
}

type Answer = { statusCode: number; body: Record<string, unknown> };

/** A signed call; the answer's JSON body whatever its status. */
async function send(
  settings: DeployedApiSettings,
  method: string,
  path: string,
  body?: string,
): Promise<Answer> {
  const base = new URL(settings.url.replace(/\/*$/, '/'));
  const url = new URL(path.replace(/^\//, ''), base);
  const headers: Record<string, string> = { host: url.host, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/yaml';
  const signer = new SignatureV4({
    credentials: settings.credentials,
    region: settings.region,
    service: 'execute-api',
    sha256: Hash.bind(null, 'sha256'),
  });
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: {},
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const { host: _host, ...sent } = signed.headers;
  const response = await (settings.fetch ?? fetch)(url, {
    method,
    headers: sent,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { message: text.slice(0, 500) };
  }
  return { statusCode: response.status, body: parsed };
}

/** An error answer as the CLI reports it; 403 says which permission the user lacks. */
function refusal(answer: Answer, method: string, path: string): ApiRequestError {
  const message = String(answer.body.message ?? answer.body.Message ?? `HTTP ${answer.statusCode}`);
  const errors = [
    ...((answer.body.errors as ApiRequestError['details'] | undefined) ?? []),
    ...((answer.body.unsupported as ApiRequestError['details'] | undefined) ?? []),
  ];
  if (answer.statusCode === 403)
    return new ApiRequestError(
      403,
      `the kopsless API refused ${method} ${path}: ${message} (your credentials need execute-api:Invoke on that route; see docs/deploying.md)`,
    );
  return new ApiRequestError(answer.statusCode, message, errors);
}

/** The API of a deployed stack at `settings.url`. */
export function deployedApi(settings: DeployedApiSettings): DeployedApi {
  return {
    async register(cluster, manifest) {
      const path = `/clusters/${encodeURIComponent(cluster)}/register`;
      const answer = await send(settings, 'POST', path, manifest);
      if (answer.statusCode !== 200) throw refusal(answer, 'POST', path);
    },
    async kubeconfig(cluster, admin) {
      const [method, path] = admin
        ? (['POST', `/admin/kubeconfig/${encodeURIComponent(cluster)}`] as const)
        : (['GET', `/clusters/${encodeURIComponent(cluster)}/kubeconfig`] as const);
      const answer = await send(settings, method, path);
      if (answer.statusCode === 404 && answer.body.reason === NO_KUBECONFIG) return undefined;
      if (answer.statusCode !== 200) throw refusal(answer, method, path);
      if (typeof answer.body.kubeconfig !== 'string')
        throw new ApiRequestError(502, `${method} ${path}: the answer holds no kubeconfig`);
      return answer.body.kubeconfig;
    },
  };
}
