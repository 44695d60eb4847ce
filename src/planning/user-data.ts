import type { CompletedCluster, CompletedInstanceGroup } from '../manifest/completed.js';
import { kubeletRefusesLabel, parseTaint } from '../manifest/content.js';
import { type InstanceGroup, isControlPlaneRole } from '../manifest/types.js';
import { parseKubernetesVersion } from '../manifest/validate.js';
import { CLUSTER_OBJECTS as STORE } from '../state/layout.js';
import {
  awsRequestSteps,
  secretWriteSteps,
  stateBucketUrl,
  stateStoreSteps,
} from './aws-requests.js';
import { BOOTSTRAP_TOKEN_TTL, bootstrapTokenSyncSteps } from './bootstrap-token.js';
import { controlPlaneJoinState, controlPlaneState } from './control-plane-state.js';
import { CLUSTER_TAG, DEFAULT_DEPLOYMENT, OWNER_TAG } from './names.js';
import { shellQuote } from './shell.js';
import { hasApiLoadBalancer } from './stack-nlb.js';
import { VPC_CNI_VERSION, vpcCniManifest } from './vpc-cni.js';

/**
 * The user-data that boots an instance into the cluster: a bash script cloud-init runs once.
 * Control-plane instances run `kubeadm init`, nodes `kubeadm join` with the bootstrap token kept
 * in the state store; both install containerd, kubelet pinned to the cluster's version with the
 * group's `maxPods`, and (with amazonvpc networking) the Amazon VPC CNI with the manifest's env.
 * Bastions get no Kubernetes at all.
 */

export interface UserDataInput {
  cluster: CompletedCluster;
  instanceGroup: CompletedInstanceGroup;
  maxPods: number;
  stateBucket: string;
  region: string;
  /** Version of the Amazon VPC CNI manifest to apply. */
  vpcCniVersion?: string;
  /**
   * How many control-plane instance groups the cluster has. With more than one, the control plane
   * is highly available: one instance runs `kubeadm init`, every other `kubeadm join --control-plane`.
   */
  controlPlaneCount?: number;
  /**
   * The API load balancer's DNS name, with DNS None: the API's only name, so the control plane
   * serves it (certificate SAN, controlPlaneEndpoint) and the nodes join through it.
   */
  apiLoadBalancerName?: string;
  /**
   * The KMS key (ARN or alias ARN) the control plane writes the cluster's secrets under; the
   * state bucket's policy refuses a secret written under any other.
   */
  secretsKeyArn?: string;
  /**
   * This deployment's name: the VPC CNI tags every interface it makes with it (and the cluster's
   * tags), so the delete stage may delete only this deployment's leftover interfaces.
   */
  deployment?: string;
}

/** The names the API is reached by: the DNS records, or with DNS None the load balancer's name. */
function apiNames(input: UserDataInput): { internal: string; public: string; sans: string[] } {
  const spec = input.cluster.spec;
  if (spec.topology.dns.type === 'None' && input.apiLoadBalancerName)
    return {
      internal: input.apiLoadBalancerName,
      public: input.apiLoadBalancerName,
      sans: [input.apiLoadBalancerName, spec.masterPublicName, spec.masterInternalName],
    };
  return {
    internal: spec.masterInternalName,
    public: spec.masterPublicName,
    sans: [spec.masterPublicName, spec.masterInternalName],
  };
}

/** Whether the boot script renders the highly available control plane's init-or-join. */
export function isHighlyAvailable(input: UserDataInput): boolean {
  return (input.controlPlaneCount ?? 1) > 1;
}

/** kOps serves the API on 443 rather than kubeadm's 6443; users' firewall rules expect it. */
export const API_PORT = 443;

/** A YAML double-quoted scalar. JSON escapes every control character, so it never spans lines. */
function yamlString(value: unknown): string {
  return JSON.stringify(String(value));
}

/** A number as itself, anything else (only if validation was skipped) as a quoted string. */
function yamlNumber(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : yamlString(value);
}

const HEREDOC_END = 'KUBEADM';

/**
 * A quoted heredoc fed to `verbatim`: bash expands nothing inside it. Every manifest value in the
 * body is a JSON-quoted scalar, so no body line can be the terminator; checked all the same.
 */
function verbatimHeredoc(body: string, indent = '    '): string[] {
  if (body.split('\n').includes(HEREDOC_END))
    throw new TypeError(`a line of the kubeadm config is its heredoc terminator ${HEREDOC_END}`);
  return [`${indent}verbatim <<'${HEREDOC_END}'`, body, HEREDOC_END];
}

