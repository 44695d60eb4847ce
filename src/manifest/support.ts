import type { FieldIssue } from '../errors.js';
import { LOGICAL_ID_LIMIT, subnetLogicalIds } from '../planning/names.js';
import { kubeletRefusesLabel } from './content.js';
import { field, index } from './field.js';
import { isKubernetesBuildLocation, parseKubernetesVersion } from './kubernetes-version.js';
import { igPath } from './parse.js';
import { isObject } from './shapes.js';
import { type ClusterManifest, isControlPlaneRole } from './types.js';
import { isKopsFieldName, unknownField } from './unknown-field.js';
import { entryPath } from './validate-labels.js';

/**
 * Which kOps settings kopsless builds. A valid kOps manifest may ask for far more than kopsless
 * does; anything outside these lists is reported as unsupported, naming its path, so that nobody
 * believes a setting took effect when it did not.
 *
 * A rule is one of:
 * - `true`: built as kOps builds it;
 * - `{ ignored }`: accepted because it tunes a component kopsless runs another way (etcd-manager
 *   sizing, for instance), reported as a note saying why, not as unsupported;
 * - a string: not supported, the string says why;
 * - a function: checks the value itself (nested settings, values we build only some of).
 */
type Rule =
  | true
  | { ignored: string }
  | string
  | ((value: unknown, path: string, out: SupportReport) => void);

export interface SupportReport {
  unsupported: FieldIssue[];
  ignored: FieldIssue[];
  /** Fields kOps does not have either (typos): invalid, not unsupported. */
  unknown: FieldIssue[];
}

function checkObject(
  value: unknown,
  path: string,
  rules: Record<string, Rule>,
  out: SupportReport,
  what: string,
): void {
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    // Own properties only: a key such as "constructor" or "hasOwnProperty" must not find
    // Object.prototype's member and be taken for a rule.
    const rule = Object.hasOwn(rules, key) ? rules[key] : undefined;
    const childPath = `${path}.${key}`;
    if (rule === true) continue;
    if (typeof rule === 'object')
      out.ignored.push({ path: childPath, message: `ignored: ${rule.ignored}` });
    else if (typeof rule === 'string') out.unsupported.push(field.unsupported(childPath, rule));
    else if (typeof rule === 'function') rule(child, childPath, out);
    else if (!isKopsFieldName(key))
      out.unknown.push(unknownField(childPath, key, Object.keys(rules)));
    else
      out.unsupported.push(
        field.unsupported(childPath, `${what} setting "${key}" is not built by kopsless`),
      );
  }
}

function object(rules: Record<string, Rule>, what: string): Rule {
  return (value, path, out) => checkObject(value, path, rules, out, what);
}

function each(rule: Rule): Rule {
  return (value, path, out) => {
    if (!Array.isArray(value) || typeof rule !== 'function') return;
    value.forEach((item, i) => rule(item, index(path, i), out));
  };
}

/** The label kOps gives every node of an instance group. */
const INSTANCE_GROUP_LABEL = 'kops.k8s.io/instancegroup';
const KUBELET_REFUSES =
  'kubelet refuses labels in the kubernetes.io and k8s.io namespaces outside kubelet.kubernetes.io/*, node.kubernetes.io/* and the well-known keys (kubernetes.io/hostname, kubernetes.io/arch, kubernetes.io/os, topology.kubernetes.io/region|zone, ...) and would not start; kOps applies such labels with kops-controller, which kopsless does not run';

const ETCD_MANAGER = {
  ignored: "kubeadm's stacked etcd runs without etcd-manager and its resource requests",
};
const ETCD_ON_ROOT = {
  ignored: 'stacked etcd keeps its data on the control plane root volume (encrypted)',
};

const kubeletRules: Record<string, Rule> = {
  maxPods: true,
  anonymousAuth: true,
};

