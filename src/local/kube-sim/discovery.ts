import type { Obj } from './cluster.js';
import { groupVersionDocument, openApiV2Document, openApiV3Index } from './openapi.js';

/** Discovery (`/version`, `/api`, `/apis`, API resource lists) and the OpenAPI documents' paths. */

const RESOURCES = {
  v1: [
    {
      name: 'nodes',
      singularName: 'node',
      namespaced: false,
      kind: 'Node',
      verbs: ['get', 'list', 'patch'],
      shortNames: ['no'],
    },
    {
      name: 'pods',
      singularName: 'pod',
      namespaced: true,
      kind: 'Pod',
      verbs: ['create', 'delete', 'get', 'list', 'patch'],
      shortNames: ['po'],
      categories: ['all'],
    },
    {
      name: 'pods/eviction',
      singularName: '',
      namespaced: true,
      group: 'policy',
      version: 'v1',
      kind: 'Eviction',
      verbs: ['create'],
    },
    {
      name: 'namespaces',
      singularName: 'namespace',
      namespaced: false,
      kind: 'Namespace',
      verbs: ['get', 'list'],
      shortNames: ['ns'],
    },
    {
      name: 'events',
      singularName: 'event',
      namespaced: true,
      kind: 'Event',
      verbs: ['create', 'get', 'list'],
      shortNames: ['ev'],
    },
  ],
  'apps/v1': [
    {
      name: 'daemonsets',
      singularName: 'daemonset',
      namespaced: true,
      kind: 'DaemonSet',
      verbs: ['get', 'list', 'patch'],
      shortNames: ['ds'],
      categories: ['all'],
    },
    {
      name: 'deployments',
      singularName: 'deployment',
      namespaced: true,
      kind: 'Deployment',
      verbs: ['create', 'delete', 'get', 'list', 'patch'],
      shortNames: ['deploy'],
      categories: ['all'],
    },
    {
      name: 'deployments/scale',
      singularName: '',
      namespaced: true,
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
      verbs: ['get', 'patch'],
    },
    {
      name: 'replicasets',
      singularName: 'replicaset',
      namespaced: true,
      kind: 'ReplicaSet',
      verbs: ['get', 'list'],
      shortNames: ['rs'],
      categories: ['all'],
    },
  ],
  'policy/v1': [
    {
      name: 'poddisruptionbudgets',
      singularName: 'poddisruptionbudget',
      namespaced: true,
      kind: 'PodDisruptionBudget',
      verbs: ['create', 'delete', 'get', 'list', 'patch'],
      shortNames: ['pdb'],
    },
  ],
  'events.k8s.io/v1': [
    {
      name: 'events',
      singularName: 'event',
      namespaced: true,
      kind: 'Event',
      verbs: ['create', 'get', 'list'],
      shortNames: ['ev'],
    },
  ],
};

const GROUPS = ['apps', 'events.k8s.io', 'policy'];

/** The discovery documents (`/version`, `/api`, `/apis`, `/api/v1`, `/apis/<group>/v1`), or undefined for other paths. */
export function discovery(path: string, version: string): Obj | undefined {
  if (path === '/version') {
    const [major, minor] = version.replace(/^v/, '').split('.');
    return {
      major,
      minor,
      gitVersion: version,
      platform: 'linux/amd64',
      goVersion: 'kopsless-simulated',
    };
  }
  if (path === '/api')
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (path === '/apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: GROUPS.map((name) => ({
        name,
        versions: [{ groupVersion: `${name}/v1`, version: 'v1' }],
        preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' },
      })),
    };
  }
  const group =
    path === '/api/v1' ? 'v1' : path.startsWith('/apis/') ? path.slice('/apis/'.length) : undefined;
  const resources = group ? RESOURCES[group as keyof typeof RESOURCES] : undefined;
  if (resources)
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group, resources };
  return undefined;
}

/** `/openapi/v2` and `/openapi/v3[/<group-version>]`, or undefined for other paths. */
export function openApi(
  path: string,
  prefix: string,
  accept: string | undefined,
): { code: number; body: Obj } | undefined {
  if (path === '/openapi/v3') return { code: 200, body: openApiV3Index(prefix) };
  if (path.startsWith('/openapi/v3/')) {
    const doc = groupVersionDocument(path.slice('/openapi/v3/'.length));
    return doc
      ? { code: 200, body: doc }
      : {
          code: 404,
          body: {
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            reason: 'NotFound',
            code: 404,
            message: `no OpenAPI v3 document for ${path}`,
          },
        };
  }
  if (path === '/openapi/v2') {
    // client-go asks for the protobuf encoding only; the real server answers 406 to an Accept it
    // cannot serve, and the simulated one encodes JSON only.
    const types = (accept ?? '*/*').split(',').map((t) => t.split(';')[0]!.trim());
    if (!types.some((t) => t === 'application/json' || t === '*/*' || t === 'application/*')) {
      return {
        code: 406,
        body: {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'NotAcceptable',
          code: 406,
          message: `only application/json is served for /openapi/v2, not ${accept}`,
        },
      };
    }
    return { code: 200, body: openApiV2Document() };
  }
  return undefined;
}
