import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaClusterApi } from '../../src/aws/cluster-api-lambda.js';
import { ClusterNotValidError, InvalidInputError } from '../../src/errors.js';
import { createClusterApiHandler, readClusterApiConfig } from '../../src/handlers/cluster-api.js';
import {
  type ClusterApiInvoker,
  type ClusterApiRequest,
  ClusterApiRequestSchema,
  invokedThroughEtcdAlias,
} from '../../src/kube/cluster-api-protocol.js';
import { serveClusterApi } from '../../src/kube/cluster-api-server.js';
import { checkedEtcdAccess, vpcNetwork } from '../../src/kube/cluster-etcd.js';
import { type EtcdAccess, etcdAccessFromStore } from '../../src/kube/etcd.js';
import { remoteEtcd } from '../../src/kube/remote-etcd.js';
import { type InstanceView, SimCluster } from '../../src/local/kube-sim/cluster.js';
import { ETCD_PREFIX, listen, type RunningSim } from '../../src/local/kube-sim/server.js';
import { lambdaContext } from '../../src/local/sfn/handlers.js';
import { clusterApiFunctionName } from '../../src/planning/names.js';
import { registeredKubeConfig } from '../support/kubeconfig.js';

// The etcd operations of a cluster's API function: requests cross as JSON, as a Lambda
// invocation does, to the function's core, which dials the simulated etcd on the cluster's VPC
// side with the access a control plane stored.
const name = 'etcd.example.com';
const instance = (i: number): InstanceView => ({
  instanceId: `i-0000000${i}aaaaaaaa`,
  zone: 'us-east-1a',
  privateIp: `10.0.0.${i}`,
  privateDnsName: `ip-10-0-0-${i}.ec2.internal`,
  instanceType: 't3.medium',
  instanceGroup: `control-plane-${i}`,
  controlPlane: true,
  maxPods: 17,
});
// Stand-ins for the PEM the control plane stores: they must never come back in an answer.
const secrets = { ca: 'CA-PEM-TEXT', cert: 'CERT-PEM-TEXT', key: 'KEY-PEM-TEXT' };
let cluster: SimCluster;
let sim: RunningSim;
let stored: EtcdAccess | undefined;
const answers: string[] = [];

/**
 * The function's core behind a JSON boundary, each request parsed by the schema the function
 * uses; `vpcCidrs` as its stack sets VPC_CIDRS.
 */
const invokerIn =
  (vpcCidrs: string[] = []): ClusterApiInvoker =>
  async (request) => {
    const parsed = ClusterApiRequestSchema.parse(JSON.parse(JSON.stringify(request)));
    const base = sim.urlFor(name).replace(/\/clusters\/.*$/, '');
    const answer = await serveClusterApi(
      parsed,
      registeredKubeConfig(name, sim.urlFor(name)),
      async () => stored && checkedEtcdAccess(name, stored, base),
      vpcNetwork(vpcCidrs),
    );
    answers.push(JSON.stringify(answer));
    return JSON.parse(JSON.stringify(answer));
  };
const invoke = invokerIn();

beforeAll(async () => {
  sim = await listen({ cluster: async (n) => (n === name ? cluster : undefined) }, 0);
});
afterAll(async () => sim?.close());
beforeEach(() => {
  cluster = new SimCluster(name, 'v1.33.0');
  cluster.syncInstances([1, 2, 3].map(instance));
  cluster.reconcile();
  stored = { ...secrets, endpoints: [`${sim.urlFor(name)}${ETCD_PREFIX}`] };
  answers.length = 0;
});

