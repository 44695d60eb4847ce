import { parse } from 'yaml';

/**
 * What a run costs on AWS and the fewest AWS calls it needs, for the bench's `costUsd` and
 * `minimalAwsCalls` columns. Pure: the bench passes in what it counted.
 */

/** Step Functions Standard: USD per state transition ($0.025 per 1,000). */
export const USD_PER_TRANSITION = 0.025 / 1000;
/** Lambda (arm64 is cheaper; this is the x86 price, the higher of the two): USD per GB-second. */
export const USD_PER_GB_SECOND = 0.0000166667;

/**
 * MemorySize in MB per function logical ID, from template.yaml (a function without its own
 * takes Globals.Function.MemorySize; Lambda's default is 128). CloudFormation's short-form tags
 * (`!Ref`, `!Sub`, ...) are read as plain values: only MemorySize matters here.
 */
export function lambdaMemoryMb(templateText: string): Record<string, number> {
  const doc = parse(templateText, { logLevel: 'silent' }) as {
    Globals?: { Function?: { MemorySize?: number } };
    Resources?: Record<string, { Type?: string; Properties?: { MemorySize?: number } }>;
  };
  const fallback = doc.Globals?.Function?.MemorySize ?? 128;
  const out: Record<string, number> = {};
  for (const [id, resource] of Object.entries(doc.Resources ?? {})) {
    if (resource.Type === 'AWS::Serverless::Function' || resource.Type === 'AWS::Lambda::Function')
      out[id] = resource.Properties?.MemorySize ?? fallback;
  }
  return out;
}

/**
 * Timeout in seconds per function logical ID, from template.yaml (a function without its own
 * takes Globals.Function.Timeout; Lambda's default is 3).
 */
export function lambdaTimeoutSeconds(templateText: string): Record<string, number> {
  const doc = parse(templateText, { logLevel: 'silent' }) as {
    Globals?: { Function?: { Timeout?: number } };
    Resources?: Record<string, { Type?: string; Properties?: { Timeout?: number } }>;
  };
  const fallback = doc.Globals?.Function?.Timeout ?? 3;
  const out: Record<string, number> = {};
  for (const [id, resource] of Object.entries(doc.Resources ?? {})) {
    if (resource.Type === 'AWS::Serverless::Function' || resource.Type === 'AWS::Lambda::Function')
      out[id] = resource.Properties?.Timeout ?? fallback;
  }
  return out;
}

/**
 * The invocation that came nearest its function's Timeout: its handler time over the Timeout
 * (Lambda ends an invocation there), which function it was and in which state.
 */
export function maxShareOfTimeout(
  invocations: Invocation[],
  timeoutSeconds: Record<string, number>,
): { share: number; functionId?: string; ms?: number; state?: string } {
  let worst: { share: number; functionId?: string; ms?: number; state?: string } = { share: 0 };
  for (const invocation of invocations) {
    const timeout = timeoutSeconds[invocation.functionId];
    if (timeout === undefined)
      throw new Error(
        `maxShareOfTimeout: no Timeout for function ${invocation.functionId} in template.yaml`,
      );
    const share = invocation.ms / 1000 / timeout;
    if (share > worst.share)
      worst = {
        share,
        functionId: invocation.functionId,
        ms: invocation.ms,
        ...(invocation.state ? { state: invocation.state } : {}),
      };
  }
  return worst;
}

/** One Lambda invocation as the bench counted it: which function, how long its handler ran. */
export interface Invocation {
  functionId: string;
  ms: number;
  /** The state that invoked it (`<state machine>:<state>`), where the run knows it. */
  state?: string;
}

/**
 * Transitions at the Standard price plus, per invocation, GB-seconds at the function's memory
 * size. Lambda bills each invocation's duration rounded up to the millisecond; so does this.
 */
export function costUsd(
  transitions: number,
  invocations: Invocation[],
  memoryMb: Record<string, number>,
): number {
  let gbSeconds = 0;
  for (const invocation of invocations) {
    const mb = memoryMb[invocation.functionId];
    if (mb === undefined)
      throw new Error(
        `costUsd: no MemorySize for function ${invocation.functionId} in template.yaml`,
      );
    gbSeconds += (mb / 1024) * (Math.ceil(invocation.ms) / 1000);
  }
  return transitions * USD_PER_TRANSITION + gbSeconds * USD_PER_GB_SECOND;
}

/** A node group as the roll replaces it: instances to replace and kOps's resolved settings. */
export interface MinimalGroup {
  instances: number;
  maxSurge: number;
  maxUnavailable: number;
}

/** AWS's limits per call that the counts use. */
export const PER_CALL = {
  /** autoscaling:DetachInstances, InstanceIds. */
  detach: 20,
  /** ec2:TerminateInstances, InstanceIds (EC2 documents 1,000 per call). */
  ec2Terminate: 1000,
  /** autoscaling:DescribeAutoScalingGroups, AutoScalingGroupNames (and MaxRecords). */
  describeGroups: 100,
  /** ec2:DescribeInstances, MaxResults. */
  describeInstances: 1000,
} as const;

