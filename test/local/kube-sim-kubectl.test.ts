import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { SimCluster } from '../../src/local/kube-sim/cluster.js';
import { listen, type RunningSim } from '../../src/local/kube-sim/server.js';
import { kubectlIn } from '../support/cluster.js';
import { simInstance } from '../support/sim-instances.js';

// The simulated API server on its own (no moto: nodes are given), as the real kubectl sees it.
const name = 'api.example.com';
const dir = mkdtempSync(join(tmpdir(), 'kopsless-kube-sim-'));
const kubeconfig = join(dir, 'config');
let cluster: SimCluster;
let sim: RunningSim | undefined;

const instance = simInstance;
const INSTANCES = [
  instance(1, 'control-plane-us-east-1a'),
  instance(2, 'nodes-us-east-1a'),
  instance(3, 'nodes-us-east-1b'),
];

const kubectl = (...args: string[]) => kubectlIn(kubeconfig, args);
const kubectlFails = (...args: string[]) =>
  kubectlIn(kubeconfig, args).then(
    () => '',
    (error: Error) => error.message,
  );

function deployment(
  replicas: number,
  options: {
    image?: string;
    env?: Array<{ name: string; value: string }>;
    extra?: Record<string, unknown>;
  } = {},
): string {
  const manifest = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'web',
              image: options.image ?? 'nginx:1.27',
              ports: [{ containerPort: 80 }],
              env: options.env ?? [],
            },
          ],
        },
      },
      ...options.extra,
    },
  };
  const path = join(dir, `web-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(manifest));
  return path;
}

beforeEach(async () => {
  await sim?.close();
  cluster = new SimCluster(name, 'v1.32.0');
  cluster.ensureAwsNode([], 'amazon-k8s-cni:v1.23.1');
  cluster.syncInstances(INSTANCES);
  sim = await listen({ cluster: async () => cluster });
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${sim.urlFor(name)}"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`,
  );
});
afterAll(async () => sim?.close());

describe('kubectl apply', () => {
  it('refuses an unknown field by server-side strict validation, naming it', async () => {
    const error = await kubectlFails('apply', '-f', deployment(1, { extra: { replica: 3 } }));

    expect(error).toContain(
      'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replica"',
    );
    expect(cluster.deployments.size).toBe(1);
  });

  it('three-way merges a changed manifest: a removed env var goes, the new template gets a new ReplicaSet', async () => {
    await kubectl(
      'apply',
      '-f',
      deployment(2, {
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
      }),
    );

    await kubectl(
      'apply',
      '-f',
      deployment(2, { image: 'nginx:1.28', env: [{ name: 'B', value: '3' }] }),
    );

    const d = JSON.parse(await kubectl('get', 'deployment', 'web', '-o', 'json'));
    expect(d.spec.template.spec.containers[0]).toMatchObject({
      image: 'nginx:1.28',
      env: [{ name: 'B', value: '3' }],
      ports: [{ containerPort: 80 }],
    });
    const sets = JSON.parse(await kubectl('get', 'replicasets', '-o', 'json')).items.map(
      (rs: {
        spec: { replicas: number; template: { spec: { containers: Array<{ image: string }> } } };
      }) => [rs.spec.template.spec.containers[0]!.image, rs.spec.replicas],
    );
    expect(sets.sort()).toEqual([
      ['nginx:1.27', 0],
      ['nginx:1.28', 2],
    ]);
  });

  it('keeps a scale made since the last apply when the manifest does not change replicas', async () => {
    await kubectl('apply', '-f', deployment(3));
    await kubectl('scale', 'deployment', 'web', '--replicas=5');

    await kubectl('apply', '-f', deployment(3, { image: 'nginx:1.28' }));

    // kubectl's three-way merge sets replicas back to the manifest's 3, as against a real cluster.
    expect(await kubectl('get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas}')).toBe('3');
  });
});

