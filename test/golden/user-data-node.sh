#!/bin/bash
# kopsless bootstrap: cluster "seed.example.com", instance group "nodes-us-east-1a" (role "Node").
# Rendered by kopsless from the cluster spec; a change here is a change of the group's spec hash.
# kopsless-bootstrap-settings: {"KubernetesVersion":"1.32.0","maxPods":"17"}
set -o errexit -o nounset -o pipefail

readonly CLUSTER_NAME='seed.example.com'
readonly INSTANCE_GROUP='nodes-us-east-1a'
readonly AWS_REGION='us-east-1'

log() { printf 'kopsless-bootstrap[%s.%s]: %s\n' "${INSTANCE_GROUP}" "${CLUSTER_NAME}" "$*" >&2; }

readonly STATE_BUCKET_URL='https://state-bucket.s3.us-east-1.amazonaws.com'
readonly STATE_STORE='https://state-bucket.s3.us-east-1.amazonaws.com/seed.example.com'
readonly KUBERNETES_VERSION='1.32.0'
readonly KUBERNETES_MINOR='v1.32'
readonly MAX_PODS='17'

install_packages() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q apt-transport-https ca-certificates curl gpg containerd
  install -d -m 0755 /etc/apt/keyrings
  curl -fsSL "https://pkgs.k8s.io/core:/stable:/${KUBERNETES_MINOR}/deb/Release.key" | gpg --dearmor --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg
  echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/${KUBERNETES_MINOR}/deb/ /" | tee /etc/apt/sources.list.d/kubernetes.list >/dev/null
  apt-get update -q
  apt-get install -y -q "kubelet=${KUBERNETES_VERSION}-*" "kubeadm=${KUBERNETES_VERSION}-*" "kubectl=${KUBERNETES_VERSION}-*"
  apt-mark hold kubelet kubeadm kubectl
}

configure_kernel() {
  printf "overlay\nbr_netfilter\n" | tee /etc/modules-load.d/kubernetes.conf >/dev/null
  modprobe overlay
  modprobe br_netfilter
  printf "net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.ipv4.ip_forward = 1\n" | tee /etc/sysctl.d/99-kubernetes.conf >/dev/null
  sysctl --system >/dev/null
}

configure_containerd() {
  install -d -m 0755 /etc/containerd
  containerd config default | sed "s/SystemdCgroup = false/SystemdCgroup = true/" | tee /etc/containerd/config.toml >/dev/null
  systemctl restart containerd
}

imds() {
  local token
  token="$(curl -fsS --retry 5 --retry-connrefused -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 300")"
  curl -fsS --retry 5 --retry-connrefused -H @<(printf "X-aws-ec2-metadata-token: %s\n" "${token}") "http://169.254.169.254/latest/meta-data/$1"
}

readonly EC2_URL='https://ec2.us-east-1.amazonaws.com/'

# curl signs the AWS requests itself (--aws-sigv4): no AWS CLI is downloaded.
require_curl_sigv4() {
  local version major minor
  read -r _ version _ < <(curl --version)
  major="${version%%.*}"
  minor="${version#*.}"
  minor="${minor%%.*}"
  if ((major < 7 || (major == 7 && minor < 87))); then
    log "curl ${version} cannot sign S3 requests: 7.87 or later is needed"
    exit 1
  fi
}

# A curl config holding the instance role credentials: read through a pipe, never on a command line.
instance_credentials() {
  local role
  role="$(imds iam/security-credentials/)"
  imds "iam/security-credentials/${role}" |
    python3 -c 'import json, sys; c = json.load(sys.stdin); print("user = " + json.dumps(c["AccessKeyId"] + ":" + c["SecretAccessKey"])); print("header = " + json.dumps("x-amz-security-token: " + c["Token"]))'
}

aws_request() {
  local service="$1" url="$2"
  shift 2
  curl -fsS --retry 5 --aws-sigv4 "aws:amz:${AWS_REGION}:${service}" -K <(instance_credentials) "$@" "${url}"
}

s3_request() {
  local url="$1"
  shift
  aws_request s3 "${url}" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

# One EC2 Query API call, its parameters form-encoded (curl signs the body's hash); prints the XML answer.
ec2_request() {
  local parameter options=()
  for parameter in "Action=$1" "Version=2016-11-15" "${@:2}"; do
    options+=(--data-urlencode "${parameter}")
  done
  aws_request ec2 "${EC2_URL}" "${options[@]}"
}

# The text of the first <TAG> element of the XML on stdin (nothing when there is none).
xml_value() {
  local xml value
  IFS= read -r -d '' xml || true
  [[ "${xml}" == *"<$1>"* ]] || return 0
  value="${xml#*"<$1>"}"
  printf "%s" "${value%%"</$1>"*}"
}

state_store_read() {
  s3_request "${STATE_STORE}/$1"
}

state_store_write() {
  s3_request "${STATE_STORE}/$1" -X PUT -H "Content-Type: application/octet-stream" "${@:2}" --data-binary @-
}

# Whether the store holds KEY: a listing with KEY as its prefix; a listing that fails is retried, never read as absent.
state_store_has() {
  local listing
  # Encoded and ordered as SigV4 signs a query (curl before 8.1 signs it as given).
  local query="delimiter=%2F&list-type=2&prefix=${CLUSTER_NAME}%2F${1//\//%2F}"
  until listing="$(s3_request "${STATE_BUCKET_URL}/?${query}")"; do
    log "listing the state store failed, retrying"
    sleep 5
  done
  [[ "${listing}" == *"<Key>${CLUSTER_NAME}/$1</Key>"* ]]
}

# Copies a quoted heredoc to stdout with builtins only: its text is data to bash, never expanded.
verbatim() {
  local text=""
  IFS= read -r -d '' text || true
  printf "%s" "${text}"
}

write_kubeadm_config() {
  install -d -m 0700 /etc/kubernetes
  {
    verbatim <<'KUBEADM'
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
  taints: []
  kubeletExtraArgs:
    - name: node-labels
      value: ""
KUBEADM
    printf '    - name: provider-id\n      value: "aws:///%s/%s"\n' "${ZONE}" "${INSTANCE_ID}"
    printf 'discovery:\n  bootstrapToken:\n    token: "%s"\n    caCertHashes: ["%s"]\n' "${BOOTSTRAP_TOKEN}" "${CA_CERT_HASH}"
    verbatim <<'KUBEADM'
    apiServerEndpoint: "api.internal.seed.example.com:443"
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
maxPods: 17
authentication:
  anonymous:
    enabled: false
KUBEADM
  } | tee /etc/kubernetes/kubeadm.yaml >/dev/null
}

main() {
  log "bootstrapping Kubernetes ${KUBERNETES_VERSION} with maxPods ${MAX_PODS}"
  install_packages
  require_curl_sigv4
  configure_kernel
  configure_containerd
  INSTANCE_ID="$(imds instance-id)"
  ZONE="$(imds placement/availability-zone)"
  BOOTSTRAP_TOKEN="$(state_store_read secrets/bootstrap-token)"
  until CA_CERT_HASH="$(state_store_read pki/ca-cert-hash)"; do
    log "waiting for the control plane to publish its CA hash"
    sleep 10
  done
  write_kubeadm_config
  kubeadm join --config /etc/kubernetes/kubeadm.yaml
  log "done"
}

main "$@"
