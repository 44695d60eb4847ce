import { AWS_DURATIONS } from '../../src/local/aws-timing/durations.js';

/**
 * A model of how long kOps takes from `kops create cluster --yes` until `kops validate cluster
 * --wait` passes, for the bench's create rows (`kopsModelSeconds`). Like the roll's model
 * (kops-model.ts) it schedules what kOps does in simulated seconds; kopsless's own time comes
 * from running its state machine against the simulated AWS durations. AWS's durations are the
 * same figures (src/local/aws-timing/durations.ts); what is kOps's own is read from
 * kubernetes/kops at commit 268927e26409f861634e18f3632c9dd483c350cf:
 *
 * - upup/pkg/fi/executor.go, `RunTasks`: cloudup runs its task graph in rounds: every task whose
 *   dependencies are done runs in one fork-join round, and the next round starts when the round's
 *   slowest task returns. A task that fails is tried again next round; when no task made
 *   progress the executor sleeps `WaitAfterAllTasksFailed` (10 s) first.
 * - upup/pkg/fi/cloudup/awstasks/autoscalinggroup.go: CreateAutoScalingGroup answered "Invalid
 *   IAM Instance Profile name" is TryAgainLater ("waiting for the IAM Instance Profile to be
 *   propagated"): the ASG is made once the profile made earlier in the same run has propagated.
 * - awstasks/route.go: a route to a NAT gateway is retried while the gateway is not found; kOps
 *   does not wait for the gateway to be available (a private node's downloads do).
 * - The task graph (awstasks/*.go, each task's fields are its dependencies): the VPC, the IAM
 *   roles and instance profiles and the SSH key need nothing (round 1); security groups and
 *   subnets need the VPC (round 2); a launch template needs its instance profile, security
 *   groups and SSH key (round 3); an Auto Scaling group its launch template and subnets (round 4).
 * - dns-controller/cmd/dns-controller/main.go: `--update-interval` 5 s; pkg/dns/dnscontroller.go:
 *   records with a TTL of one minute. kOps pre-creates `api` and `api.internal` with the
 *   placeholder 203.0.113.123; dns-controller, a pod on the control plane, points them at the
 *   control plane once the API server runs, and nodes join through `api.internal`.
 * - cmd/kops/validate_cluster.go: `--wait` validates every `--interval` (10 s) until one passes
 *   (`--count` 0: the first success ends it).
 *
 * The control plane serves the API `nodeJoinSeconds` before a node launched with it is Ready (its
 * own kubelet registers and its CNI starts in that time): 120 s after launch, as for kopsless,
 * whose simulated API makes every node Ready 150 s after launch and so has its workers find the
 * API serving by then. Favourable to kOps wherever it has to guess: each API round takes 1 s;
 * preparing the spec, the keystore and the state store 5 s; a node's resolver sees the new
 * records as soon as Route53 has them (no placeholder left in its cache for the TTL);
 * etcd-manager starts as fast as kopsless's etcd; no ASG launch is throttled.
 */

/** kOps's own timings, in seconds. */
export const KOPS_CREATE = {
  /** `create cluster`: completing the spec, writing the state store and keystore (an assumption). */
  prepareSeconds: 5,
  /** One round of cloudup's executor: its tasks' API calls, side by side (an assumption, kind to kOps). */
  roundSeconds: 1,
  /** The round in which the Auto Scaling groups are first tried. */
  asgRound: 4,
  /** The round in which the instance profiles are made. */
  instanceProfileRound: 1,
  /** executor.go WaitAfterAllTasksFailed. */
  retrySeconds: 10,
  /** dns-controller's `--update-interval`. */
  dnsControllerIntervalSeconds: 5,
  /** The part of a node's boot after the API is reachable: kubelet registers, the CNI's pod runs, Ready. */
  nodeJoinSeconds: 30,
  /** `validate cluster --interval`. */
  validateIntervalSeconds: 10,
} as const;

/** When each part of kOps's create ends, in seconds after `kops create cluster --yes`. */
export interface KopsCreateSchedule {
  /** The Auto Scaling groups exist: every instance is launched. */
  groupsCreated: number;
  /** `create cluster --yes` returns (records pre-created). */
  cloudupDone: number;
  /** The control plane serves the API (`nodeJoinSeconds` before a node launched with it is Ready). */
  apiServing: number;
  /** Route53 has dns-controller's records for `api` and `api.internal`. */
  recordsInSync: number;
  /** Every node is Ready. */
  nodesReady: number;
  /** `validate cluster --wait` passes. */
  seconds: number;
}

/** The schedule for a cluster of public subnets; its size changes nothing kOps waits for. */
export function kopsCreateSchedule(
  figures: {
    instanceProfilePropagationSeconds: number;
    nodeReadySeconds: number;
    route53ChangeSeconds: number;
  } = {
    instanceProfilePropagationSeconds: AWS_DURATIONS.iamInstanceProfilePropagation.seconds,
    nodeReadySeconds: AWS_DURATIONS.nodeReady.seconds,
    route53ChangeSeconds: AWS_DURATIONS.route53Change.seconds,
  },
): KopsCreateSchedule {
  const k = KOPS_CREATE;
  const roundEnds = (round: number) => k.prepareSeconds + round * k.roundSeconds;
  const profileUsable =
    roundEnds(k.instanceProfileRound) + figures.instanceProfilePropagationSeconds;
  // The ASG's first try is in its round; a refusal is retried after the executor's sleep.
  let tryAt = roundEnds(k.asgRound - 1);
  while (tryAt < profileUsable) tryAt += k.retrySeconds + k.roundSeconds;
  const groupsCreated = tryAt + k.roundSeconds;
  // After the task graph: the placeholder records, a Route53 change kOps does not wait for.
  const cloudupDone = groupsCreated + k.roundSeconds;
  const apiServing = groupsCreated + figures.nodeReadySeconds - k.nodeJoinSeconds;
  const recordsInSync = apiServing + k.dnsControllerIntervalSeconds + figures.route53ChangeSeconds;
  const nodesReady = Math.max(
    groupsCreated + figures.nodeReadySeconds,
    recordsInSync + k.nodeJoinSeconds,
  );
  // validate --wait starts when create returns and looks every interval.
  const polls = Math.max(0, Math.ceil((nodesReady - cloudupDone) / k.validateIntervalSeconds));
  return {
    groupsCreated,
    cloudupDone,
    apiServing,
    recordsInSync,
    nodesReady,
    seconds: cloudupDone + polls * k.validateIntervalSeconds,
  };
}
