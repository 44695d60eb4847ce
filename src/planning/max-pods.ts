import { VPC_CNI_VERSION } from './vpc-cni.js';

/**
 * How many pods a node can run under the Amazon VPC CNI: the formula of the EKS max-pods
 * calculator. Pure; instance data comes from EC2 DescribeInstanceTypes (see aws/instance-types).
 */

/** What the calculator needs to know of an instance type. */
export interface InstanceTypeInfo {
  instanceType: string;
  vcpus: number;
  /** ENIs on the default network card (only that card's ENIs carry pod addresses). */
  maxEnis: number;
  ipv4PerEni: number;
  hypervisor?: string;
  bareMetal: boolean;
}

export interface MaxPodsOptions {
  /** VPC CNI version, e.g. `1.23.1`; prefix delegation needs 1.9.0 or later. */
  cniVersion?: string;
  prefixDelegation?: boolean;
  customNetworking?: boolean;
  /** `--cni-max-eni`: the CNI's MAX_ENI setting, which lowers the ENIs it uses. */
  cniMaxEni?: number;
  /** Report the uncapped value instead of applying the 110 / 250 cap. */
  showMaxAllowed?: boolean;
}

export interface MaxPodsResult {
  instanceType: string;
  maxPods: number;
  enis: number;
  ipv4PerEni: number;
  vcpus: number;
  prefixDelegation: boolean;
  /** Why the result is what it is where a flag did not apply or a cap did. */
  notes: string[];
}

/** Pods per /28 prefix: prefix delegation gives each secondary IP slot 16 addresses. */
const ADDRESSES_PER_PREFIX = 16;

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const match = /^v?(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const [maj, min] = [Number(match[1]), Number(match[2])];
  return maj > major || (maj === major && min >= minor);
}

/** Whether the CNI can hand this instance /28 prefixes: Nitro or bare metal, CNI 1.9 or later. */
export function prefixDelegationSupport(
  info: InstanceTypeInfo,
  cniVersion = VPC_CNI_VERSION,
): { supported: boolean; reason?: string } {
  if (!versionAtLeast(cniVersion, 1, 9))
    return {
      supported: false,
      reason: `VPC CNI ${cniVersion} is older than 1.9.0, which introduced prefix delegation`,
    };
  if (info.hypervisor !== 'nitro' && !info.bareMetal) {
    return {
      supported: false,
      reason: `${info.instanceType} is not a Nitro or bare-metal instance (hypervisor ${info.hypervisor ?? 'unknown'})`,
    };
  }
  return { supported: true };
}

/** Max pods for one instance type under the given CNI settings. */
export function calculateMaxPods(
  info: InstanceTypeInfo,
  options: MaxPodsOptions = {},
): MaxPodsResult {
  const notes: string[] = [];
  let enis = info.maxEnis;
  if (options.cniMaxEni !== undefined && options.cniMaxEni < enis) {
    enis = options.cniMaxEni;
    notes.push(`ENIs limited to ${enis} by the CNI's MAX_ENI`);
  }
  if (options.customNetworking) {
    // With custom networking the primary ENI stays on the node's subnet and carries no pods.
    enis -= 1;
    notes.push('custom networking: the primary ENI carries no pods');
  }
  let prefixDelegation = false;
  let maxPods: number;
  if (options.prefixDelegation) {
    const support = prefixDelegationSupport(info, options.cniVersion);
    if (support.supported) prefixDelegation = true;
    else notes.push(`prefix delegation not applied: ${support.reason}`);
  }
  if (prefixDelegation) maxPods = enis * ((info.ipv4PerEni - 1) * ADDRESSES_PER_PREFIX) + 2;
  else maxPods = enis * (info.ipv4PerEni - 1) + 2;
  if (!options.showMaxAllowed) {
    // EKS's recommendation: kubelet and the node's CPU, not IPs, limit pods past these counts.
    const cap = info.vcpus > 30 ? 250 : 110;
    if (maxPods > cap) {
      notes.push(`capped at ${cap} (${info.vcpus} vCPUs ${info.vcpus > 30 ? '> 30' : '<= 30'})`);
      maxPods = cap;
    }
  }
  return {
    instanceType: info.instanceType,
    maxPods,
    enis,
    ipv4PerEni: info.ipv4PerEni,
    vcpus: info.vcpus,
    prefixDelegation,
    notes,
  };
}

/** True when the amazonvpc env turns prefix delegation on (the CNI reads the string "true"). */
export function prefixDelegationEnabled(
  env: ReadonlyArray<{ name: string; value?: string }> | undefined,
): boolean {
  return (env ?? []).some(
    (e) => e.name === 'ENABLE_PREFIX_DELEGATION' && e.value?.toLowerCase() === 'true',
  );
}