describe('etcd through the cluster API function', () => {
  it('lists one member per control-plane node, and no secret in the answer', async () => {
    const members = await remoteEtcd(name, invoke).listMembers();

    expect(members?.map((m) => m.name).sort()).toEqual([
      'ip-10-0-0-1.ec2.internal',
      'ip-10-0-0-2.ec2.internal',
      'ip-10-0-0-3.ec2.internal',
    ]);
    for (const text of Object.values(secrets)) expect(answers.join('\n')).not.toContain(text);
  });

  it('removes the member of the instance it is named by, and only that one', async () => {
    const etcd = remoteEtcd(name, invoke);

    const removed = await etcd.removeMemberOf(instance(2).instanceId);

    expect(removed).toBe(true);
    expect(
      cluster.etcd
        .list()
        .map((m) => m.name)
        .sort(),
    ).toEqual(['ip-10-0-0-1.ec2.internal', 'ip-10-0-0-3.ec2.internal']);
  });

  it('succeeds, removing nothing, for a member removed already', async () => {
    const etcd = remoteEtcd(name, invoke);
    await etcd.removeMemberOf(instance(2).instanceId);

    const again = await etcd.removeMemberOf(instance(2).instanceId);

    expect(again).toBe(false);
    expect(cluster.etcd.list()).toHaveLength(2);
  });

  it('succeeds, removing nothing, for an instance that is no control-plane node', async () => {
    const removed = await remoteEtcd(name, invoke).removeMemberOf('i-0123456789abcdef0');

    expect(removed).toBe(false);
    expect(cluster.etcd.list()).toHaveLength(3);
  });

  it('refuses, changing nothing, while a member that stays has lost its node', async () => {
    // The third instance is gone without leaving etcd: its member still counts, unhealthy.
    cluster.syncInstances([1, 2].map(instance));

    const removal = remoteEtcd(name, invoke).removeMemberOf(instance(1).instanceId);

    await expect(removal).rejects.toBeInstanceOf(ClusterNotValidError);
    await expect(removal).rejects.toThrow(
      /etcd member "ip-10-0-0-3\.ec2\.internal" .* is not healthy: its node is gone/,
    );
    expect(cluster.etcd.list()).toHaveLength(3);
  });

  it('refuses, changing nothing, while a member that stays has no ready etcd pod', async () => {
    const pod = cluster.pods.get('kube-system/etcd-ip-10-0-0-3.ec2.internal')!;
    pod.status = { ...pod.status, conditions: [{ type: 'Ready', status: 'False' }] };

    const removal = remoteEtcd(name, invoke).removeMemberOf(instance(1).instanceId);

    await expect(removal).rejects.toBeInstanceOf(ClusterNotValidError);
    await expect(removal).rejects.toThrow(
      /"ip-10-0-0-3\.ec2\.internal" .* its pod etcd-ip-10-0-0-3\.ec2\.internal is not ready/,
    );
    expect(cluster.etcd.list()).toHaveLength(3);
  });

  it('refuses a removal that would leave less than a majority of the members', async () => {
    const etcd = remoteEtcd(name, invoke);
    await etcd.removeMemberOf(instance(3).instanceId);

    const removal = etcd.removeMemberOf(instance(2).instanceId);

    await expect(removal).rejects.toBeInstanceOf(ClusterNotValidError);
    await expect(removal).rejects.toThrow(/1 of 2 member\(s\) would stay, not a majority/);
    expect(cluster.etcd.list()).toHaveLength(2);
  });

  it('refuses a control-plane node whose InternalIP is a host name', async () => {
    // A node's status is its kubelet's to write: an address that is a name could resolve anywhere.
    const node = cluster.nodes.get('ip-10-0-0-2.ec2.internal')!;
    node.status = {
      ...node.status,
      addresses: [{ type: 'InternalIP', address: 'etcd.attacker.example' }],
    };

    const removal = remoteEtcd(name, invoke).removeMemberOf(instance(1).instanceId);

    await expect(removal).rejects.toBeInstanceOf(ClusterNotValidError);
    await expect(removal).rejects.toThrow(
      /InternalIP "etcd\.attacker\.example" is not an IP address/,
    );
    expect(cluster.etcd.list()).toHaveLength(3);
  });

  it("refuses a control-plane node whose InternalIP is outside the cluster's VPC", async () => {
    const inOtherVpc = invokerIn(['10.1.0.0/16']);

    const removal = remoteEtcd(name, inOtherVpc).removeMemberOf(instance(1).instanceId);

    await expect(removal).rejects.toBeInstanceOf(ClusterNotValidError);
    await expect(removal).rejects.toThrow(
      /InternalIP 10\.0\.0\.\d is outside the cluster's VPC \(10\.1\.0\.0\/16\)/,
    );
    expect(cluster.etcd.list()).toHaveLength(3);
  });

  it("dials control-plane addresses inside the cluster's VPC", async () => {
    const inVpc = invokerIn(['172.16.0.0/12', '10.0.0.0/16']);

    const removed = await remoteEtcd(name, inVpc).removeMemberOf(instance(2).instanceId);

    expect(removed).toBe(true);
  });

  it('reports no members while the control plane has not stored the etcd client certificate', async () => {
    stored = undefined;
    const etcd = remoteEtcd(name, invoke);

    expect(await etcd.listMembers()).toBeUndefined();
    expect(await etcd.removeMemberOf(instance(1).instanceId)).toBe(false);
    expect(cluster.etcd.list()).toHaveLength(3);
  });
});

