import {
  type AutoScalingClient,
  paginateDescribeAutoScalingGroups,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstanceAttributeCommand,
  type EC2Client,
  type Filter,
  type Instance,
  paginateDescribeInstances,
} from '@aws-sdk/client-ec2';
import { allItems } from '../../aws/pages.js';
import { kubeconfigKey } from '../../kube/from-store.js';
import { regionOfZone } from '../../manifest/region.js';
import { CLUSTER_TAG, INSTANCE_GROUP_TAG } from '../../planning/names.js';
import { kubernetesVersionFromUserData, maxPodsFromUserData } from '../../planning/user-data.js';
import { vpcCniImage } from '../../planning/vpc-cni.js';
import type { ClusterStore } from '../../state/cluster-store.js';
import { storeKey } from '../../state/layout.js';
import type { ObjectStore } from '../../state/object-store.js';
import { type InstanceView, SimCluster, type SimTiming } from './cluster.js';
import { ETCD_PREFIX, type SimBackend } from './server.js';

/**
 * Feeds the simulated API server from the local AWS backend: a cluster's nodes are its running
 * EC2 instances in moto (bastions excepted), each node's pod capacity is the kubelet `maxPods`
 * its user-data sets. Once a control-plane instance runs, the cluster's kubeconfig is written to
 * the state store, where on AWS the control plane's bootstrap puts it.
 */

