import {
  CreateNetworkInterfaceCommand,
  CreateVolumeCommand,
  DescribeSubnetsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { CreateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import {
  type FunctionLogicalId,
  STATE_MACHINES,
  type StateMachineName,
} from '../../src/functions-registry.js';
import { kubeForCluster } from '../../src/kube/from-store.js';
import {
  type AwsCallObserver,
  inFunction,
  observeAwsCalls,
} from '../../src/local/instrument/aws-calls.js';
import { startKubeSim } from '../../src/local/kube-sim/index.js';
import {
  type LocalSettings,
  lambdaContext,
  localHandler,
  localSettingsFromEnv,
  withClusterApiFunctions,
} from '../../src/local/sfn/handlers.js';
import { runStateMachine } from '../../src/local/sfn/step-functions.js';
import { checkManifest } from '../../src/manifest/check.js';
import { manifestFromFlags } from '../../src/manifest/create-cluster.js';
import { toManifestYaml } from '../../src/manifest/yaml.js';
import { ClusterStore } from '../../src/state/cluster-store.js';
import { s3ObjectStore } from '../../src/state/object-store.js';
import { readFixture } from '../helpers.js';
import { kubeconfigFile, kubectlIn, type TestEnvironment } from '../support/cluster.js';
import { startTestBackend } from '../support/moto.js';
import { ACCOUNT, REGION, STACK_NAME } from './policies.js';

/**
 * The whole lifecycle of one cluster on the local backend, every function's handler run as the
 * state machines (and the API and EventBridge) run it: create, update, rolling update, the ENI
 * watcher acting, the API's routes, delete. `observer` sees every AWS call a handler makes.
 */
export const LIFECYCLE_CLUSTER = 'iam.example.com';

/** The manifest the lifecycle creates: the seed cluster under LIFECYCLE_CLUSTER's name. */
export function lifecycleManifest(): string {
  return readFixture('seed.yaml').replaceAll('seed.example.com', LIFECYCLE_CLUSTER);
}

/** Every manifest the lifecycle creates a cluster from: the seed cluster and a private one. */
export function lifecycleManifests(): string[] {
  return [lifecycleManifest(), privateManifestText()];
}

function privateManifestText(): string {
  return [PRIVATE_CLUSTER.cluster, ...PRIVATE_CLUSTER.instanceGroups]
    .map((d) => toManifestYaml(d))
    .join('---\n');
}

const PRIVATE_CLUSTER = manifestFromFlags({
  name: 'private.iam.example.com',
  zones: ['us-east-1a'],
  topology: 'private',
  bastion: true,
  nodeCount: 1,
  nodeSize: 't3.medium',
  controlPlaneSize: 't3.medium',
});

function step(
  name: string,
  result: { status: string; error?: { name: string; cause: string } },
): void {
  if (result.status !== 'SUCCEEDED')
    throw new Error(`${name} failed: ${result.error?.name}: ${result.error?.cause}`);
}

function apiEvent(method: string, resource: string, params: Record<string, string>, body?: string) {
  const path = resource.replace(/\{(\w+)\}/g, (_, p: string) => encodeURIComponent(params[p]!));
  return {
    resource,
    path,
    httpMethod: method,
    headers: { 'Content-Type': body?.startsWith('{') ? 'application/json' : 'application/yaml' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: Object.keys(params).length > 0 ? params : null,
    stageVariables: null,
    requestContext: {
      resourcePath: resource,
      httpMethod: method,
      path: `/v1${path}`,
      stage: 'v1',
      requestId: crypto.randomUUID(),
      accountId: ACCOUNT,
      apiId: 'local',
      identity: { sourceIp: '127.0.0.1' },
    },
    body: body ?? null,
    isBase64Encoded: false,
  };
}

async function invoke(
  functionId: FunctionLogicalId,
  event: unknown,
  settings: LocalSettings,
): Promise<unknown> {
  const handler = await localHandler(functionId, settings);
  return inFunction(functionId, () => handler(event, lambdaContext(`kopsless-${functionId}`)));
}

/** One API request; anything but a 2xx means the lifecycle did not go as planned. */
async function api(
  settings: LocalSettings,
  method: string,
  resource: string,
  params: Record<string, string>,
  body?: string,
): Promise<Record<string, unknown>> {
  const response = (await invoke(
    'ApiFunction',
    apiEvent(method, resource, params, body),
    settings,
  )) as { statusCode: number; body: string };
  if (response.statusCode >= 300)
    throw new Error(`API ${method} ${resource} answered ${response.statusCode}: ${response.body}`);
  return JSON.parse(response.body) as Record<string, unknown>;
}

export async function runLifecycle(
  observer: AwsCallObserver,
  log: (line: string) => void = () => undefined,
): Promise<{ hostedZoneId: string }> {
  const cluster = LIFECYCLE_CLUSTER;
  const backend = await startTestBackend();
  // The simulated control plane publishes its kubeconfig under the secrets key, as the real one does.
  const objects = s3ObjectStore(new S3Client({}), backend.bucket, {
    secretsKey: process.env.SECRETS_KEY_ARN,
  });
  const store = new ClusterStore(objects);
  // The simulated API server's own EC2 calls happen outside any function: they are not recorded.
  const sim = await startKubeSim({ ec2: new EC2Client({}), store, objects });
  const localKubeApi = `http://127.0.0.1:${sim.port}`;
  try {
    // The state machines exist in moto for the API and the watcher to start (moto does not run them).
    const sfn = new SFNClient({});
    const stateMachines = {} as Record<StateMachineName, string>;
    for (const [logicalId, name] of Object.entries(STATE_MACHINES)) {
      const out = await sfn.send(
        new CreateStateMachineCommand({
          name: `${STACK_NAME}-${name}`,
          roleArn: `arn:aws:iam::${ACCOUNT}:role/${STACK_NAME}-${logicalId}Role`,
          definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }),
        }),
      );
      stateMachines[name] = out.stateMachineArn!;
    }
    const backendSettings = localSettingsFromEnv(process.env);
    // The clusters' API functions are built from these settings (with the simulated API's address).
    const settings: LocalSettings = withClusterApiFunctions({
      ...backendSettings,
      runtime: { ...backendSettings.runtime, localKubeApi },
      // The watcher's two runs below come seconds apart and stand in for two scheduled runs.
      config: {
        ...backendSettings.config,
        region: REGION,
        deployment: STACK_NAME,
        watcher: {
          ...backendSettings.config.watcher,
          minObservationIntervalSeconds: 0,
          eventDebounceSeconds: 0,
          rollingUpdateStateMachineArn: stateMachines['rolling-update'],
        },
      },
      api: { stateBucket: backend.bucket, stateMachines },
    });
    const stop = observeAwsCalls(observer);
    try {
      // Two t3.medium nodes, more pods than their slots: the watcher will act.
      const manifest = lifecycleManifest();
      log('api: create');
      await api(settings, 'POST', '/clusters', {}, manifest);
      log('create-cluster');
      step(
        'create-cluster',
        await runStateMachine('create-cluster', { input: { manifest }, waitMs: 20, settings }),
      );
      await sim.backend.cluster(cluster);

      log('update-cluster');
      const current = await store.readManifest(cluster);
      // A node group and the control plane change (the roll surges one, terminates in place the
      // other) and so does the stack (SSH sources replaced: UpdateStack adds and removes rules).
      current.instanceGroups.find(
        (ig) => ig.metadata.name === 'nodes-us-east-1a',
      )!.spec.machineType = 't3.large';
      current.instanceGroups.find(
        (ig) => ig.spec.role === 'Master' || ig.spec.role === 'ControlPlane',
      )!.spec.machineType = 't3.large';
      current.cluster.spec.sshAccess = ['198.51.100.0/24'];
      const check = checkManifest(
        [current.cluster, ...current.instanceGroups].map((d) => JSON.stringify(d)).join('\n---\n'),
      );
      await store.writeSpecs(check.manifest!, check.completed!);
      await api(settings, 'POST', '/clusters/{name}/update', { name: cluster });
      step(
        'update-cluster',
        await runStateMachine('update-cluster', { input: { cluster }, waitMs: 20, settings }),
      );
      log('rolling-update');
      await api(settings, 'POST', '/clusters/{name}/rolling-update', { name: cluster }, '{}');
      step(
        'rolling-update',
        await runStateMachine('rolling-update', {
          input: { cluster, instanceGroups: [], force: false, cloudOnly: false },
          waitMs: 20,
          settings,
        }),
      );

      log('eni watcher');
      await sim.backend.cluster(cluster, { fresh: true });
      const deployment = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          replicas: 40,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'nginx' }] },
          },
        },
      };
      await kubectlIn(
        kubeconfigFile({ sim } as TestEnvironment, cluster),
        ['create', '--validate=false', '-f', '-'],
        JSON.stringify(deployment),
      );
      await invoke(
        'WatchEniFunction',
        { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} },
        settings,
      );
      await sim.backend.cluster(cluster);
      const instanceId = (
        await (await kubeForCluster(objects, cluster, { localKubeApi }))!.listNodes()
      )[0]!.instanceId;
      const watched = (await invoke(
        'WatchEniFunction',
        {
          source: 'aws.ec2',
          'detail-type': 'EC2 Instance State-change Notification',
          detail: { 'instance-id': instanceId, state: 'running' },
        },
        settings,
      )) as {
        results: Array<{ start?: { input: Record<string, unknown> } }>;
      };
      const start = watched.results[0]?.start;
      if (!start)
        throw new Error('the ENI watcher did not act: the lifecycle cannot show its calls');
      step(
        'rolling-update (watcher)',
        await runStateMachine('rolling-update', {
          input: start.input as never,
          waitMs: 20,
          settings,
        }),
      );

      log('api: reads');
      await api(settings, 'GET', '/clusters', {});
      await api(settings, 'GET', '/clusters/{name}', { name: cluster });
      const { executionId } = await api(settings, 'DELETE', '/clusters/{name}', { name: cluster });
      await api(settings, 'GET', '/clusters/{name}/executions/{id}', {
        name: cluster,
        id: String(executionId),
      });

      // What delete must also find: the control plane's etcd volume (its boot script creates it on
      // AWS) and a network interface the VPC CNI left behind (made here, outside any function).
      const ec2 = new EC2Client({});
      const subnets = await ec2.send(
        new DescribeSubnetsCommand({
          Filters: [{ Name: 'tag:KubernetesCluster', Values: [cluster] }],
        }),
      );
      await ec2.send(
        new CreateNetworkInterfaceCommand({
          SubnetId: subnets.Subnets![0]!.SubnetId!,
          Description: 'aws-K8S-i-0123456789abcdef0',
          TagSpecifications: [
            {
              ResourceType: 'network-interface',
              Tags: [
                { Key: 'cluster.k8s.amazonaws.com/name', Value: cluster },
                // What the boot script's ADDITIONAL_ENI_TAGS has the CNI add.
                { Key: 'KubernetesCluster', Value: cluster },
                { Key: `kubernetes.io/cluster/${cluster}`, Value: 'owned' },
                { Key: 'kopsless.io/owner', Value: 'kopsless' },
              ],
            },
          ],
        }),
      );
      await ec2.send(
        new CreateVolumeCommand({
          AvailabilityZone: 'us-east-1a',
          Size: 20,
          TagSpecifications: [
            {
              ResourceType: 'volume',
              Tags: [
                { Key: 'KubernetesCluster', Value: cluster },
                { Key: `kubernetes.io/cluster/${cluster}`, Value: 'owned' },
                { Key: 'kopsless.io/owner', Value: 'kopsless' },
                { Key: 'kopsless.io/etcd', Value: 'control-plane-us-east-1a' },
              ],
            },
          ],
        }),
      );
      log('delete-cluster');
      step(
        'delete-cluster',
        await runStateMachine('delete-cluster', { input: { cluster }, waitMs: 20, settings }),
      );

      // A private topology has what the public one lacks: NAT gateways, their addresses, a bastion,
      // and (kOps's default without a zone) DNS none: the API behind a Network Load Balancer, which
      // a control-plane instance leaves before the roll terminates it.
      log('private topology: create, roll the control plane, delete');
      const privateManifest = privateManifestText();
      step(
        'create-cluster (private)',
        await runStateMachine('create-cluster', {
          input: { manifest: privateManifest },
          waitMs: 20,
          settings,
        }),
      );
      await sim.backend.cluster(PRIVATE_CLUSTER.cluster.metadata.name);
      step(
        'rolling-update (private control plane)',
        await runStateMachine('rolling-update', {
          input: {
            cluster: PRIVATE_CLUSTER.cluster.metadata.name,
            instanceGroups: PRIVATE_CLUSTER.instanceGroups
              .filter((ig) => ig.spec.role === 'Master')
              .map((ig) => ig.metadata.name),
            force: true,
            cloudOnly: false,
          },
          waitMs: 20,
          settings,
        }),
      );
      step(
        'delete-cluster (private)',
        await runStateMachine('delete-cluster', {
          input: { cluster: PRIVATE_CLUSTER.cluster.metadata.name },
          waitMs: 20,
          settings,
        }),
      );
    } finally {
      stop();
    }
  } finally {
    await sim.close();
    backend.stop();
  }
  return { hostedZoneId: backend.zoneId };
}