/** The state-store calls every lifecycle run needs: take the lock, mark the phase, read the spec, record the end, release the lock. */
export const STATE_STORE_CALLS = 5;

/**
 * The fewest AWS calls a roll of these groups needs, counted call by call (S3 included), for the
 * same algorithm as kOps (surge by detaching, then replace in batches of maxSurge + maxUnavailable,
 * detached instances last):
 * - the state store: 5 (conditional PUT of the lock, PUT of the phase, GET of the completed spec
 *   that holds every group, PUT of the final status, DELETE of the lock);
 * - the plan: 1 DescribeAutoScalingGroups per 100 groups (members and their launch template)
 *   and 1 DescribeInstances per 1,000 instances (the spec-hash tags);
 * - per group with a surge: 1 DetachInstances per 20 detached instances (the ASG launches their
 *   replacements by itself), then 1 DescribeAutoScalingGroups that sees them InService;
 * - per batch: 1 TerminateInstanceInAutoScalingGroup per instance still in the group (the API
 *   takes one instance and launches its replacement), 1 TerminateInstances per 1,000 detached
 *   instances, and, when the batch launched replacements, 1 DescribeAutoScalingGroups that sees
 *   them InService (with readiness callbacks or lifecycle events no poll is repeated; the
 *   cluster validation reads Kubernetes, not AWS).
 * Calls that fail and are retried, and polls that find nothing new, are never minimal: a run's
 * `awsCalls` above this figure is what polling and re-reading cost.
 */
export function minimalRollAwsCalls(groups: MinimalGroup[]): number {
  const instances = groups.reduce((sum, g) => sum + g.instances, 0);
  let calls =
    STATE_STORE_CALLS +
    Math.ceil(groups.length / PER_CALL.describeGroups) +
    Math.ceil(instances / PER_CALL.describeInstances);
  for (const [i, group] of groups.entries()) {
    if (group.instances === 0) continue;
    const surge = Math.min(group.maxSurge, group.instances);
    const concurrency = surge + group.maxUnavailable;
    if (concurrency < 1)
      throw new RangeError(`groups[${i}]: maxSurge and maxUnavailable are both 0`);
    if (surge > 0) calls += Math.ceil(surge / PER_CALL.detach) + 1;
    const inGroup = group.instances - surge;
    for (let first = 0; first < group.instances; first += concurrency) {
      const last = Math.min(first + concurrency, group.instances);
      const replaced = Math.max(0, Math.min(last, inGroup) - first);
      const detached = last - first - replaced;
      calls += replaced + Math.ceil(detached / PER_CALL.ec2Terminate) + (replaced > 0 ? 1 : 0);
    }
  }
  return calls;
}

/**
 * The fewest AWS calls creating a cluster with these groups needs:
 * - the state store: 5 as for a roll, plus 3 + G PUTs of kOps's layout (config, the completed
 *   spec, the version file, one object per instance group);
 * - CloudFormation: 1 CreateStack and 1 DescribeStacks that sees it complete (VPC, subnets,
 *   IAM, Route53 records are in the stack);
 * - per group: 1 CreateLaunchTemplate and 1 CreateAutoScalingGroup;
 * - 1 DescribeAutoScalingGroups per 100 groups that sees every instance InService;
 * - DNS: 1 ChangeResourceRecordSets (api and api.internal in one change) and 1 GetChange.
 */
export function minimalCreateAwsCalls(groups: number): number {
  return (
    STATE_STORE_CALLS +
    3 +
    groups +
    2 +
    2 * groups +
    Math.ceil(groups / PER_CALL.describeGroups) +
    2
  );
}

/**
 * The fewest AWS calls deleting a cluster with these groups and instances needs:
 * - the state store: 5, plus 1 ListObjectsV2 and 1 DeleteObjects per 1,000 keys (3 + G keys);
 * - discovery: 1 DescribeAutoScalingGroups per 100 groups (tag filter) and 1 DescribeLaunchTemplates;
 * - per group: 1 DeleteAutoScalingGroup (ForceDelete terminates its instances) and
 *   1 DeleteLaunchTemplate;
 * - 1 DescribeInstances per 1,000 instances that sees them terminated, then
 *   1 DescribeNetworkInterfaces for ENIs the VPC CNI left behind;
 * - CloudFormation: 1 DeleteStack and 1 DescribeStacks that sees it gone;
 * - DNS: 1 ChangeResourceRecordSets removing the api records.
 */
export function minimalDeleteAwsCalls(groups: number, instances: number): number {
  const keys = 3 + groups;
  return (
    STATE_STORE_CALLS +
    1 +
    Math.ceil(keys / 1000) +
    Math.ceil(groups / PER_CALL.describeGroups) +
    1 +
    2 * groups +
    Math.ceil(instances / PER_CALL.describeInstances) +
    1 +
    2 +
    1
  );
}