/** A kubeconfig for one simulated cluster; the token is a placeholder the double does not check. */
export function simKubeconfig(cluster: string, server: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${cluster}`,
    '  cluster:',
    `    server: ${server}`,
    // Plain HTTP on loopback: client-node accepts an http server only with this set.
    '    insecure-skip-tls-verify: true',
    'users:',
    `- name: ${cluster}-admin`,
    '  user:',
    '    token: kopsless-local-simulated',
    'contexts:',
    `- name: ${cluster}`,
    '  context:',
    `    cluster: ${cluster}`,
    `    user: ${cluster}-admin`,
    `current-context: ${cluster}`,
    '',
  ].join('\n');
}

const SYNC_INTERVAL_MS = 300;
/**
 * With an Auto Scaling client, a sync after a change describes only the instances the change
 * concerns; every instance is re-read at most this long (real time) after the last full read, so
 * an instance launched outside any Auto Scaling group still shows up.
 */
const FULL_SYNC_INTERVAL_MS = 120_000;
/** Instance IDs per DescribeInstances `instance-id` filter (EC2 accepts up to 200 values per filter). */
const ID_CHUNK = 200;

export class AwsSimBackend implements SimBackend {
  private readonly clusters = new Map<string, SimCluster>();
  /** When each cluster was last synced, by the wall clock and by the timing clock (a simulated one jumps), and at which count of changes. */
  private readonly synced = new Map<string, { real: number; timed: number; changes?: number }>();
  private readonly kubeletByInstance = new Map<
    string,
    { maxPods: number; kubeletVersion?: string }
  >();
  private readonly inFlight = new Map<string, Promise<SimCluster | undefined>>();
  /** Per cluster, the running instances the last sync saw (as nodes) and when every instance was last read. */
  private readonly known = new Map<string, { views: Map<string, InstanceView>; fullAt: number }>();
  /**
   * Which registration of a cluster each simulated cluster stands for (its bootstrap token, made
   * anew for each): a cluster deleted and created again under the same name starts empty.
   */
  private readonly incarnations = new Map<string, string>();

  constructor(
    private readonly deps: {
      ec2: EC2Client;
      store: ClusterStore;
      objects: ObjectStore;
      urlFor: (cluster: string) => string;
      timing?: SimTiming;
      /**
       * A count of the changing AWS calls made so far (everything but Describe/List/Get), when
       * the caller sees every call that can change instances (the bench, at the SDK): a cluster
       * synced since the count last moved is current, however much time passed, so the sim does
       * not describe every instance again on each poll (moto takes seconds for hundreds).
       */
      changes?: () => number;
      /**
       * Lets a sync read only what changed: new instances are the cluster's Auto Scaling group
       * members it has not seen (moto lists groups fast, but 1,000 instances in some 10 s), gone
       * ones the seen instances no longer running. Without it every sync re-reads every instance.
       */
      autoscaling?: AutoScalingClient;
    },
  ) {}

  /** The cluster, synced with moto unless it was a moment ago (`fresh` syncs regardless). */
  async cluster(name: string, options: { fresh?: boolean } = {}): Promise<SimCluster | undefined> {
    const existing = this.clusters.get(name);
    if (!options.fresh && existing && !this.syncDue(name)) return existing;
    // Concurrent requests share one sync.
    const running =
      this.inFlight.get(name) ?? this.sync(name).finally(() => this.inFlight.delete(name));
    this.inFlight.set(name, running);
    return running;
  }

  private timedNow(): number {
    return this.deps.timing?.now?.() ?? Date.now();
  }

  /**
   * A sync is due once either clock has moved on by the interval: under a simulated clock a Wait
   * passes minutes in no real time, and a poll after it must see the instances launched since.
   */
  private syncDue(name: string): boolean {
    const last = this.synced.get(name);
    if (!last) return true;
    // Every change is seen (the bench counts them): sync after one, at the first request after it, and only then.
    if (this.deps.changes) return this.deps.changes() !== last.changes;
    return (
      Date.now() - last.real >= SYNC_INTERVAL_MS || this.timedNow() - last.timed >= SYNC_INTERVAL_MS
    );
  }

  /**
   * Makes the next sync of every cluster read every instance again: for a caller that replaced
   * the AWS backend under it (the seen instances are no longer there to be asked about).
   */
  forgetInstances(): void {
    this.known.clear();
  }

  /** Syncs every cluster of the state store (the periodic loop, so kubeconfigs appear unasked). */
  async syncAll(): Promise<void> {
    for (const name of await this.deps.store.listClusters()) await this.cluster(name);
  }

  /** What the instance's kubelet runs with, read once from its user-data (which never changes). */
  private async kubelet(instance: Instance): Promise<{ maxPods: number; kubeletVersion?: string }> {
    const id = instance.InstanceId ?? '';
    const cached = this.kubeletByInstance.get(id);
    if (cached !== undefined) return cached;
    const attribute = await this.deps.ec2.send(
      new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'userData' }),
    );
    const userData = Buffer.from(attribute.UserData?.Value ?? '', 'base64').toString('utf8');
    // A kubelet without a maxPods setting runs with its default of 110.
    const maxPods = maxPodsFromUserData(userData) ?? 110;
    // The version its packages are pinned to; an instance launched another way reports the cluster's.
    const kubeletVersion = kubernetesVersionFromUserData(userData);
    const kubelet = { maxPods, ...(kubeletVersion ? { kubeletVersion } : {}) };
    this.kubeletByInstance.set(id, kubelet);
    return kubelet;
  }

  private async sync(name: string): Promise<SimCluster | undefined> {
    // Read first: a change made while this sync describes the instances must be seen by the next.
    // The clocks too: under a simulated clock other executions' Waits move it while the describe
    // runs, and a sync stamped with the later time would make the next poll skip its own sync.
    const changes = this.deps.changes?.();
    const startedAt = { real: Date.now(), timed: this.timedNow() };
    if (!(await this.deps.store.exists(name))) {
      this.clusters.delete(name);
      this.known.delete(name);
      this.incarnations.delete(name);
      return undefined;
    }
    const incarnation = (await this.deps.objects.get(storeKey.bootstrapToken(name)))?.body ?? '';
    if (this.incarnations.get(name) !== incarnation) {
      this.clusters.delete(name);
      this.known.delete(name);
      this.incarnations.set(name, incarnation);
    }
    const manifest = await this.deps.store.readCompletedManifest(name);
    const version = manifest.cluster.spec.kubernetesVersion ?? 'v1.32.0';
    let cluster = this.clusters.get(name);
    if (!cluster) {
      cluster = new SimCluster(
        name,
        version.startsWith('v') ? version : `v${version}`,
        this.deps.timing,
      );
      const amazonvpc = manifest.cluster.spec.networking?.amazonvpc;
      if (amazonvpc) cluster.ensureAwsNode(amazonvpc.env ?? [], amazonvpc.image ?? vpcCniImage());
      this.clusters.set(name, cluster);
    }
    const views = [...(await this.runningInstances(name)).values()];
    cluster.syncInstances(views);
    this.synced.set(name, { ...startedAt, ...(changes !== undefined ? { changes } : {}) });
    if (views.some((v) => v.controlPlane)) {
      const wanted = simKubeconfig(name, this.deps.urlFor(name));
      const current = await this.deps.objects.get(kubeconfigKey(name));
      if (current?.body !== wanted) await this.deps.objects.put(kubeconfigKey(name), wanted);
      // What the control plane's boot script publishes for the member API; here etcd is served by the simulated API.
      const access = JSON.stringify({ endpoints: [`${this.deps.urlFor(name)}${ETCD_PREFIX}`] });
      const published = await this.deps.objects.get(storeKey.etcdClient(name));
      if (published?.body !== access)
        await this.deps.objects.put(storeKey.etcdClient(name), access);
    }
    return cluster;
  }

  /** The cluster's running instances (bastions excepted) by ID: all read again, or the last set updated by what changed. */
  private async runningInstances(name: string): Promise<Map<string, InstanceView>> {
    const clusterFilter: Filter = { Name: `tag:${CLUSTER_TAG}`, Values: [name] };
    const running: Filter = { Name: 'instance-state-name', Values: ['running'] };
    const previous = this.known.get(name);
    const autoscaling = this.deps.autoscaling;
    if (!autoscaling || !previous || Date.now() - previous.fullAt >= FULL_SYNC_INTERVAL_MS) {
      // Read the clock first: what changes during the read is caught by the next incremental sync.
      const fullAt = Date.now();
      const views = await this.views(await this.describe([clusterFilter, running]));
      this.known.set(name, { views, fullAt });
      return views;
    }
    const views = new Map(previous.views);
    const groups = await allItems(
      paginateDescribeAutoScalingGroups(
        { client: autoscaling },
        { Filters: [{ Name: `tag:${CLUSTER_TAG}`, Values: [name] }] },
      ),
      (p) => p.AutoScalingGroups,
    );
    const members = groups
      .flatMap((g) => (g.Instances ?? []).map((i) => i.InstanceId ?? ''))
      .filter((id) => id !== '');
    // Members not yet running stay unseen, and are asked about again at the next sync.
    const unseen = members.filter((id) => !views.has(id));
    for (const chunk of chunks(unseen)) {
      for (const [id, view] of await this.views(
        await this.describe([clusterFilter, running, { Name: 'instance-id', Values: chunk }]),
      ))
        views.set(id, view);
    }
    // Seen instances that stopped running: those no longer in a group (detached, terminated
    // through the group, or their group deleted) are asked about; a member ended from EC2 while
    // its group still lists it is caught by the next full read. At 1,000 nodes asking about every
    // seen instance took five describes of 200 IDs on every sync.
    const notRunning: Filter = {
      Name: 'instance-state-name',
      Values: ['pending', 'shutting-down', 'terminated', 'stopping', 'stopped'],
    };
    const memberIds = new Set(members);
    for (const chunk of chunks([...previous.views.keys()].filter((id) => !memberIds.has(id)))) {
      for (const instance of await this.describe([
        { Name: 'instance-id', Values: chunk },
        notRunning,
      ]))
        views.delete(instance.InstanceId ?? '');
    }
    this.known.set(name, { views, fullAt: previous.fullAt });
    return views;
  }

  private describe(filters: Filter[]): Promise<Instance[]> {
    return allItems(
      paginateDescribeInstances({ client: this.deps.ec2 }, { Filters: filters }),
      (p) => (p.Reservations ?? []).flatMap((r) => r.Instances ?? []),
    );
  }

  /** The nodes the instances become, by instance ID; bastions are no nodes. */
  private async views(instances: Instance[]): Promise<Map<string, InstanceView>> {
    const views = new Map<string, InstanceView>();
    for (const instance of instances) {
      const tags = Object.fromEntries(
        (instance.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']),
      );
      if (tags['k8s.io/role/bastion']) continue;
      const instanceId = instance.InstanceId ?? '';
      views.set(instanceId, {
        instanceId,
        zone: instance.Placement?.AvailabilityZone ?? '',
        privateIp: instance.PrivateIpAddress ?? '',
        privateDnsName:
          instance.PrivateDnsName ||
          privateDnsName(
            instance.PrivateIpAddress ?? '0.0.0.0',
            instance.Placement?.AvailabilityZone ?? '',
          ),
        instanceType: instance.InstanceType ?? '',
        instanceGroup: tags[INSTANCE_GROUP_TAG] ?? '',
        controlPlane: tags['k8s.io/role/control-plane'] !== undefined,
        ...(await this.kubelet(instance)),
      });
    }
    return views;
  }
}

function chunks(ids: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += ID_CHUNK) out.push(ids.slice(i, i + ID_CHUNK));
  return out;
}

/** EC2's private DNS name of an address: `ec2.internal` in us-east-1, `<region>.compute.internal` elsewhere. */
function privateDnsName(ip: string, zone: string): string {
  const region = regionOfZone(zone);
  const domain = region === 'us-east-1' || !region ? 'ec2.internal' : `${region}.compute.internal`;
  return `ip-${ip.replace(/\./g, '-')}.${domain}`;
}