describe('kubectl scale and ReplicaSets', () => {
  it('scales through the scale subresource; pods are named and owned by the ReplicaSet', async () => {
    await kubectl('apply', '-f', deployment(1));

    expect((await kubectl('scale', 'deployment', 'web', '--replicas=4')).trim()).toBe(
      'deployment.apps/web scaled',
    );

    const rs = JSON.parse(await kubectl('get', 'rs', '-o', 'json')).items[0];
    expect(rs.metadata.ownerReferences[0]).toMatchObject({
      kind: 'Deployment',
      name: 'web',
      controller: true,
    });
    const pods = JSON.parse(await kubectl('get', 'pods', '-l', 'app=web', '-o', 'json')).items;
    expect(pods).toHaveLength(4);
    for (const pod of pods) {
      expect(pod.metadata.name).toMatch(new RegExp(`^${rs.metadata.name}-[a-z0-9]{5}$`));
      expect(pod.metadata.ownerReferences[0]).toMatchObject({
        kind: 'ReplicaSet',
        name: rs.metadata.name,
        uid: rs.metadata.uid,
      });
    }
  });

  it('scaling down removes Pending pods before Running ones', async () => {
    await kubectl('apply', '-f', deployment(40));

    await kubectl('scale', 'deployment', 'web', '--replicas=20');

    expect(
      await kubectl(
        'get',
        'pods',
        '-l',
        'app=web',
        '--field-selector',
        'status.phase=Pending',
        '-o',
        'name',
      ),
    ).toBe('');
    expect(
      JSON.parse(await kubectl('get', 'deployment', 'web', '-o', 'json')).status.readyReplicas,
    ).toBe(20);
  });

  it('refuses a negative replica count', async () => {
    await kubectl('apply', '-f', deployment(1));

    expect(await kubectlFails('scale', 'deployment', 'web', '--replicas=-1')).toMatch(
      /replicas|negative/,
    );
    expect(cluster.deployments.get('default/web')!.spec.replicas).toBe(1);
  });
});

describe('selectors through kubectl', () => {
  it('kubectl get nodes -l with set-based selectors', async () => {
    expect(
      await kubectl('get', 'nodes', '-l', '!node-role.kubernetes.io/control-plane', '-o', 'name'),
    ).toBe('node/ip-10-0-0-2.ec2.internal\nnode/ip-10-0-0-3.ec2.internal\n');
    expect(
      await kubectl(
        'get',
        'nodes',
        '-l',
        'kops.k8s.io/instancegroup notin (nodes-us-east-1a,nodes-us-east-1b)',
        '-o',
        'name',
      ),
    ).toBe('node/ip-10-0-0-1.ec2.internal\n');
  });

  it('a malformed selector is a 400 that names it', async () => {
    expect(await kubectlFails('get', 'pods', '--field-selector', 'status.phase')).toContain(
      "can't understand 'status.phase'",
    );
  });
});

describe('events', () => {
  it('kubectl describe node shows the kubelet event of a cordon', async () => {
    await kubectl('cordon', 'ip-10-0-0-2.ec2.internal');

    expect(await kubectl('describe', 'node', 'ip-10-0-0-2.ec2.internal')).toMatch(
      /Normal\s+NodeNotSchedulable\s+\S+\s+kubelet\s+Node ip-10-0-0-2\.ec2\.internal status is now: NodeNotSchedulable/,
    );
  });

  it('serves the same events as events.k8s.io/v1, regarding and note', async () => {
    await kubectl('apply', '-f', deployment(1));

    const events = JSON.parse(await kubectl('get', 'events.v1.events.k8s.io', '-o', 'json')).items;

    const scaled = events.find((e: { reason: string }) => e.reason === 'ScalingReplicaSet');
    expect(scaled).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      regarding: { kind: 'Deployment', name: 'web' },
      reportingController: 'deployment-controller',
    });
    expect(scaled.note).toMatch(/^Scaled up replica set web-[a-z0-9]{10} from 0 to 1$/);
  });
});

