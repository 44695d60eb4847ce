/**
 * Pods shaped as an API server returns them once the kubelet has reported them: the Deployment
 * controller's metadata (generated name, pod-template-hash, owner reference, managed fields),
 * the admission defaults (service account token volume, tolerations, priority, DNS policy), the
 * containers a typical web workload declares (env from fields and config, probes, resources,
 * mounts, a log-shipping sidecar on one pod in three) and the kubelet's status (five
 * conditions, IPs, container IDs and image digests, QoS class).
 *
 * What every pod of a workload shares (its spec, the managed fields) is built once and shared
 * by reference; only names, IDs, IPs and times are made per pod, from its index, so generating
 * a pod costs a few small objects and the same index always gives the same pod.
 */

import { RUNNING_POD_CONDITIONS } from '../../src/local/kube-sim/pod-store.js';

/** A deterministic hex string of `length` characters from a number (FNV-1a, repeated). */
export function hexOf(seed: number, length: number): string {
  let out = '';
  let h = (0x811c9dc5 ^ seed) >>> 0;
  while (out.length < length) {
    h = Math.imul(h ^ (h >>> 15), 0x01000193) >>> 0;
    h = (h ^ seed ^ out.length) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, length);
}

/** A UUID-shaped ID from a seed, as the API server gives `metadata.uid`. */
export function uidOf(seed: number): string {
  const h = hexOf(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const ALPHANUMERIC = 'bcdfghjklmnpqrstvwxz2456789';
/** The five characters the API server appends to a generated name. */
function nameSuffix(seed: number): string {
  const h = hexOf(seed * 7 + 3, 10);
  let out = '';
  for (let i = 0; i < 5; i++)
    out += ALPHANUMERIC[Number.parseInt(h.slice(i * 2, i * 2 + 2), 16) % ALPHANUMERIC.length];
  return out;
}

/** The workloads pods belong to: one Deployment per ten nodes' worth of pods, each its own spec. */
const WORKLOADS = ['web', 'api', 'checkout', 'search', 'worker', 'cart', 'catalog', 'auth'];
const CREATED = '2026-11-20T08:14:03Z';
const STARTED = '2026-11-20T08:14:21Z';
const READY = '2026-11-20T08:14:33Z';

interface Workload {
  name: string;
  templateHash: string;
  replicaSetUid: string;
  spec: object;
  managedFields: object[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  images: Array<{ name: string; image: string; imageID: string }>;
}

function container(app: string, index: number): object {
  return {
    name: app,
    image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/${app}:v2.${index + 14}.3`,
    imagePullPolicy: 'IfNotPresent',
    command: ['/app/server'],
    args: ['--config=/etc/app/config.yaml', '--listen=:8080', '--metrics=:9090'],
    ports: [
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ],
    env: [
      {
        name: 'POD_NAME',
        valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } },
      },
      {
        name: 'POD_NAMESPACE',
        valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } },
      },
      { name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } },
      {
        name: 'NODE_NAME',
        valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } },
      },
      {
        name: 'GOMEMLIMIT',
        valueFrom: {
          resourceFieldRef: { containerName: app, resource: 'limits.memory', divisor: '1' },
        },
      },
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://otel-collector.observability:4317' },
      { name: 'OTEL_SERVICE_NAME', value: app },
      {
        name: 'DATABASE_PASSWORD',
        valueFrom: { secretKeyRef: { name: `${app}-db`, key: 'password' } },
      },
    ],
    resources: {
      limits: { cpu: '1', memory: '512Mi' },
      requests: { cpu: '100m', memory: '256Mi' },
    },
    volumeMounts: [
      { name: 'config', readOnly: true, mountPath: '/etc/app' },
      { name: 'tmp', mountPath: '/tmp' },
      {
        name: `kube-api-access-${hexOf(index, 5)}`,
        readOnly: true,
        mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
      },
    ],
    livenessProbe: {
      httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' },
      initialDelaySeconds: 10,
      timeoutSeconds: 2,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    },
    readinessProbe: {
      httpGet: { path: '/readyz', port: 'http', scheme: 'HTTP' },
      timeoutSeconds: 1,
      periodSeconds: 5,
      successThreshold: 1,
      failureThreshold: 3,
    },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    securityContext: {
      capabilities: { drop: ['ALL'] },
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    },
  };
}

const SIDECAR = {
  name: 'log-shipper',
  image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4',
  imagePullPolicy: 'IfNotPresent',
  env: [{ name: 'AWS_REGION', value: 'us-east-1' }],
  resources: { limits: { memory: '128Mi' }, requests: { cpu: '20m', memory: '64Mi' } },
  volumeMounts: [{ name: 'tmp', readOnly: true, mountPath: '/var/log/app' }],
  terminationMessagePath: '/dev/termination-log',
  terminationMessagePolicy: 'File',
};

/** What kube-controller-manager and the kubelet record in `managedFields` for such a pod. */
function managedFields(app: string, replicaSetUid: string, sidecar: boolean): object[] {
  const containerFields = {
    'f:args': {},
    'f:command': {},
    'f:env': {
      '.': {},
      'k:{"name":"DATABASE_PASSWORD"}': {
        '.': {},
        'f:name': {},
        'f:valueFrom': { '.': {}, 'f:secretKeyRef': {} },
      },
      'k:{"name":"LOG_LEVEL"}': { '.': {}, 'f:name': {}, 'f:value': {} },
      'k:{"name":"POD_IP"}': {
        '.': {},
        'f:name': {},
        'f:valueFrom': { '.': {}, 'f:fieldRef': {} },
      },
      'k:{"name":"POD_NAME"}': {
        '.': {},
        'f:name': {},
        'f:valueFrom': { '.': {}, 'f:fieldRef': {} },
      },
    },
    'f:image': {},
    'f:imagePullPolicy': {},
    'f:livenessProbe': { '.': {}, 'f:httpGet': { '.': {}, 'f:path': {}, 'f:port': {} } },
    'f:ports': { '.': {}, 'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:name': {} } },
    'f:readinessProbe': { '.': {}, 'f:httpGet': { '.': {}, 'f:path': {}, 'f:port': {} } },
    'f:resources': { '.': {}, 'f:limits': {}, 'f:requests': {} },
    'f:volumeMounts': {
      '.': {},
      'k:{"mountPath":"/etc/app"}': { '.': {}, 'f:mountPath': {}, 'f:name': {} },
    },
  };
  const status = (name: string) => ({
    [`k:{"type":"${name}"}`]: {
      '.': {},
      'f:lastProbeTime': {},
      'f:lastTransitionTime': {},
      'f:status': {},
      'f:type': {},
    },
  });
  return [
    {
      manager: 'kube-controller-manager',
      operation: 'Update',
      apiVersion: 'v1',
      time: CREATED,
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': {
          'f:generateName': {},
          'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {} },
          'f:ownerReferences': { '.': {}, [`k:{"uid":"${replicaSetUid}"}`]: {} },
        },
        'f:spec': {
          'f:containers': {
            [`k:{"name":"${app}"}`]: containerFields,
            ...(sidecar
              ? { 'k:{"name":"log-shipper"}': { '.': {}, 'f:image': {}, 'f:name': {} } }
              : {}),
          },
          'f:dnsPolicy': {},
          'f:enableServiceLinks': {},
          'f:restartPolicy': {},
          'f:schedulerName': {},
          'f:securityContext': {},
          'f:terminationGracePeriodSeconds': {},
          'f:topologySpreadConstraints': {},
          'f:volumes': {},
        },
      },
    },
    {
      manager: 'kubelet',
      operation: 'Update',
      apiVersion: 'v1',
      time: READY,
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:status': {
          'f:conditions': {
            ...status('ContainersReady'),
            ...status('Initialized'),
            ...status('PodReadyToStartContainers'),
            ...status('Ready'),
          },
          'f:containerStatuses': {},
          'f:hostIP': {},
          'f:hostIPs': {},
          'f:phase': {},
          'f:podIP': {},
          'f:podIPs': { '.': {} },
          'f:startTime': {},
        },
      },
      subresource: 'status',
    },
  ];
}

function workload(w: number): Workload {
  const app = WORKLOADS[w % WORKLOADS.length]!;
  const name = w < WORKLOADS.length ? app : `${app}-${Math.floor(w / WORKLOADS.length)}`;
  const sidecar = w % 3 === 0;
  const templateHash = hexOf(w + 1000, 10).replace(/[aeiou]/g, 'b');
  const image = (c: { name: string; image: string }) => ({
    name: c.name,
    image: c.image,
    imageID: `${c.image.split(':')[0]}@sha256:${hexOf(w * 31 + c.name.length, 64)}`,
  });
  const app1 = container(name, w) as { name: string; image: string };
  const replicaSetUid = uidOf(w + 5000);
  return {
    name,
    templateHash,
    replicaSetUid,
    labels: {
      app: name,
      'app.kubernetes.io/name': name,
      'app.kubernetes.io/part-of': 'shop',
      'pod-template-hash': templateHash,
    },
    annotations: {
      'kubectl.kubernetes.io/restartedAt': '2026-11-20T08:13:58Z',
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '9090',
    },
    images: [image(app1), ...(sidecar ? [image(SIDECAR)] : [])],
    managedFields: managedFields(name, replicaSetUid, sidecar),
    spec: {
      volumes: [
        { name: 'config', configMap: { name: `${name}-config`, defaultMode: 420 } },
        { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
        {
          name: `kube-api-access-${hexOf(w, 5)}`,
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              {
                configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
              },
              {
                downwardAPI: {
                  items: [
                    {
                      path: 'namespace',
                      fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' },
                    },
                  ],
                },
              },
            ],
            defaultMode: 420,
          },
        },
      ],
      containers: [app1, ...(sidecar ? [SIDECAR] : [])],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: name,
      serviceAccount: name,
      securityContext: {
        runAsUser: 10001,
        fsGroup: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      schedulerName: 'default-scheduler',
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
        {
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ],
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'topology.kubernetes.io/zone',
          whenUnsatisfiable: 'ScheduleAnyway',
          labelSelector: { matchLabels: { app: name } },
        },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
  };
}

/** Workloads are built once each and shared by every pod of theirs. */
const workloads = new Map<number, Workload>();
function workloadOf(w: number): Workload {
  let found = workloads.get(w);
  if (!found) {
    found = workload(w);
    workloads.set(w, found);
  }
  return found;
}

/** Where pod `index` runs and what it is called; what a Table row prints of it. */
export interface PodPlacement {
  index: number;
  name: string;
  namespace: string;
  nodeName: string;
  hostIP: string;
  podIP: string;
  containers: number;
}

/** Pods a workload has: about ten nodes' worth, so a large cluster has many workloads. */
const PODS_PER_WORKLOAD = 1000;

export function placement(index: number, nodeName: string, nodeIndex: number): PodPlacement {
  const w = workloadOf(Math.floor(index / PODS_PER_WORKLOAD));
  return {
    index,
    name: `${w.name}-${w.templateHash}-${nameSuffix(index)}`,
    namespace: 'shop',
    nodeName,
    hostIP: `10.${20 + ((nodeIndex >> 16) & 0x3f)}.${(nodeIndex >> 8) & 255}.${nodeIndex & 255}`,
    podIP: `100.${64 + ((index >> 16) & 0x3f)}.${(index >> 8) & 255}.${index & 255}`,
    containers: (w.spec as { containers: unknown[] }).containers.length,
  };
}

/** The pod's metadata as the API server serves it (also a PartialObjectMetadata's). */
export function podMetadata(p: PodPlacement): object {
  const w = workloadOf(Math.floor(p.index / PODS_PER_WORKLOAD));
  return {
    name: p.name,
    generateName: `${w.name}-${w.templateHash}-`,
    namespace: p.namespace,
    uid: uidOf(p.index),
    resourceVersion: String(1_000_000 + p.index),
    creationTimestamp: CREATED,
    labels: w.labels,
    annotations: w.annotations,
    ownerReferences: [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: `${w.name}-${w.templateHash}`,
        uid: w.replicaSetUid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
    managedFields: w.managedFields,
  };
}

/** The whole pod, Running and Ready on its node, as the kubelet reported it. */
export function kubeletPod(p: PodPlacement): object {
  const w = workloadOf(Math.floor(p.index / PODS_PER_WORKLOAD));
  const condition = (type: string) => ({
    type,
    status: 'True',
    lastProbeTime: null,
    lastTransitionTime: type === 'PodScheduled' ? CREATED : READY,
  });
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: podMetadata(p),
    spec: { ...w.spec, nodeName: p.nodeName },
    status: {
      phase: 'Running',
      conditions: RUNNING_POD_CONDITIONS.map(condition),
      hostIP: p.hostIP,
      hostIPs: [{ ip: p.hostIP }],
      podIP: p.podIP,
      podIPs: [{ ip: p.podIP }],
      startTime: CREATED,
      containerStatuses: w.images.map((c, i) => ({
        name: c.name,
        state: { running: { startedAt: STARTED } },
        lastState: {},
        ready: true,
        restartCount: 0,
        image: c.image,
        imageID: c.imageID,
        containerID: `containerd://${hexOf(p.index * 4 + i, 64)}`,
        started: true,
      })),
      qosClass: 'Burstable',
    },
  };
}