describe('the etcd alias', () => {
  const instanceId = instance(1).instanceId;
  const handler = createClusterApiHandler({ cluster: name, stateBucket: 'state-bucket' }) as (
    event: unknown,
    context: unknown,
  ) => Promise<unknown>;

  it.each([
    ['the function itself', undefined],
    ['another alias', 'live'],
  ])('refuses an etcd operation invoked as %s, before reading anything', async (_as, qualifier) => {
    const context = lambdaContext(clusterApiFunctionName(name), 120, 'us-east-1', qualifier);

    const removal = handler({ cluster: name, action: 'removeEtcdMember', instanceId }, context);

    await expect(removal).rejects.toBeInstanceOf(InvalidInputError);
    await expect(removal).rejects.toThrow(
      /removeEtcdMember is served only through this function's "etcd" alias/,
    );
  });

  it('is invoked for the etcd operations only, by the shared functions on AWS', async () => {
    const sent: Array<{ FunctionName?: string; Qualifier?: string }> = [];
    const lambda = {
      send: async (command: { input: { FunctionName?: string; Qualifier?: string } }) => {
        sent.push(command.input);
        return { Payload: new TextEncoder().encode('{"ok":true,"result":{"removed":false}}') };
      },
    } as unknown as Parameters<typeof lambdaClusterApi>[0];
    const invoke = lambdaClusterApi(lambda);

    await invoke({ cluster: name, action: 'removeEtcdMember', instanceId });
    await invoke({ cluster: name, action: 'listNodes', limit: 10 });

    expect(sent.map((input) => input.Qualifier)).toEqual(['etcd', undefined]);
    expect(sent.map((input) => input.FunctionName)).toEqual([
      clusterApiFunctionName(name),
      clusterApiFunctionName(name),
    ]);
  });

  it('is the ARN a Lambda context names with the etcd qualifier, and no other', () => {
    const arn = `arn:aws:lambda:us-east-1:123456789012:function:${clusterApiFunctionName(name)}`;

    expect(invokedThroughEtcdAlias(`${arn}:etcd`)).toBe(true);
    expect(invokedThroughEtcdAlias(arn)).toBe(false);
    expect(invokedThroughEtcdAlias(`${arn}:$LATEST`)).toBe(false);
    expect(invokedThroughEtcdAlias(`${arn}:etcd:etcd`)).toBe(false);
  });
});

describe("the function's VPC ranges", () => {
  it('reads VPC_CIDRS from the environment', () => {
    const config = readClusterApiConfig({
      CLUSTER_NAME: name,
      STATE_BUCKET: 'state-bucket',
      VPC_CIDRS: '10.0.0.0/16,10.1.0.0/16',
    });

    expect(config.vpcCidrs).toEqual(['10.0.0.0/16', '10.1.0.0/16']);
  });

  it('fails the cold start on a range that is not a CIDR block, naming it', () => {
    expect(() => vpcNetwork(['10.0.0.0/16', 'api.example.com/16'])).toThrow(
      /VPC_CIDRS: "api.example.com\/16" is not a CIDR block/,
    );
  });
});