describe('system DaemonSets on full nodes', () => {
  const daemonPods = () =>
    [...cluster.pods.values()].filter((p) => p.metadata.ownerReferences?.[0]?.kind === 'DaemonSet');

  it('a changed aws-node preempts workload pods on nodes full with 110 replicas, so it runs on every node', async () => {
    await kubectl('apply', '-f', deployment(110));
    await kubectl(
      'set',
      'env',
      'daemonset',
      'aws-node',
      '-n',
      'kube-system',
      'ENABLE_PREFIX_DELEGATION=true',
    );

    const awsNode = daemonPods().filter((p) => p.metadata.labels['k8s-app'] === 'aws-node');
    expect(awsNode.map((p) => [p.spec.nodeName, p.status.phase, p.spec.priority]).sort()).toEqual(
      INSTANCES.map((i) => [i.privateDnsName, 'Running', 2000001000]),
    );
    expect(
      awsNode.every((p) =>
        p.spec.containers[0].env.some(
          (e: { name: string; value: string }) =>
            e.name === 'ENABLE_PREFIX_DELEGATION' && e.value === 'true',
        ),
      ),
    ).toBe(true);
    expect(
      await kubectl(
        'get',
        'pods',
        '-l',
        'app=web',
        '--field-selector',
        'status.phase=Pending',
        '-o',
        'name',
      ),
    ).not.toBe('');
  });

  it('a DaemonSet pod that finds its node full preempts the lowest-priority pod there, with a Preempted event', async () => {
    const node = 'ip-10-0-0-2.ec2.internal';
    const old = daemonPods().find(
      (p) => p.spec.nodeName === node && p.metadata.labels['k8s-app'] === 'aws-node',
    )!;
    cluster.deletePod(old.metadata.namespace, old.metadata.name);
    const free = 17 - cluster.podsOn(node).length;
    // Pods bound by nodeName skip the scheduler, as on a real cluster: they take the freed slot.
    for (let i = 0; i < free; i++)
      cluster.createPod({
        metadata: { name: `bound-${i}`, namespace: 'default' },
        spec: { nodeName: node, containers: [{ name: 'c', image: 'nginx' }] },
      });

    cluster.reconcile();

    const replacement = daemonPods().find(
      (p) => p.metadata.labels['k8s-app'] === 'aws-node' && p.spec.nodeName === node,
    );
    expect(replacement?.status.phase).toBe('Running');
    expect(cluster.podsOn(node)).toHaveLength(17);
    expect(
      await kubectl(
        'get',
        'events',
        '--field-selector',
        'reason=Preempted',
        '-o',
        'jsonpath={.items[*].message}',
      ),
    ).toMatch(
      new RegExp(
        `^Preempted by pod ${replacement!.metadata.uid} on node ${node.replaceAll('.', '\\.')}$`,
      ),
    );
  });

  it('a node that joins while 110 replicas wait gets its DaemonSet pods first, and never more pods than maxPods', async () => {
    await kubectl('apply', '-f', deployment(110));

    cluster.syncInstances([...INSTANCES, instance(4, 'nodes-us-east-1a')]);

    const onNew = cluster.podsOn('ip-10-0-0-4.ec2.internal');
    expect(onNew).toHaveLength(17);
    expect(
      onNew
        .filter((p) => p.metadata.ownerReferences?.[0]?.kind === 'DaemonSet')
        .map((p) => p.metadata.labels['k8s-app'] ?? p.metadata.labels.app)
        .sort(),
    ).toEqual(['aws-node', 'ebs-csi-node', 'kube-proxy']);
    for (const i of INSTANCES)
      expect(cluster.podsOn(i.privateDnsName).length).toBeLessThanOrEqual(17);
  });
});

