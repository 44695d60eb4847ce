import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { type ZodIssue, z } from 'zod';
import { StoredKubeconfigError } from '../errors.js';
import { isApiLoadBalancerHost } from '../planning/stack-nlb.js';

/**
 * A kubeconfig read from the state store is data written by a control-plane instance, so it is
 * trusted no further than that instance: it may hold a server, a CA and credentials as inline
 * data, nothing else. Anything that would make the client run a command (`exec`,
 * `auth-provider`), read a file (`tokenFile`, `client-key`, ...) or go through another host
 * (`proxy-url`, a foreign `server`) is refused before a KubeConfig exists, so no request is
 * ever made with it.
 */

/** Fields a stored kubeconfig may never hold, with why; reported before the shape is checked. */
const REFUSED_USER_FIELDS: Record<string, string> = {
  exec: 'a stored kubeconfig must hold credentials as data; commands are never run',
  'auth-provider': 'a stored kubeconfig must hold credentials as data; auth plugins are never run',
  tokenFile: 'a stored kubeconfig must hold the token as data; files are never read',
  'client-certificate':
    'a stored kubeconfig must hold the certificate as client-certificate-data; files are never read',
  'client-key': 'a stored kubeconfig must hold the key as client-key-data; files are never read',
  username: 'a stored kubeconfig authenticates with a certificate or a token, never a password',
  password: 'a stored kubeconfig authenticates with a certificate or a token, never a password',
};

const REFUSED_CLUSTER_FIELDS: Record<string, string> = {
  'certificate-authority':
    'a stored kubeconfig must hold the CA as certificate-authority-data; files are never read',
  'proxy-url': 'the cluster API is dialed directly; a stored kubeconfig never names a proxy',
};

const name = z.string().min(1);

const ClusterEntry = z
  .object({
    name,
    cluster: z
      .object({
        server: z.string().min(1),
        'certificate-authority-data': z.string().min(1).optional(),
        'insecure-skip-tls-verify': z.boolean().optional(),
        'tls-server-name': z.string().min(1).optional(),
      })
      .strict(),
  })
  .strict();

const UserEntry = z
  .object({
    name,
    user: z
      .object({
        'client-certificate-data': z.string().min(1).optional(),
        'client-key-data': z.string().min(1).optional(),
        token: z.string().min(1).optional(),
      })
      .strict(),
  })
  .strict();

const ContextEntry = z
  .object({
    name,
    context: z.object({ cluster: name, user: name, namespace: z.string().optional() }).strict(),
  })
  .strict();

/** The only shape a stored kubeconfig may have: kubeadm's admin.conf, inline data only. */
export const StoredKubeconfigSchema = z
  .object({
    apiVersion: z.literal('v1').optional(),
    kind: z.literal('Config').optional(),
    clusters: z.array(ClusterEntry).min(1),
    users: z.array(UserEntry).min(1),
    contexts: z.array(ContextEntry).min(1),
    'current-context': z.string().optional(),
    // kubeadm writes `preferences: {}`; anything inside it is refused.
    preferences: z.object({}).strict().optional(),
  })
  .strict();

export type StoredKubeconfig = z.output<typeof StoredKubeconfigSchema>;

/**
 * The API servers a cluster's stored kubeconfig may name. On AWS that is the cluster's own
 * internal API name over HTTPS (`https://api.internal.<cluster>`, port 443 or none); a local
 * backend registers the exact URL of its simulated API server instead.
 */
export interface TrustedServers {
  /** Host names of the cluster's own API, dialed over HTTPS on 443 with the stored CA. */
  httpsHosts: string[];
  /**
   * Whether another host name is the cluster's own API too: its API load balancer's name, which
   * Elastic Load Balancing chooses and which is the API's only name with DNS None.
   */
  isOwnHost?: (host: string) => boolean;
  /**
   * Exact server URLs the local backend registered for the cluster (plain HTTP on 127.0.0.1):
   * a test double needs no TLS, and only such a URL may skip it.
   */
  registeredUrls?: string[];
}

/**
 * The servers of a cluster on AWS: its internal API name (`spec.masterInternalName`), or its API
 * load balancer's DNS name (DNS None).
 */
export function clusterServers(
  cluster: string,
  masterInternalName?: string,
  // Lambda sets AWS_REGION: the load balancer is the cluster's only in the functions' region.
  region: string | undefined = process.env.AWS_REGION,
): TrustedServers {
  return {
    httpsHosts: [masterInternalName ?? `api.internal.${cluster}`],
    isOwnHost: (host) => isApiLoadBalancerHost(cluster, host, region),
  };
}