describe('the etcd operations of the protocol', () => {
  const instanceId = instance(1).instanceId;
  const refused: Array<[string, unknown]> = [
    ['an unknown operation', { cluster: name, action: 'addEtcdMember', instanceId }],
    ['a member ID', { cluster: name, action: 'removeEtcdMember', memberId: '1234' }],
    [
      'an endpoint beside the instance',
      { cluster: name, action: 'removeEtcdMember', instanceId, endpoint: 'https://10.0.0.9:2379' },
    ],
    [
      'a URL for the instance',
      { cluster: name, action: 'removeEtcdMember', instanceId: 'https://10.0.0.9:2379' },
    ],
    [
      'an extra field on the list',
      { cluster: name, action: 'listEtcdMembers', path: '/v3/kv/range' },
    ],
  ];

  it.each(refused)('refuses %s', (_why, request) => {
    expect(ClusterApiRequestSchema.safeParse(request).success).toBe(false);
  });

  it('accepts a removal named by an instance ID', () => {
    const request: ClusterApiRequest = { cluster: name, action: 'removeEtcdMember', instanceId };

    expect(ClusterApiRequestSchema.parse(request)).toEqual(request);
  });
});

describe('the stored etcd access, checked as data', () => {
  it('refuses endpoints on AWS: etcd is dialed on the control-plane addresses only', () => {
    const check = () =>
      checkedEtcdAccess(name, { ...secrets, endpoints: ['https://attacker.example:2379'] });

    expect(check).toThrow(ClusterNotValidError);
    expect(check).toThrow(/endpoints refused/);
  });

  it('refuses an access without its client key on AWS, naming the field', () => {
    expect(() => checkedEtcdAccess(name, { ca: secrets.ca, cert: secrets.cert })).toThrow(
      /secrets\/etcd-client\.json: key missing/,
    );
  });

  it("refuses, on the local backend, an endpoint outside the cluster's own", () => {
    const base = 'http://127.0.0.1:9';

    expect(() =>
      checkedEtcdAccess(name, { endpoints: [`${base}/clusters/other.example.com/etcd`] }, base),
    ).toThrow(/is not cluster "etcd.example.com"'s own etcd/);
  });

  it("refuses, on the local backend, a path that leaves the cluster's own for another's", () => {
    const base = 'http://127.0.0.1:9';
    const check = (endpoint: string) => () =>
      checkedEtcdAccess(name, { endpoints: [endpoint] }, base);

    expect(check(`${base}/clusters/${name}/../other.example.com/etcd`)).toThrow(
      /is not cluster "etcd.example.com"'s own etcd/,
    );
    expect(check(`${base}/clusters/${name}/%2e%2e/other.example.com/etcd`)).toThrow(
      /is not cluster "etcd.example.com"'s own etcd/,
    );
  });

  it('refuses an etcd-client.json that is not JSON, quoting none of it', async () => {
    const body = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ';
    const objects = { get: async () => ({ body }) } as unknown as Parameters<
      typeof etcdAccessFromStore
    >[0];

    const read = etcdAccessFromStore(objects, name);

    await expect(read).rejects.toBeInstanceOf(ClusterNotValidError);
    await expect(read).rejects.toThrow(/secrets\/etcd-client\.json in the state store is not JSON/);
    await expect(read).rejects.not.toThrow(/MIIE/);
  });

  it("dials the cluster's etcd on its VPC side on the local backend", () => {
    const base = 'http://127.0.0.1:9';

    const access = checkedEtcdAccess(name, { endpoints: [`${base}/clusters/${name}/etcd`] }, base);

    expect(access.endpoints).toEqual([`${base}/vpc/clusters/${name}/etcd`]);
  });
});