const clusterRules: Record<string, Rule> = {
  channel: true,
  cloudProvider: (value, path, out) => {
    if (value !== 'aws')
      out.unsupported.push(
        field.unsupported(
          path,
          `cloud provider "${String(value)}": kopsless runs clusters on AWS only`,
        ),
      );
  },
  configBase: true,
  kubernetesVersion: (value, path, out) => {
    // kOps takes any text holding `/v1.<minor>.` as a build location (a URL, a bucket path).
    if (typeof value === 'string' && isKubernetesBuildLocation(value))
      out.unsupported.push(field.unsupported(path, 'custom Kubernetes builds by URL'));
    // Valid for kOps (it downloads any release's binaries), but the boot script installs kubelet and
    // kubeadm as `<version>-*` from pkgs.k8s.io's stable repository, which holds releases only: a
    // pre-release or build version would leave every instance unable to install them.
    const parsed = typeof value === 'string' ? parseKubernetesVersion(value) : undefined;
    if (parsed && /[-+]/.test(parsed.text)) {
      out.unsupported.push(
        field.unsupported(
          path,
          `pre-release and build Kubernetes versions (${JSON.stringify(parsed.text)}): kopsless installs kubelet and kubeadm from the stable packages of pkgs.k8s.io, which hold releases only`,
        ),
      );
    }
  },
  masterPublicName: true,
  masterInternalName: true,
  dnsZone: true,
  networkCIDR: true,
  nonMasqueradeCIDR: (value, path, out) => {
    if (typeof value === 'string' && value.includes(':'))
      out.unsupported.push(
        field.unsupported(path, 'IPv6 clusters (kopsless builds IPv4 clusters)'),
      );
  },
  serviceClusterIPRange: true,
  podCIDR: true,
  additionalNetworkCIDRs: 'secondary VPC CIDR blocks',
  networkID: true,
  subnets: each(
    object(
      {
        name: true,
        zone: true,
        cidr: true,
        type: (value, path, out) => {
          if (value === 'DualStack')
            out.unsupported.push(field.unsupported(path, 'DualStack (IPv6) subnets'));
        },
        id: true,
        // Every kind kOps accepts (validate-network.ts), built in stack-network.ts.
        egress: true,
        additionalRoutes: 'additional routes',
        ipv6CIDR: 'IPv6 subnets',
        publicIP: 'bring-your-own NAT gateway addresses',
      },
      'subnet',
    ),
  ),
  etcdClusters: each(
    object(
      {
        name: true,
        etcdMembers: each(
          object(
            {
              name: true,
              instanceGroup: true,
              encryptedVolume: ETCD_ON_ROOT,
              volumeSize: ETCD_ON_ROOT,
              volumeType: ETCD_ON_ROOT,
            },
            'etcd member',
          ),
        ),
        cpuRequest: ETCD_MANAGER,
        memoryRequest: ETCD_MANAGER,
        manager: ETCD_MANAGER,
        version: 'etcd version pinning (kubeadm runs the etcd of its Kubernetes version)',
        backups: 'etcd backups to object storage',
        provider: 'etcd providers other than kubeadm stacked etcd',
      },
      'etcd cluster',
    ),
  ),
  networking: object(
    {
      amazonvpc: object(
        { env: true, image: true, initImage: true, networkPolicyAgentImage: true },
        'amazonvpc',
      ),
      cni: true,
    },
    'networking',
  ),
  kubelet: object(kubeletRules, 'kubelet'),
  controlPlaneKubelet: object(kubeletRules, 'kubelet'),
  masterKubelet: object(kubeletRules, 'kubelet'),
  kubernetesApiAccess: true,
  sshAccess: true,
  sshKeyName: true,
  nodePortAccess: true,
  topology: object(
    {
      masters: true,
      nodes: true,
      controlPlane: true,
      // DNS None: checked with the load balancer it needs (checkSupport).
      dns: object({ type: true }, 'dns'),
      bastion:
        'bastion load balancers and bastion DNS names (Bastion instance groups are supported)',
    },
    'topology',
  ),
  api: object(
    {
      dns: true,
      publicName: true,
      // A Network Load Balancer of either scheme (kOps refuses the Classic class itself).
      loadBalancer: object({ type: true, class: true }, 'API load balancer'),
      access: true,
    },
    'api',
  ),
  authorization: object({ rbac: true, alwaysAllow: true }, 'authorization'),
  iam: object({ legacy: true, allowContainerRegistry: true }, 'iam'),
  cloudLabels: true,
  rollingUpdate: true,
  containerRuntime: (value, path, out) => {
    if (value !== 'containerd')
      out.unsupported.push(
        field.unsupported(
          path,
          `container runtime "${String(value)}" (kopsless installs containerd)`,
        ),
      );
  },
};

const instanceGroupRules: Record<string, Rule> = {
  role: (value, path, out) => {
    if (value === 'APIServer')
      out.unsupported.push(field.unsupported(path, 'APIServer instance groups'));
  },
  image: true,
  machineType: true,
  minSize: true,
  maxSize: true,
  subnets: true,
  zones: true,
  rootVolumeSize: true,
  rootVolumeType: true,
  rootVolume: object({ size: true, type: true }, 'root volume'),
  associatePublicIp: true,
  kubelet: object(kubeletRules, 'kubelet'),
  nodeLabels: (value, path, out) => {
    if (!isObject(value)) return;
    for (const key of Object.keys(value)) {
      // kopsless sets this one itself (defaults) and keeps it off kubelet's flags (user-data).
      if (key === INSTANCE_GROUP_LABEL || !kubeletRefusesLabel(key)) continue;
      out.unsupported.push(field.unsupported(entryPath(path, key), KUBELET_REFUSES));
    }
  },
  cloudLabels: true,
  taints: true,
  rollingUpdate: true,
  maxInstanceLifetime: true,
  detailedInstanceMonitoring: true,
  instanceMetadata: object(
    { httpTokens: true, httpPutResponseHopLimit: true },
    'instance metadata',
  ),
  mixedInstancesPolicy: object(
    {
      instances: true,
      instanceRequirements: object(
        { cpu: true, memory: true, excludedInstanceTypes: true },
        'instance requirements',
      ),
      onDemandAllocationStrategy: true,
      onDemandBase: true,
      onDemandAboveBase: true,
      spotAllocationStrategy: true,
      spotInstancePools: true,
    },
    'mixed instances policy',
  ),
  warmPool: 'warm pools',
  manager: (value, path, out) => {
    if (value !== 'CloudGroup')
      out.unsupported.push(
        field.unsupported(
          path,
          `instance manager "${String(value)}" (kopsless manages Auto Scaling groups)`,
        ),
      );
  },
};