describe('OpenAPI and content types', () => {
  it('answers 406 to a protobuf-only /openapi/v2 request and serves it as JSON', async () => {
    const url = `${sim!.urlFor(name)}/openapi/v2`;

    const protobuf = await fetch(url, {
      headers: { Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' },
    });
    const json = await fetch(url, { headers: { Accept: 'application/json' } });

    expect(protobuf.status).toBe(406);
    const doc = (await json.json()) as {
      swagger: string;
      definitions: Record<string, { properties: Record<string, Record<string, string>> }>;
    };
    expect(doc.swagger).toBe('2.0');
    expect(doc.definitions.V1PodSpec!.properties.containers).toMatchObject({
      'x-kubernetes-patch-merge-key': 'name',
      'x-kubernetes-patch-strategy': 'merge',
    });
  });

  it('refuses a server dry run (kubectl diff) instead of applying it', async () => {
    await kubectl('apply', '-f', deployment(1));

    expect(await kubectlFails('diff', '-f', deployment(1, { image: 'nginx:1.28' }))).toContain(
      'does not serve dry runs',
    );
    expect(cluster.deployments.get('default/web')!.spec.template.spec.containers[0].image).toBe(
      'nginx:1.27',
    );
  });

  it('refuses server-side apply instead of treating it as a strategic merge', async () => {
    await kubectl('apply', '-f', deployment(1));

    expect(
      await kubectlFails('apply', '--server-side', '-f', deployment(1, { image: 'nginx:1.28' })),
    ).toContain('does not serve server-side apply');
    expect(cluster.deployments.get('default/web')!.spec.template.spec.containers[0].image).toBe(
      'nginx:1.27',
    );
  });

  it('serves whole objects in table rows when asked, for kubectl get --sort-by', async () => {
    await kubectl('apply', '-f', deployment(1));

    const out = await kubectl('get', 'events', '--sort-by=.lastTimestamp');

    expect(out).toMatch(
      /Normal\s+ScalingReplicaSet\s+deployment\/web\s+Scaled up replica set web-/,
    );
  });

  it('kubectl create deployment (a protobuf body) creates the Deployment and its pods get scheduled', async () => {
    expect(
      (await kubectl('create', 'deployment', 'web', '--image=nginx', '--replicas=3')).trim(),
    ).toBe('deployment.apps/web created');

    const d = JSON.parse(await kubectl('get', 'deployment', 'web', '-o', 'json'));
    expect(d.spec.replicas).toBe(3);
    expect(d.spec.selector).toEqual({ matchLabels: { app: 'web' } });
    expect(d.spec.template.spec.containers).toEqual([
      expect.objectContaining({ name: 'nginx', image: 'nginx' }),
    ]);
    const pods = JSON.parse(await kubectl('get', 'pods', '-l', 'app=web', '-o', 'json')).items;
    expect(pods).toHaveLength(3);
    for (const pod of pods) expect(pod.spec.nodeName).toMatch(/^ip-10-0-0-[23]\.ec2\.internal$/);
  });

  it('kubectl create deployment keeps the port and command it sends', async () => {
    await kubectl(
      'create',
      'deployment',
      'sleeper',
      '--image=busybox:1.36',
      '--port=8080',
      '--',
      'sleep',
      '3600',
    );

    const container = JSON.parse(await kubectl('get', 'deployment', 'sleeper', '-o', 'json')).spec
      .template.spec.containers[0];
    expect(container).toMatchObject({
      image: 'busybox:1.36',
      command: ['sleep', '3600'],
      ports: [{ containerPort: 8080 }],
    });
  });

  it('kubectl create deployment --replicas=0 keeps the zero rather than defaulting to one', async () => {
    await kubectl('create', 'deployment', 'idle', '--image=nginx', '--replicas=0');

    expect(await kubectl('get', 'deployment', 'idle', '-o', 'jsonpath={.spec.replicas}')).toBe('0');
    expect(await kubectl('get', 'pods', '-l', 'app=idle', '-o', 'name')).toBe('');
  });

  it('kubectl create pdb (a protobuf body) creates the PodDisruptionBudget', async () => {
    await kubectl('create', 'pdb', 'web', '--selector=app=web', '--min-available=50%');

    const pdb = JSON.parse(await kubectl('get', 'pdb', 'web', '-o', 'json'));
    expect(pdb.spec).toEqual({ minAvailable: '50%', selector: { matchLabels: { app: 'web' } } });
  });
});

describe('writes the API server refuses or keeps', () => {
  it('refuses a label key that is not a qualified name with a 422 naming metadata.labels, and keeps the labels', async () => {
    await kubectl('apply', '-f', deployment(1));

    const error = await kubectlFails('label', 'deployment', 'web', 'bad key!=v');

    expect(error).toContain(
      'The Deployment "web" is invalid: metadata.labels: Invalid value: "bad key!": name part must consist of alphanumeric characters',
    );
    expect(cluster.deployments.get('default/web')!.metadata.labels).toEqual({ app: 'web' });
  });

  it('refuses a bad label key on a node', async () => {
    const error = await kubectlFails('label', 'node', 'ip-10-0-0-2.ec2.internal', 'a b=c');

    expect(error).toContain(
      'The Node "ip-10-0-0-2.ec2.internal" is invalid: metadata.labels: Invalid value: "a b"',
    );
    expect(cluster.nodes.get('ip-10-0-0-2.ec2.internal')!.metadata.labels).not.toHaveProperty(
      'a b',
    );
  });

  it('keeps a label kubectl label puts on the aws-node DaemonSet', async () => {
    await kubectl('label', 'daemonset', 'aws-node', '-n', 'kube-system', 'team=net');

    expect(
      JSON.parse(await kubectl('get', 'daemonset', 'aws-node', '-n', 'kube-system', '-o', 'json'))
        .metadata.labels,
    ).toMatchObject({ team: 'net' });
  });

  it("refuses a change of a DaemonSet's selector as immutable", async () => {
    const error = await kubectlFails(
      'patch',
      'daemonset',
      'aws-node',
      '-n',
      'kube-system',
      '--type=merge',
      '-p',
      '{"spec":{"selector":{"matchLabels":{"x":"y"}}}}',
    );

    expect(error).toContain(
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"k8s-app":"aws-node", "x":"y"}',
    );
    expect(error).toContain('field is immutable');
  });

  it('refuses a second PodDisruptionBudget of the same name with 409 AlreadyExists and keeps the first', async () => {
    await kubectl('create', 'pdb', 'web', '--selector=app=web', '--min-available=1');

    const error = await kubectlFails(
      'create',
      'pdb',
      'web',
      '--selector=app=other',
      '--min-available=2',
    );

    expect(error).toContain('poddisruptionbudgets.policy "web" already exists');
    expect(JSON.parse(await kubectl('get', 'pdb', 'web', '-o', 'json')).spec).toEqual({
      minAvailable: 1,
      selector: { matchLabels: { app: 'web' } },
    });
  });
});

describe('ReplicaSets of a Deployment', () => {
  it('kubectl rollout undo scales the original ReplicaSet back up instead of making a third', async () => {
    await kubectl('apply', '-f', deployment(2));
    const original = JSON.parse(await kubectl('get', 'replicasets', '-o', 'json')).items[0].metadata
      .name;
    await kubectl('set', 'image', 'deployment/web', 'web=nginx:1.28');

    await kubectl('rollout', 'undo', 'deployment/web');

    const sets = JSON.parse(await kubectl('get', 'replicasets', '-o', 'json')).items.map(
      (rs: { metadata: { name: string }; spec: { replicas: number } }) => [
        rs.metadata.name,
        rs.spec.replicas,
      ],
    );
    expect(sets).toHaveLength(2);
    expect(sets).toContainEqual([original, 2]);
  });
});