/**
 * Labels the kubelet may set on itself. Kubelet refuses the others and would not start
 * (node-role.kubernetes.io/* is kubeadm's to set; the support check reports any other a manifest
 * asks for), so they are left out: that is only kops.k8s.io/instancegroup, which kOps has
 * kops-controller set.
 */
function labelsOf(ig: CompletedInstanceGroup): string {
  return Object.entries(ig.spec.nodeLabels)
    .filter(([k]) => !kubeletRefusesLabel(k))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}

function taintsOf(ig: InstanceGroup): string[] {
  return (ig.spec.taints ?? []).map((raw) => {
    const text = String(raw);
    // Only reachable unvalidated: the whole text stays one key, as data.
    const taint = parseTaint(text) ?? { key: text, effect: '' };
    const value = taint.value !== undefined ? `    value: ${yamlString(taint.value)}\n` : '';
    return `  - key: ${yamlString(taint.key)}\n${value}    effect: ${yamlString(taint.effect || 'NoSchedule')}`;
  });
}

/**
 * The commands that write /etc/kubernetes/kubeadm.yaml. What comes from the manifest is in quoted
 * heredocs (never expanded); what is known only at boot (instance, zone, bootstrap token, CA hash)
 * is printf's arguments under a constant format. The YAML is ordered so that each of those comes
 * at the end of a mapping, which the following lines continue.
 */
function kubeadmConfigCommands(input: UserDataInput): string[] {
  const { cluster, instanceGroup: ig, maxPods } = input;
  const spec = cluster.spec;
  const version = parseKubernetesVersion(spec.kubernetesVersion ?? '') ?? {
    major: 1,
    minor: 32,
    patch: 0,
  };
  // kubeadm's v1beta4 (Kubernetes 1.31+) lists extra args as name/value pairs; v1beta3 as a map.
  const beta4 = version.major > 1 || version.minor >= 31;
  const apiVersion = beta4 ? 'kubeadm.k8s.io/v1beta4' : 'kubeadm.k8s.io/v1beta3';
  const controlPlane = isControlPlaneRole(ig.spec.role);
  const taints = taintsOf(ig);
  if (controlPlane)
    taints.push('  - key: "node-role.kubernetes.io/control-plane"\n    effect: "NoSchedule"');
  // No cloud controller manager runs here, so the kubelet states its provider ID itself (last, from printf).
  const nodeRegistration = [
    'nodeRegistration:',
    '  criSocket: unix:///run/containerd/containerd.sock',
    taints.length > 0 ? `  taints:\n${taints.join('\n')}` : '  taints: []',
    '  kubeletExtraArgs:',
    beta4
      ? `    - name: node-labels\n      value: ${yamlString(labelsOf(ig))}`
      : `    node-labels: ${yamlString(labelsOf(ig))}`,
  ].join('\n');
  const providerId = beta4
    ? `    printf '    - name: provider-id\\n      value: "aws:///%s/%s"\\n' "\${ZONE}" "\${INSTANCE_ID}"`
    : `    printf '    provider-id: "aws:///%s/%s"\\n' "\${ZONE}" "\${INSTANCE_ID}"`;
  const kubelet = [
    '---',
    'apiVersion: kubelet.config.k8s.io/v1beta1',
    'kind: KubeletConfiguration',
    'cgroupDriver: systemd',
    `maxPods: ${yamlNumber(maxPods)}`,
    `authentication:\n  anonymous:\n    enabled: ${spec.kubelet.anonymousAuth === true}`,
  ].join('\n');
  const names = apiNames(input);
  const apiInternal = names.internal;
  const head = [
    `apiVersion: ${apiVersion}`,
    `kind: ${controlPlane ? 'InitConfiguration' : 'JoinConfiguration'}`,
  ];
  const discovery = [
    providerId,
    `    printf 'discovery:\\n  bootstrapToken:\\n    token: "%s"\\n    caCertHashes: ["%s"]\\n' "\${BOOTSTRAP_TOKEN}" "\${CA_CERT_HASH}"`,
    ...verbatimHeredoc(
      [`    apiServerEndpoint: ${yamlString(`${apiInternal}:${API_PORT}`)}`, kubelet].join('\n'),
    ),
  ];
  const lines = controlPlane
    ? [
        ...verbatimHeredoc(
          [...head, 'localAPIEndpoint:', `  bindPort: ${API_PORT}`, nodeRegistration].join('\n'),
        ),
        providerId,
        `    printf 'bootstrapTokens:\\n- token: "%s"\\n  ttl: "${BOOTSTRAP_TOKEN_TTL}"\\n  usages: [signing, authentication]\\n  groups: ["system:bootstrappers:kubeadm:default-node-token"]\\n' "\${BOOTSTRAP_TOKEN}"`,
        ...verbatimHeredoc(
          [
            '---',
            `apiVersion: ${apiVersion}`,
            'kind: ClusterConfiguration',
            `clusterName: ${yamlString(cluster.metadata.name)}`,
            `kubernetesVersion: ${yamlString(spec.kubernetesVersion ?? '')}`,
            `controlPlaneEndpoint: ${yamlString(`${apiInternal}:${API_PORT}`)}`,
            'networking:',
            `  serviceSubnet: ${yamlString(spec.serviceClusterIPRange)}`,
            ...(spec.podCIDR ? [`  podSubnet: ${yamlString(spec.podCIDR)}`] : []),
            'apiServer:',
            `  certSANs: [${names.sans.map(yamlString).join(', ')}]`,
            kubelet,
          ].join('\n'),
        ),
      ]
    : [...verbatimHeredoc([...head, nodeRegistration].join('\n')), ...discovery];
  const writer = (name: string, body: string[]) => [
    `${name}() {`,
    '  install -d -m 0700 /etc/kubernetes',
    '  {',
    ...body,
    '  } | tee /etc/kubernetes/kubeadm.yaml >/dev/null',
    '}',
  ];
  if (!controlPlane || !isHighlyAvailable(input)) return writer('write_kubeadm_config', lines);
  // A member that joins serves the API on the same port, and its etcd joins the cluster's.
  const joinHead = [
    `apiVersion: ${apiVersion}`,
    'kind: JoinConfiguration',
    'controlPlane:',
    '  localAPIEndpoint:',
    `    bindPort: ${API_PORT}`,
  ];
  return [
    ...writer('write_kubeadm_config', lines),
    '',
    ...writer('write_kubeadm_join_config', [
      ...verbatimHeredoc([...joinHead, nodeRegistration].join('\n')),
      ...discovery,
    ]),
  ];
}