/**
 * Subnet names kOps accepts (any distinct strings) that kopsless cannot give stack resources of
 * their own: two names whose CloudFormation logical IDs are one (the second would replace the
 * first's subnet or route table association), or a name making an ID over CloudFormation's limit.
 */
function checkSubnetNames(subnets: unknown, out: SupportReport): void {
  if (!Array.isArray(subnets)) return;
  const owners = new Map<string, string>();
  subnets.forEach((subnet, i) => {
    if (!isObject(subnet) || typeof subnet.name !== 'string' || subnet.name === '') return;
    const name = subnet.name;
    const path = `${index('spec.subnets', i)}.name`;
    const ids = subnetLogicalIds(name);
    if (ids.routeTableAssociation.length > LOGICAL_ID_LIMIT) {
      out.unsupported.push(
        field.unsupported(
          path,
          `subnet name of ${name.length} characters: its CloudFormation logical ID ${ids.routeTableAssociation.slice(0, 40)}... would be over ${LOGICAL_ID_LIMIT} characters`,
        ),
      );
      return;
    }
    for (const id of [ids.subnet, ids.routeTableAssociation]) {
      const owner = owners.get(id);
      if (owner !== undefined && owner !== name) {
        out.unsupported.push(
          field.unsupported(
            path,
            `subnet name "${name}" and subnet "${owner}" map to one CloudFormation logical ID ${id} (kopsless keeps letters and digits of a subnet name): rename one`,
          ),
        );
        return;
      }
    }
    owners.set(ids.subnet, name);
    owners.set(ids.routeTableAssociation, name);
  });
}

/**
 * kubeadm's stacked etcd with one member per control-plane instance: 1, 3 or 5 instances (an
 * even count adds a member without adding a failure it survives), and with more than one, each
 * group one instance (min = max = 1) so that the roll replaces one member at a time.
 */
function controlPlaneShapeIssues(manifest: ClusterManifest): FieldIssue[] {
  const groups = manifest.instanceGroups.filter((ig) => isControlPlaneRole(ig.spec.role));
  if (groups.length <= 1) return [];
  const issues: FieldIssue[] = [];
  if (![3, 5].includes(groups.length))
    issues.push(
      field.unsupported(
        igPath(groups[0]!.metadata.name, 'spec.role'),
        `${groups.length} control-plane instance groups (kopsless runs 1, 3 or 5 members of stacked etcd)`,
      ),
    );
  for (const ig of groups) {
    if ((ig.spec.minSize ?? 1) !== 1 || (ig.spec.maxSize ?? 1) !== 1)
      issues.push(
        field.unsupported(
          igPath(ig.metadata.name, 'spec.minSize'),
          'a control-plane instance group of more than one instance in a highly available control plane (one instance, minSize = maxSize = 1, per control-plane group)',
        ),
      );
  }
  return issues;
}

/** Lists what a valid manifest asks for that kopsless does not build (and what it ignores). */
export function checkSupport(manifest: ClusterManifest): SupportReport {
  const out: SupportReport = { unsupported: [], ignored: [], unknown: [] };
  checkObject(manifest.cluster.spec, 'spec', clusterRules, out, 'cluster');
  checkSubnetNames(manifest.cluster.spec.subnets, out);
  for (const ig of manifest.instanceGroups) {
    checkObject(
      ig.spec,
      igPath(ig.metadata.name, 'spec'),
      instanceGroupRules,
      out,
      'instance group',
    );
  }
  const subnets: unknown = manifest.cluster.spec.subnets;
  (Array.isArray(subnets) ? subnets : []).forEach((subnet: unknown, i) => {
    // kOps carves a missing cidr out of the networkCIDR; kopsless builds the CIDRs written. A
    // shared subnet or an IPv6 subnet without one is reported for its id or ipv6CIDR already.
    if (
      isObject(subnet) &&
      (subnet.cidr === undefined || subnet.cidr === '') &&
      !subnet.id &&
      !subnet.ipv6CIDR
    ) {
      out.unsupported.push(
        field.unsupported(
          `${index('spec.subnets', i)}.cidr`,
          'subnets without a cidr (kOps picks one from the networkCIDR; kopsless builds the CIDRs written)',
        ),
      );
    }
  });
  out.unsupported.push(...controlPlaneShapeIssues(manifest));
  const spec = manifest.cluster.spec;
  if (spec.topology?.dns?.type === 'None' && !isObject(spec.api?.loadBalancer))
    out.unsupported.push(
      field.unsupported(
        'spec.topology.dns.type',
        'DNS None without spec.api.loadBalancer: with no DNS records the API and the nodes reach the control plane only through the API load balancer (kops create cluster --dns none --api-loadbalancer-type public|internal)',
      ),
    );
  return out;
}