function issuePath(path: Array<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function refusedFields(raw: unknown): string[] {
  if (!raw || typeof raw !== 'object') return [];
  const problems: string[] = [];
  const scan = (list: unknown, entry: string, refused: Record<string, string>) => {
    if (!Array.isArray(list)) return;
    list.forEach((item, i) => {
      const inner = (item as Record<string, unknown> | null)?.[entry];
      if (!inner || typeof inner !== 'object') return;
      for (const field of Object.keys(inner))
        if (field in refused) problems.push(`${entry}s[${i}].${entry}.${field}: ${refused[field]}`);
    });
  };
  scan((raw as Record<string, unknown>).users, 'user', REFUSED_USER_FIELDS);
  scan((raw as Record<string, unknown>).clusters, 'cluster', REFUSED_CLUSTER_FIELDS);
  return problems;
}

function describeIssue(issue: ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return issue.keys
      .map((key) => `${issuePath([...issue.path, key])}: not allowed in a stored kubeconfig`)
      .join('; ');
  return `${issuePath(issue.path) || '(document)'}: ${issue.message}`;
}

function fail(cluster: string, problems: string[]): never {
  throw new StoredKubeconfigError(
    `the kubeconfig stored for cluster "${cluster}" is refused: ${problems.join('; ')}`,
  );
}

/** Why a server URL is not one of the cluster's own, or undefined when it is. */
function serverProblem(
  server: string,
  entry: StoredKubeconfig['clusters'][number]['cluster'],
  trusted: TrustedServers,
): string | undefined {
  if (trusted.registeredUrls?.includes(server)) return undefined;
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return `"${server}" is not a URL`;
  }
  const ownHost =
    url.protocol === 'https:' &&
    (url.port === '' || url.port === '443') &&
    (url.pathname === '/' || url.pathname === '') &&
    !url.username &&
    !url.password &&
    url.search === '' &&
    (trusted.httpsHosts.includes(url.hostname) || trusted.isOwnHost?.(url.hostname) === true);
  if (!ownHost)
    return `"${server}" is not this cluster's API (expected https://${trusted.httpsHosts.join(' or https://')}${trusted.isOwnHost ? " or its API load balancer's name" : ''})`;
  if (!entry['certificate-authority-data'])
    return 'certificate-authority-data is required: the API is dialed over TLS with the stored CA';
  if (entry['insecure-skip-tls-verify'])
    return 'insecure-skip-tls-verify is refused: the API is verified with the stored CA';
  return undefined;
}

/**
 * Parses and checks a kubeconfig from the state store: inline data only, the current context's
 * server one of the cluster's own. Throws StoredKubeconfigError naming every refused field; the
 * text is never handed to `@kubernetes/client-node` as it is.
 */
export function parseStoredKubeconfig(
  cluster: string,
  text: string,
  trusted: TrustedServers,
): StoredKubeconfig & { selected: { context: string; cluster: string; user: string } } {
  let raw: unknown;
  try {
    // No custom tags and few aliases: the document is data, and small.
    raw = parseYaml(text, { customTags: [], maxAliasCount: 10 });
  } catch (error) {
    fail(cluster, [`not YAML: ${(error as Error).message.split('\n')[0]}`]);
  }
  const refused = refusedFields(raw);
  if (refused.length > 0) fail(cluster, refused);
  const parsed = StoredKubeconfigSchema.safeParse(raw);
  if (!parsed.success) fail(cluster, parsed.error.issues.map(describeIssue));
  const config = parsed.data;
  const contextName = config['current-context'] ?? config.contexts[0]!.name;
  const contextIndex = config.contexts.findIndex((c) => c.name === contextName);
  if (contextIndex < 0) fail(cluster, [`current-context: no context named "${contextName}"`]);
  const context = config.contexts[contextIndex]!.context;
  const clusterIndex = config.clusters.findIndex((c) => c.name === context.cluster);
  if (clusterIndex < 0)
    fail(cluster, [`contexts[${contextIndex}].context.cluster: no cluster "${context.cluster}"`]);
  const userIndex = config.users.findIndex((u) => u.name === context.user);
  if (userIndex < 0)
    fail(cluster, [`contexts[${contextIndex}].context.user: no user "${context.user}"`]);
  const entry = config.clusters[clusterIndex]!.cluster;
  const problem = serverProblem(entry.server, entry, trusted);
  if (problem) fail(cluster, [`clusters[${clusterIndex}].cluster.server: ${problem}`]);
  const user = config.users[userIndex]!.user;
  if (!user.token && !(user['client-certificate-data'] && user['client-key-data']))
    fail(cluster, [
      `users[${userIndex}].user: needs token, or client-certificate-data with client-key-data`,
    ]);
  return {
    ...config,
    selected: { context: contextName, cluster: context.cluster, user: context.user },
  };
}

/**
 * A KubeConfig for a cluster's stored kubeconfig, built field by field (loadFromOptions) from
 * the checked shape: nothing the checks did not see reaches the client.
 */
export function storedKubeConfig(
  cluster: string,
  text: string,
  trusted: TrustedServers,
): KubeConfig {
  const config = parseStoredKubeconfig(cluster, text, trusted);
  const entry = config.clusters.find((c) => c.name === config.selected.cluster)!.cluster;
  const user = config.users.find((u) => u.name === config.selected.user)!.user;
  const plainHttp = entry.server.startsWith('http:');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      {
        name: config.selected.cluster,
        server: entry.server,
        ...(entry['certificate-authority-data']
          ? { caData: entry['certificate-authority-data'] }
          : {}),
        ...(entry['tls-server-name'] ? { tlsServerName: entry['tls-server-name'] } : {}),
        // Only a registered local URL can be plain HTTP (serverProblem); the client needs this set for one.
        skipTLSVerify: plainHttp,
      },
    ],
    users: [
      {
        name: config.selected.user,
        ...(user['client-certificate-data'] ? { certData: user['client-certificate-data'] } : {}),
        ...(user['client-key-data'] ? { keyData: user['client-key-data'] } : {}),
        ...(user.token ? { token: user.token } : {}),
      },
    ],
    contexts: [
      {
        name: config.selected.context,
        cluster: config.selected.cluster,
        user: config.selected.user,
      },
    ],
    currentContext: config.selected.context,
  });
  return kubeConfig;
}