function cniSteps(input: UserDataInput): string[] {
  const amazonvpc = input.cluster.spec.networking?.amazonvpc;
  if (!amazonvpc || !isControlPlaneRole(input.instanceGroup.spec.role)) return [];
  const version = input.vpcCniVersion ?? VPC_CNI_VERSION;
  const manifest = vpcCniManifest(version);
  const env = [
    ...(amazonvpc.env ?? []).filter((e) => e.name !== 'ADDITIONAL_ENI_TAGS'),
    { name: 'ADDITIONAL_ENI_TAGS', value: JSON.stringify(interfaceTags(input, amazonvpc.env)) },
  ]
    .map((e) => shellQuote(`${String(e.name)}=${String(e.value ?? '')}`))
    .join(' ');
  return [
    '',
    'install_vpc_cni() {',
    `  log ${shellQuote(`installing the Amazon VPC CNI v${version}`)}`,
    // Applied only once its SHA-256 matches the pinned one: sha256sum -c fails, and with it the script.
    `  curl -fsSL ${shellQuote(manifest.url)} -o /tmp/aws-k8s-cni.yaml`,
    `  echo ${shellQuote(`${manifest.sha256}  /tmp/aws-k8s-cni.yaml`)} | sha256sum -c --quiet -`,
    '  kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f /tmp/aws-k8s-cni.yaml',
    // After `--` no pair can be read as a kubectl option, whatever its name.
    `  kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system set env daemonset/aws-node -- ${env}`,
    '}',
  ];
}

/** The prefix of the user-data line that records the script's settings (see `bootstrapSettings`). */
const SETTINGS_PREFIX = '# kopsless-bootstrap-settings: ';

/**
 * What the boot script installs and configures, field by field, taken from the renderer's inputs
 * (not from the script's text): `update cluster` compares these between the launch template's
 * current version and the new one, so a change reads `KubernetesVersion 1.32.0 -> 1.33.1`
 * rather than "changed bootstrap script". A field the script does not set is absent. Bastions
 * run no Kubernetes and have none.
 */
export function bootstrapSettings(input: UserDataInput): Record<string, string> {
  const { cluster, instanceGroup: ig } = input;
  if (ig.spec.role === 'Bastion') return {};
  const settings: Array<[string, string]> = [
    ['KubernetesVersion', String(cluster.spec.kubernetesVersion ?? '').replace(/^v/, '')],
    ['maxPods', String(input.maxPods)],
  ];
  const labels = labelsOf(ig);
  if (labels) settings.push(['nodeLabels', labels]);
  const taints = (ig.spec.taints ?? []).map(String);
  if (taints.length > 0) settings.push(['taints', taints.join(',')]);
  if (cluster.spec.kubelet.anonymousAuth === true) settings.push(['kubelet anonymousAuth', 'true']);
  const amazonvpc = cluster.spec.networking?.amazonvpc;
  // Only the control plane's script installs the CNI (and sets its env on the aws-node DaemonSet).
  if (amazonvpc && isControlPlaneRole(ig.spec.role)) {
    settings.push(['VPC CNI', input.vpcCniVersion ?? VPC_CNI_VERSION]);
    for (const e of amazonvpc.env ?? [])
      settings.push([`aws-node env ${String(e.name)}`, String(e.value ?? '')]);
  }
  // fromEntries defines own properties: an env var named __proto__ stays a plain key.
  return Object.fromEntries(settings);
}

/**
 * The settings recorded in rendered user-data, or undefined for a script rendered before they
 * were recorded (or not by kopsless).
 */
export function bootstrapSettingsFromUserData(
  userData: string,
): Record<string, string> | undefined {
  const line = userData.split('\n').find((l) => l.startsWith(SETTINGS_PREFIX));
  if (!line) return undefined;
  try {
    const parsed: unknown = JSON.parse(line.slice(SETTINGS_PREFIX.length));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    return Object.fromEntries(
      Object.entries(parsed).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string',
      ),
    );
  } catch {
    return undefined;
  }
}

/**
 * Behind the API load balancer a control-plane instance reaches its own API locally. The load
 * balancer keeps the client's address, and then drops a target's connection that it would send
 * back to that same target (AWS calls it hairpinning): kubeadm init, whose only target is itself,
 * and one in N of a member's own kubelet connections would time out. The names are in the API
 * certificate, so local clients keep verifying it.
 */
function apiNamesServedLocally(input: UserDataInput): string[] {
  if (!hasApiLoadBalancer(input.cluster)) return [];
  const { internal, public: publicName } = apiNames(input);
  const entry = ['127.0.0.1', ...new Set([internal, publicName])].join(' ');
  return [`  grep -qxF ${shellQuote(entry)} /etc/hosts || echo ${shellQuote(entry)} >> /etc/hosts`];
}

/** The control plane's part of `main`: init (the one instance of a highly available plane that claims it), or join. */
function controlPlaneBoot(input: UserDataInput): string[] {
  const init = [
    '  attach_etcd_volume',
    '  restore_control_plane_pki',
    '  write_kubeadm_config',
    ...apiNamesServedLocally(input),
    '  local preflight=()',
    '  # A replacement control plane finds the cluster in its etcd volume: init on top of it.',
    '  if [ -n "$(ls -A /var/lib/etcd)" ]; then preflight=(--ignore-preflight-errors=DirAvailable--var-lib-etcd); fi',
    '  kubeadm init --config /etc/kubernetes/kubeadm.yaml "${preflight[@]}"',
    '  save_control_plane_pki',
    '  install_bootstrap_token_sync',
    '  # Nodes verify the API server against this hash before trusting the bootstrap token.',
    '  openssl x509 -pubkey -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex | sed "s/^.* /sha256:/" |',
    `    state_store_write ${STORE.caCertHash}`,
    '  # The lifecycle stages reach the API at api.internal.<cluster>, from inside the VPC, with this admin kubeconfig.',
    // awk takes the server from its arguments (read as they are), never from its program text.
    `  awk -- 'BEGIN { server = ARGV[1]; ARGV[1] = "" } { if (match($0, /^ *server: /)) $0 = substr($0, 1, RLENGTH) server; print }' "\${KUBECONFIG_SERVER}" /etc/kubernetes/admin.conf |`,
    `    state_store_write_secret ${STORE.kubeconfig}`,
    ...(input.cluster.spec.networking?.amazonvpc ? ['  install_vpc_cni'] : []),
  ];
  if (!isHighlyAvailable(input)) return init;
  return [
    '  if claim_control_plane_init; then',
    '    log "initialising the control plane (kubeadm init)"',
    ...init.map((line) => `  ${line}`),
    '    publish_etcd_client',
    '  else',
    '    log "joining the control plane (kubeadm join --control-plane)"',
    '    join_control_plane',
    ...apiNamesServedLocally(input).map((line) => `  ${line}`),
    '    install_bootstrap_token_sync',
    '  fi',
  ];
}

/** Renders the user-data script for one instance group. Pure: the spec hash is taken over it. */
export function renderUserData(input: UserDataInput): string {
  const { cluster, instanceGroup: ig } = input;
  const name = cluster.metadata.name;
  const role = ig.spec.role;
  const version = (cluster.spec.kubernetesVersion ?? '').replace(/^v/, '');
  const parsed = parseKubernetesVersion(version);
  const minor = parsed ? `v${parsed.major}.${parsed.minor}` : 'v1.32';
  const header = [
    '#!/bin/bash',
    // JSON-quoted: a newline in a name could otherwise end the comment and start a command.
    `# kopsless bootstrap: cluster ${JSON.stringify(name)}, instance group ${JSON.stringify(ig.metadata.name)} (role ${JSON.stringify(role)}).`,
    "# Rendered by kopsless from the cluster spec; a change here is a change of the group's spec hash.",
    // JSON on one comment line: data for `update cluster`'s preview, inert to bash (JSON escapes every newline).
    `${SETTINGS_PREFIX}${JSON.stringify(bootstrapSettings(input))}`,
    'set -o errexit -o nounset -o pipefail',
    '',
    `readonly CLUSTER_NAME=${shellQuote(name)}`,
    `readonly INSTANCE_GROUP=${shellQuote(ig.metadata.name)}`,
    `readonly AWS_REGION=${shellQuote(input.region)}`,
    '',
    'log() { printf \'kopsless-bootstrap[%s.%s]: %s\\n\' "${INSTANCE_GROUP}" "${CLUSTER_NAME}" "$*" >&2; }',
  ];
  if (role === 'Bastion') {
    return [
      ...header,
      '',
      'log "bastion: SSH only, no Kubernetes components"',
      'export AWS_REGION',
      '',
    ].join('\n');
  }
  const controlPlane = isControlPlaneRole(role);
  const body = [
    '',
    `readonly STATE_BUCKET_URL=${shellQuote(stateBucketUrl(input.stateBucket, input.region))}`,
    `readonly STATE_STORE=${shellQuote(`${stateBucketUrl(input.stateBucket, input.region)}/${name}`)}`,
    `readonly KUBERNETES_VERSION=${shellQuote(version)}`,
    `readonly KUBERNETES_MINOR=${shellQuote(minor)}`,
    `readonly MAX_PODS=${shellQuote(input.maxPods)}`,
    ...(controlPlane
      ? [
          // The stages reach the API from inside the VPC, at its internal name (docs/network-path.md),
          // which with DNS None is the load balancer's.
          `readonly KUBECONFIG_SERVER=${shellQuote(yamlString(`https://${apiNames(input).internal}:${API_PORT}`))}`,
        ]
      : []),
    '',
    'install_packages() {',
    '  export DEBIAN_FRONTEND=noninteractive',
    '  apt-get update -q',
    '  apt-get install -y -q apt-transport-https ca-certificates curl gpg containerd',
    '  install -d -m 0755 /etc/apt/keyrings',
    '  curl -fsSL "https://pkgs.k8s.io/core:/stable:/${KUBERNETES_MINOR}/deb/Release.key" | gpg --dearmor --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg',
    '  echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/${KUBERNETES_MINOR}/deb/ /" | tee /etc/apt/sources.list.d/kubernetes.list >/dev/null',
    '  apt-get update -q',
    '  apt-get install -y -q "kubelet=${KUBERNETES_VERSION}-*" "kubeadm=${KUBERNETES_VERSION}-*" "kubectl=${KUBERNETES_VERSION}-*"',
    '  apt-mark hold kubelet kubeadm kubectl',
    '}',
    '',
    'configure_kernel() {',
    '  printf "overlay\\nbr_netfilter\\n" | tee /etc/modules-load.d/kubernetes.conf >/dev/null',
    '  modprobe overlay',
    '  modprobe br_netfilter',
    '  printf "net.bridge.bridge-nf-call-iptables = 1\\nnet.bridge.bridge-nf-call-ip6tables = 1\\nnet.ipv4.ip_forward = 1\\n" | tee /etc/sysctl.d/99-kubernetes.conf >/dev/null',
    '  sysctl --system >/dev/null',
    '}',
    '',
    'configure_containerd() {',
    '  install -d -m 0755 /etc/containerd',
    '  containerd config default | sed "s/SystemdCgroup = false/SystemdCgroup = true/" | tee /etc/containerd/config.toml >/dev/null',
    '  systemctl restart containerd',
    '}',
    '',
    'imds() {',
    '  local token',
    // Retried as any AWS call; the token goes to curl through a descriptor, never its command line.
    '  token="$(curl -fsS --retry 5 --retry-connrefused -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 300")"',
    '  curl -fsS --retry 5 --retry-connrefused -H @<(printf "X-aws-ec2-metadata-token: %s\\n" "${token}") "http://169.254.169.254/latest/meta-data/$1"',
    '}',
    '',
    ...awsRequestSteps(input.region),
    '',
    ...stateStoreSteps(),
    ...(controlPlane ? ['', ...secretWriteSteps(input.secretsKeyArn)] : []),
    '',
    '# Copies a quoted heredoc to stdout with builtins only: its text is data to bash, never expanded.',
    'verbatim() {',
    '  local text=""',
    "  IFS= read -r -d '' text || true",
    '  printf "%s" "${text}"',
    '}',
    '',
    ...kubeadmConfigCommands(input),
    ...(controlPlane
      ? controlPlaneState(name, ig.metadata.name, input.deployment ?? DEFAULT_DEPLOYMENT)
      : []),
    ...(controlPlane && isHighlyAvailable(input) ? controlPlaneJoinState() : []),
    ...(controlPlane ? bootstrapTokenSyncSteps() : []),
    ...cniSteps(input),
    '',
    'main() {',
    '  log "bootstrapping Kubernetes ${KUBERNETES_VERSION} with maxPods ${MAX_PODS}"',
    '  install_packages',
    '  require_curl_sigv4',
    '  configure_kernel',
    '  configure_containerd',
    '  INSTANCE_ID="$(imds instance-id)"',
    '  ZONE="$(imds placement/availability-zone)"',
    `  BOOTSTRAP_TOKEN="$(state_store_read ${STORE.bootstrapToken})"`,
    ...(controlPlane
      ? controlPlaneBoot(input)
      : [
          `  until CA_CERT_HASH="$(state_store_read ${STORE.caCertHash})"; do`,
          '    log "waiting for the control plane to publish its CA hash"',
          '    sleep 10',
          '  done',
          '  write_kubeadm_config',
          '  kubeadm join --config /etc/kubernetes/kubeadm.yaml',
        ]),
    '  log "done"',
    '}',
    '',
    'main "$@"',
    '',
  ];
  return [...header, ...body].join('\n');
}

/** Reads `maxPods` back out of rendered user-data (what the simulated kubelet registers with). */
export function maxPodsFromUserData(userData: string): number | undefined {
  const match = /^readonly MAX_PODS='(\d+)'$/m.exec(userData);
  return match ? Number(match[1]) : undefined;
}

/**
 * Reads back the Kubernetes version the script installs (kubelet, kubeadm and kubectl are pinned
 * to it), as the kubelet reports it: `v1.33.1`. What the simulated kubelet registers with.
 */
export function kubernetesVersionFromUserData(userData: string): string | undefined {
  const match = /^readonly KUBERNETES_VERSION='([0-9A-Za-z.+-]+)'$/m.exec(userData);
  return match ? `v${match[1]}` : undefined;
}

/**
 * The tags the VPC CNI puts on every interface it makes (`ADDITIONAL_ENI_TAGS`, as kOps sets
 * it): the cluster's, and this deployment's owner tag, which is what lets the delete stage remove
 * an interface the CNI leaves behind. A user's own ADDITIONAL_ENI_TAGS are kept, under ours.
 */
function interfaceTags(
  input: UserDataInput,
  env: ReadonlyArray<{ name?: unknown; value?: unknown }> | undefined,
): Record<string, string> {
  const name = input.cluster.metadata.name;
  const given = env?.find((e) => e.name === 'ADDITIONAL_ENI_TAGS')?.value;
  let users: Record<string, string> = {};
  try {
    const parsed: unknown = given ? JSON.parse(String(given)) : {};
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      users = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
  } catch {
    // Not JSON: the CNI would ignore it too.
  }
  return {
    ...users,
    [CLUSTER_TAG]: name,
    [`kubernetes.io/cluster/${name}`]: 'owned',
    ...(input.deployment ? { [OWNER_TAG]: input.deployment } : {}),
  };
}
